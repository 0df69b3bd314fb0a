"""Tests for ofa_tf.data.transforms against NumPy references."""

import numpy as np
import tensorflow as tf

from ofa_tf.data import transforms


def _np_normalize(x):
  return (x / 255.0 - np.array(transforms.IMAGENET_MEAN)) / np.array(transforms.IMAGENET_STD)


class EvalTransformTest(tf.test.TestCase):

  def test_centre_crop_matches_numpy(self):
    # r = 7 -> shorter side ceil(7 / 0.875) = 8 = image height: no resize, only the crop.
    image = np.random.default_rng(0).integers(0, 256, (8, 12, 3)).astype(np.uint8)
    out = transforms.imagenet_eval_transform(tf.constant(image), 7).numpy()
    top, left = (8 - 7) // 2, (12 - 7) // 2
    self.assertAllClose(out, _np_normalize(image[top:top + 7, left:left + 7].astype(np.float64)),
                        atol=1e-5)

  def test_portrait_resize_then_crop(self):
    # 2x upsampling of a constant image stays constant; check shapes and value.
    image = np.full((20, 10, 3), 100, np.uint8)
    h, w = transforms.eval_resize_shape(20, 10, 14)
    self.assertEqual((int(h), int(w)), (32, 16))
    out = transforms.imagenet_eval_transform(tf.constant(image), 14).numpy()
    self.assertEqual(out.shape, (14, 14, 3))
    self.assertAllClose(out, np.broadcast_to(_np_normalize(np.full(3, 100.0)), out.shape),
                        atol=1e-5)


def _windows(height, width, count, stream):
  """`count` crop windows (top, left, h, w) for seeds [i, stream], as an int [count, 4]."""
  ds = tf.data.Dataset.range(count).map(lambda i: tf.stack(
      transforms.random_resized_crop_window(height, width, tf.stack([i, stream]))))
  return next(iter(ds.batch(count))).numpy()


class TrainTransformTest(tf.test.TestCase):

  def test_crop_window_in_bounds_and_ranges(self):
    for h, w in ((37, 53), (64, 20)):
      for top, left, ch, cw in _windows(h, w, 100, 1):
        self.assertTrue(0 <= top and top + ch <= h and 0 <= left and left + cw <= w,
                        (h, w, top, left, ch, cw))
        self.assertGreater(ch * cw, 0)

  def test_crop_scale_and_ratio_when_sampled(self):
    areas = []
    for _, _, ch, cw in _windows(400, 400, 100, 2):
      self.assertBetween(cw / ch, 0.74, 1.35)
      areas.append(ch * cw / 400.0 ** 2)
    self.assertBetween(min(areas), 0.07, 0.3)
    self.assertGreater(max(areas), 0.7)

  def test_deterministic_per_seed(self):
    image = tf.constant(np.random.default_rng(1).integers(0, 256, (30, 40, 3)), tf.uint8)
    a = transforms.imagenet_train_transform(image, 16, tf.constant([4, 5]))
    b = transforms.imagenet_train_transform(image, 16, tf.constant([4, 5]))
    c = transforms.imagenet_train_transform(image, 16, tf.constant([4, 6]))
    self.assertEqual(a.shape, (16, 16, 3))
    self.assertAllEqual(a, b)
    self.assertNotAllClose(a, c)


class ShiftedUpsampleTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.images = tf.constant(np.random.default_rng(2).uniform(0, 16, (3, 8, 8)), tf.float32)

  def test_identity_at_source_resolution(self):
    out = transforms.shifted_bilinear_upsample(self.images, tf.zeros([3, 2]), 8)
    self.assertAllClose(out, self.images, atol=1e-5)

  def test_matches_tf_resize_away_from_border(self):
    out = transforms.shifted_bilinear_upsample(self.images, tf.zeros([3, 2]), 32)
    ref = tf.image.resize(self.images[..., tf.newaxis], [32, 32], "bilinear")[..., 0]
    self.assertAllClose(out[:, 2:-2, 2:-2], ref[:, 2:-2, 2:-2], atol=1e-4)

  def test_integer_shift_translates(self):
    shifts = tf.constant([[1.0, -1.0]] * 3)
    out = transforms.shifted_bilinear_upsample(self.images, shifts, 8).numpy()
    expected = np.zeros_like(out)
    expected[:, 1:, :-1] = self.images.numpy()[:, :-1, 1:]
    self.assertAllClose(out, expected, atol=1e-5)


if __name__ == "__main__":
  tf.test.main()
