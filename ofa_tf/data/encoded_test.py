"""Tests for ofa_tf.data.encoded helpers (pipelines are exercised in folder/tfds tests)."""

import numpy as np
import tensorflow as tf

from ofa_tf.data import encoded


class EncodedTest(tf.test.TestCase):

  def test_decode_gray_png_to_rgb(self):
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4, 1)
    image = encoded.decode_image(tf.io.encode_png(gray)).numpy()
    self.assertAllEqual(image, np.repeat(gray, 3, axis=-1))

  def test_max_resolution_rule(self):
    self.assertEqual(encoded.max_resolution_from_sides([32, 500, 40]), 256)


if __name__ == "__main__":
  tf.test.main()
