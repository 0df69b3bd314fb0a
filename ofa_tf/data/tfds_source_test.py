"""Tests for ofa_tf.data.tfds_source, offline with `tfds.testing.mock_data`.

`beans` ships its feature metadata with tfds; its split metadata (names, sizes) is written to
a temporary data_dir here, as the mock's USE_FILES policy expects of a prepared dataset.
"""

import itertools

import tensorflow as tf
import tensorflow_datasets as tfds

from ofa_tf.data import tfds_source

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


if __name__ == "__main__":
  tf.test.main()
