"""Tests for ofa_tf.data.tfds_source, offline.

`MockTfdsTest`: `tfds.testing.mock_data`. `beans` ships its feature metadata with tfds; its
split metadata (names, sizes) is written to a temporary data_dir here, as the mock's USE_FILES
policy expects of a prepared dataset.

`LocalBuilderTest`: the real path, no mock: a TFDS builder whose source files are PNGs this
test writes into its manual directory goes through `download_and_prepare` (download manager,
example generation, TFRecord shards, dataset info) and `as_dataset`.
"""

import glob
import itertools
import os
from unittest import mock

import numpy as np
import requests
import tensorflow as tf
import tensorflow_datasets as tfds

from ofa_tf.data import tfds_source
from ofa_tf.data import tfds_test_builder  # pylint: disable=unused-import (registers it)
from ofa_tf.data.folder_test_util import write_image_folder

NUM = 6


def _take(ds, n):
  return [(x.numpy(), y.numpy()) for x, y in itertools.islice(ds, n)]


class PlanSplitsTest(tf.test.TestCase):

  def test_all_present(self):
    plan = tfds_source.plan_splits({"train": 100, "validation": 10, "test": 20})
    self.assertEqual(plan["test"], ("test", 20))

  def test_train_and_test(self):
    plan = tfds_source.plan_splits({"train": 100, "test": 20})
    self.assertEqual(plan, {"train": ("train[:-10]", 90), "validation": ("train[-10:]", 10),
                            "test": ("test", 20)})

  def test_train_and_validation_caps_held_out(self):
    plan = tfds_source.plan_splits({"train": 1281167, "validation": 50000})
    self.assertEqual(plan["validation"], ("train[-10000:]", 10000))
    self.assertEqual(plan["test"], ("validation", 50000))
    self.assertEqual(plan["train"][1], 1271167)

  def test_train_only(self):
    plan = tfds_source.plan_splits({"train": 100})
    self.assertEqual(sum(n for _, n in plan.values()), 100)
    self.assertEqual(plan["validation"], ("train[-20:-10]", 10))

  def test_no_train(self):
    with self.assertRaisesRegex(ValueError, "no 'train' split"):
      tfds_source.plan_splits({"test": 5})


class MockTfdsTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.data_dir = self.get_temp_dir()
    builder = tfds.builder("beans", data_dir=self.data_dir)
    builder.info.set_splits(tfds.core.SplitDict([
        tfds.core.SplitInfo(name=s, shard_lengths=[NUM], num_bytes=0, filename_template=None)
        for s in ("train", "validation", "test")]))
    tf.io.gfile.makedirs(builder.data_dir)
    builder.info.write_to_directory(builder.data_dir)
    mock = tfds.testing.mock_data(num_examples=NUM, data_dir=self.data_dir,
                                  policy=tfds.testing.MockPolicy.USE_FILES)
    mock.__enter__()
    self.addCleanup(mock.__exit__, None, None, None)
    self.data = tfds_source.load_tfds("beans", data_dir=self.data_dir)

  def test_metadata(self):
    self.assertEqual(self.data.name, "tfds:beans")
    self.assertEqual(self.data.num_classes, 3)
    self.assertEqual(self.data.split_sizes, {"train": NUM, "validation": NUM, "test": NUM})
    self.assertEqual(self.data.max_resolution, 8 * 500)

  def test_eval_covers_split(self):
    batches = _take(self.data.eval_batches("test", 4, 32), 10)
    self.assertEqual([x.shape for x, _ in batches], [(4, 32, 32, 3), (2, 32, 32, 3)])
    self.assertEqual(batches[0][1].dtype, "int32")

  def test_train_resume_equals_skipping(self):
    # Step 2 starts in the second epoch (positions 8..11 of 6-example epochs).
    full = _take(self.data.train_batches(4, (16, 24), seed=0), 3)
    resumed = _take(self.data.train_batches(4, (16, 24), seed=0, start_step=2), 1)
    self.assertLen(resumed, 1)
    for (xf, yf), (xr, yr) in zip(full[2:], resumed):
      self.assertAllEqual(xf, xr)
      self.assertAllEqual(yf, yr)

  def test_calibration(self):
    batches = _take(self.data.calibration_batches(3, 2, 16), 5)
    self.assertEqual([x.shape[0] for x, _ in batches], [2, 1])

  def test_unknown_name(self):
    with self.assertRaisesRegex(ValueError, "unknown TFDS dataset in 'tfds:no_such_set'"):
      tfds_source.load_tfds("no_such_set")


class LocalBuilderTest(tf.test.TestCase):

  def test_download_and_prepare_from_local_files(self):
    manual = os.path.join(self.get_temp_dir(), "manual")
    paths = write_image_folder(manual, classes=2, per_class=15, size=20, extension="png")
    data_dir = os.path.join(self.get_temp_dir(), "tfds")
    data = tfds_source.load_tfds("ofa_test_images", data_dir=data_dir, manual_dir=manual)
    self.assertEqual(data.class_names, ("class_0", "class_1"))
    # train only: validation and test carved from its end, 3 examples each (30 // 10).
    self.assertEqual(data.split_sizes, {"train": 24, "validation": 3, "test": 3})
    self.assertEqual(data.max_resolution, 8 * 20)
    self.assertNotEmpty(glob.glob(os.path.join(data_dir, "ofa_test_images", "1.0.0",
                                                "*.tfrecord*")))
    # Every source image comes back with its label, pixel for pixel (PNG), in some order.
    originals = {tf.io.decode_png(tf.io.read_file(p)).numpy().tobytes(): int("class_1" in p)
                 for p in paths}
    prepared = {}
    for split in ("train", "validation", "test"):
      for record, label in data._source.records(split):  # pylint: disable=protected-access
        prepared[tf.io.decode_png(record).numpy().tobytes()] = int(label)
    self.assertEqual(prepared, originals)
    images, labels = next(iter(data.eval_batches("test", 3, 16)))
    self.assertEqual(images.shape, (3, 16, 16, 3))
    self.assertTrue(np.all(np.isfinite(images.numpy())))
    self.assertEqual(labels.dtype, tf.int32)

  def test_offline_download_fails_with_one_line(self):
    error = requests.exceptions.ConnectionError(
        "HTTPSConnectionPool(host='s3.amazonaws.com', port=443): Max retries exceeded\nmore",
        request=requests.Request("GET", "https://s3.amazonaws.com/x/imagenette2.tgz").prepare())
    data_dir = os.path.join(self.get_temp_dir(), "offline")
    with mock.patch.object(tfds.core.DatasetBuilder, "download_and_prepare",
                           side_effect=error):
      with self.assertRaises(tfds_source.DatasetDownloadError) as caught:
        tfds_source.load_tfds("imagenette", data_dir=data_dir)
    message = str(caught.exception)
    self.assertLen(message.splitlines(), 1)
    self.assertIn("tfds:imagenette must be downloaded from "
                  "https://s3.amazonaws.com/x/imagenette2.tgz and the download failed "
                  "(ConnectionError: HTTPSConnectionPool", message)
    self.assertIn(f"copy the TFDS data directory to {data_dir} (or set TFDS_DATA_DIR)", message)


if __name__ == "__main__":
  tf.test.main()
