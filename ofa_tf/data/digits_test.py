"""Tests for ofa_tf.data.digits."""

import itertools

import numpy as np
import tensorflow as tf
from sklearn import datasets

from ofa_tf.data import digits
from ofa_tf.data import sampling

RES = (8, 16, 24)


def _take(ds, n):
  return [(x.numpy(), y.numpy()) for x, y in itertools.islice(ds, n)]


class DigitsTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.data = digits.DigitsData()

  def test_splits_partition_all_images(self):
    idx = digits.split_indices(0)
    self.assertEqual(sum(len(v) for v in idx.values()), 1797)
    self.assertLen(np.unique(np.concatenate(list(idx.values()))), 1797)
    self.assertEqual(self.data.split_sizes, {"train": 1257, "validation": 270, "test": 270})
    self.assertEqual(self.data.num_classes, 10)
    self.assertEqual(self.data.max_resolution, 64)

  def test_eval_at_source_resolution_is_normalized_sklearn_image(self):
    ref = datasets.load_digits()
    test_idx = digits.split_indices(0)["test"]
    x, y = next(iter(self.data.eval_batches("test", 16, 8)))
    expected = (ref.images[test_idx[:16]] / 16.0 - self.data.pixel_mean) / self.data.pixel_std
    self.assertAllClose(x.numpy(), np.repeat(expected[..., None], 3, axis=-1), atol=1e-5)
    self.assertAllEqual(y.numpy(), ref.target[test_idx[:16]])
    self.assertEqual(y.dtype, tf.int32)

  def test_eval_covers_split_once(self):
    batches = _take(self.data.eval_batches("validation", 64, 16), 100)
    self.assertEqual([b[0].shape[0] for b in batches], [64, 64, 64, 64, 14])
    self.assertEqual(batches[0][0].shape[1:], (16, 16, 3))
    labels = np.concatenate([b[1] for b in batches])
    ref = datasets.load_digits().target[digits.split_indices(0)["validation"]]
    self.assertAllEqual(labels, ref)

  def test_train_deterministic_and_resolution_per_step(self):
    a = _take(self.data.train_batches(32, RES, seed=3), 6)
    b = _take(self.data.train_batches(32, RES, seed=3), 6)
    for step, ((xa, ya), (xb, yb)) in enumerate(zip(a, b)):
      r = sampling.resolution_for_step(3, step, RES)
      self.assertEqual(xa.shape, (32, r, r, 3))
      self.assertEqual(ya.dtype, np.int32)
      self.assertAllEqual(xa, xb)
      self.assertAllEqual(ya, yb)
    c = _take(self.data.train_batches(32, RES, seed=4), 1)
    self.assertNotAllEqual(a[0][1], c[0][1])

  def test_resume_equals_skipping(self):
    # 600-example batches: step 3 straddles the epoch boundary at 1257.
    full = _take(self.data.train_batches(600, RES, seed=1), 5)
    resumed = _take(self.data.train_batches(600, RES, seed=1, start_step=2), 3)
    for (xf, yf), (xr, yr) in zip(full[2:], resumed):
      self.assertAllEqual(xf, xr)
      self.assertAllEqual(yf, yr)

  def test_epoch_sees_every_training_image_once(self):
    labels = np.concatenate([y for _, y in _take(self.data.train_batches(419, (8,), seed=0), 3)])
    train_labels = datasets.load_digits().target[digits.split_indices(0)["train"]]
    self.assertAllEqual(np.bincount(labels), np.bincount(train_labels))

  def test_calibration_fixed_subset(self):
    a = _take(self.data.calibration_batches(2000, 500, 16, seed=0), 10)
    b = _take(self.data.calibration_batches(2000, 500, 16, seed=0), 10)
    self.assertEqual([x.shape[0] for x, _ in a], [500, 500, 257])
    for (xa, ya), (xb, yb) in zip(a, b):
      self.assertAllEqual(xa, xb)
      self.assertAllEqual(ya, yb)

  def test_bad_arguments(self):
    with self.assertRaisesRegex(ValueError, "preset resolution 96 exceeds the 64 px"):
      self.data.train_batches(8, (32, 96), seed=0)
    with self.assertRaisesRegex(ValueError, "exceeds the 64 px"):
      self.data.eval_batches("test", 8, 65)
    with self.assertRaisesRegex(ValueError, "split must be one of"):
      self.data.eval_batches("holdout", 8, 32)
    with self.assertRaisesRegex(ValueError, "batch_size 2000 exceeds"):
      self.data.train_batches(2000, (32,), seed=0)


if __name__ == "__main__":
  tf.test.main()
