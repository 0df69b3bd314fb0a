"""Tests for ofa_tf.data.load (spec parsing and bad-input errors)."""

import os

import numpy as np
import tensorflow as tf

from ofa_tf.data import digits
from ofa_tf.data import encoded
from ofa_tf.data import load


class LoadDatasetTest(tf.test.TestCase):

  def test_digits(self):
    self.assertIsInstance(load.load_dataset("digits"), digits.DigitsData)

  def test_folder(self):
    root = os.path.join(self.get_temp_dir(), "f")
    os.makedirs(os.path.join(root, "a"))
    tf.io.write_file(os.path.join(root, "a", "x.png"),
                     tf.io.encode_png(np.zeros((4, 5, 3), np.uint8)))
    data = load.load_dataset(f"folder:{root}")
    self.assertIsInstance(data, encoded.EncodedImageData)
    self.assertEqual(data.max_resolution, 32)

  def test_unknown_specs(self):
    for spec in ("mnist", "digits:8", "http:x", "folder:", "tfds:", ""):
      with self.assertRaisesRegex(ValueError, f"unknown dataset spec '{spec}'.*folder:PATH"):
        load.load_dataset(spec)

  def test_unknown_tfds_name(self):
    with self.assertRaisesRegex(ValueError, "tfds:no_such_set.*accepted dataset specs"):
      load.load_dataset("tfds:no_such_set")

  def test_missing_folder(self):
    with self.assertRaisesRegex(ValueError, "/no/such/dir"):
      load.load_dataset("folder:/no/such/dir")


if __name__ == "__main__":
  tf.test.main()
