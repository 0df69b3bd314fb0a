"""Tests for ofa_tf.data.dataset (the shared argument checks)."""

import tensorflow as tf

from ofa_tf.data import dataset


class ImageClassificationDataTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.data = dataset.ImageClassificationData(
        "toy", ["a", "b"], {"train": 10, "validation": 2, "test": 3}, max_resolution=64)

  def test_attributes(self):
    self.assertEqual(self.data.num_classes, 2)
    self.assertEqual(self.data.split_sizes, {"train": 10, "validation": 2, "test": 3})

  def test_check_resolutions(self):
    self.assertEqual(self.data.check_resolutions([32, 64]), (32, 64))
    with self.assertRaisesRegex(ValueError, "preset resolution 96 exceeds the 64 px"):
      self.data.check_resolutions((32, 96))
    with self.assertRaisesRegex(ValueError, "non-empty"):
      self.data.check_resolutions(())

  def test_argument_checks(self):
    with self.assertRaisesRegex(ValueError, "batch_size 11 exceeds"):
      self.data._check_train_args(11, (32,), 0)
    with self.assertRaisesRegex(ValueError, "start_step"):
      self.data._check_train_args(2, (32,), -1)
    with self.assertRaisesRegex(ValueError, "split must be one of"):
      self.data._check_eval_args("dev", 2, 32)


if __name__ == "__main__":
  tf.test.main()
