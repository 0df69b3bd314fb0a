"""Image transforms: ImageNet-style train/eval for photos, bilinear upsampling for digits.

All functions are TensorFlow ops without hidden state; randomness comes from an explicit
stateless seed (see `sampling.derived_seed`). Images are NHWC / HWC.
"""

from __future__ import annotations

import math

import tensorflow as tf

# ImageNet channel statistics on [0, 1] pixels (the values the reference OFA release and
# torchvision use).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# Eval: resize the shorter side to resolution / 0.875, then centre-crop (reference behaviour:
# `Resize(ceil(r / 0.875))` + `CenterCrop(r)`).
EVAL_CROP_FRACTION = 0.875
# Random resized crop parameters (torchvision `RandomResizedCrop` defaults, used by OFA).
CROP_SCALE = (0.08, 1.0)
CROP_RATIO = (3.0 / 4.0, 4.0 / 3.0)
CROP_ATTEMPTS = 10


def normalize_imagenet(image: tf.Tensor) -> tf.Tensor:
  """Maps 0..255 pixel values (any float/int dtype, [..., 3]) to float32 ImageNet-normalized."""
  image = tf.cast(image, tf.float32) / 255.0
  return (image - tf.constant(IMAGENET_MEAN)) / tf.constant(IMAGENET_STD)


def random_resized_crop_window(height, width, seed) -> tuple[tf.Tensor, ...]:
  """Samples a crop window like torchvision's `RandomResizedCrop` (scale, ratio as above).

  Up to `CROP_ATTEMPTS` candidates with area fraction ~ U(0.08, 1) and log-uniform aspect
  ratio in [3/4, 4/3]; the first that fits is used, at a uniform position; if none fits, a
  centred crop of the whole image clamped to the ratio range.

  Args:
    height: image height (int32 scalar tensor or int).
    width: image width.
    seed: stateless seed, int32/int64 [2].

  Returns:
    (top, left, crop_height, crop_width), int32 scalars with
    0 <= top, top + crop_height <= height, and likewise for the width.
  """
  seeds = tf.random.experimental.stateless_split(seed, 3)
  h = tf.cast(height, tf.float32)
  w = tf.cast(width, tf.float32)
  target_area = h * w * tf.random.stateless_uniform(
      [CROP_ATTEMPTS], seeds[0], CROP_SCALE[0], CROP_SCALE[1])
  log_ratio = tf.random.stateless_uniform(
      [CROP_ATTEMPTS], seeds[1], math.log(CROP_RATIO[0]), math.log(CROP_RATIO[1]))
  ratio = tf.exp(log_ratio)
  cand_w = tf.round(tf.sqrt(target_area * ratio))
  cand_h = tf.round(tf.sqrt(target_area / ratio))
  fits = (cand_w > 0) & (cand_w <= w) & (cand_h > 0) & (cand_h <= h)
  any_fits = tf.reduce_any(fits)
  first = tf.argmax(tf.cast(fits, tf.int32), output_type=tf.int32)
  in_ratio = w / h
  fallback_w = tf.where(in_ratio > CROP_RATIO[1], tf.round(h * CROP_RATIO[1]), w)
  fallback_h = tf.where(in_ratio < CROP_RATIO[0], tf.round(w / CROP_RATIO[0]), h)
  crop_w = tf.where(any_fits, tf.gather(cand_w, first), fallback_w)
  crop_h = tf.where(any_fits, tf.gather(cand_h, first), fallback_h)
  position = tf.random.stateless_uniform([2], seeds[2], 0.0, 1.0)
  top = tf.where(any_fits, tf.floor(position[0] * (h - crop_h + 1)), tf.floor((h - crop_h) / 2))
  left = tf.where(any_fits, tf.floor(position[1] * (w - crop_w + 1)), tf.floor((w - crop_w) / 2))
  return tuple(tf.cast(v, tf.int32) for v in (top, left, crop_h, crop_w))


def imagenet_train_transform(image: tf.Tensor, resolution, seed) -> tf.Tensor:
  """Random resized crop + random horizontal flip + ImageNet normalization.

  Args:
    image: uint8 [H, W, 3].
    resolution: output side in pixels (int or int32 scalar tensor).
    seed: stateless seed [2]; the output is a deterministic function of (image, seed).

  Returns:
    float32 [resolution, resolution, 3], normalized with `IMAGENET_MEAN` / `IMAGENET_STD`.
  """
  crop_seed, flip_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
  shape = tf.shape(image)
  top, left, crop_h, crop_w = random_resized_crop_window(shape[0], shape[1], crop_seed)
  crop = tf.slice(image, tf.stack([top, left, 0]), tf.stack([crop_h, crop_w, -1]))
  out = tf.image.resize(crop, tf.stack([resolution, resolution]), method="bilinear",
                        antialias=True)
  out = tf.image.stateless_random_flip_left_right(out, flip_seed)
  return normalize_imagenet(out)


def eval_resize_shape(height, width, resolution: int) -> tuple[tf.Tensor, tf.Tensor]:
  """Size after resizing the shorter side to ceil(resolution / 0.875), keeping aspect ratio.

  The longer side is floor(short * long / shorter) as in torchvision's `Resize(int)`.
  """
  short = math.ceil(resolution / EVAL_CROP_FRACTION)
  h = tf.cast(height, tf.float64)
  w = tf.cast(width, tf.float64)
  short = tf.constant(short, tf.float64)
  new_h = tf.where(h <= w, short, tf.floor(short * h / w))
  new_w = tf.where(h <= w, tf.floor(short * w / h), short)
  return tf.cast(new_h, tf.int32), tf.cast(new_w, tf.int32)


def imagenet_eval_transform(image: tf.Tensor, resolution: int) -> tf.Tensor:
  """Resize shorter side to ceil(r / 0.875) (bilinear, antialiased), centre crop r, normalize.

  The crop offset is floor((size - r) / 2) on each axis.

  Args:
    image: uint8 [H, W, 3].
    resolution: output side r in pixels (Python int).

  Returns:
    float32 [r, r, 3], normalized with `IMAGENET_MEAN` / `IMAGENET_STD`.
  """
  shape = tf.shape(image)
  new_h, new_w = eval_resize_shape(shape[0], shape[1], resolution)
  resized = tf.image.resize(image, tf.stack([new_h, new_w]), method="bilinear", antialias=True)
  top = (new_h - resolution) // 2
  left = (new_w - resolution) // 2
  crop = tf.slice(resized, tf.stack([top, left, 0]), [resolution, resolution, 3])
  return normalize_imagenet(crop)


def _tent_weights(source_size: int, resolution, shifts: tf.Tensor) -> tf.Tensor:
  """Bilinear interpolation matrices [B, resolution, source_size] for shifted upsampling.

  Output pixel i samples source coordinate (i + 0.5) * source_size / resolution - 0.5 - shift
  (half-pixel centres, as `tf.image.resize`); outside the source the image is 0 (background).
  """
  r = tf.cast(resolution, tf.float32)
  centres = (tf.range(r) + 0.5) * (source_size / r) - 0.5            # [r]
  coords = centres[tf.newaxis, :] - shifts[:, tf.newaxis]             # [B, r]
  taps = tf.range(source_size, dtype=tf.float32)                      # [S]
  return tf.nn.relu(1.0 - tf.abs(coords[:, :, tf.newaxis] - taps))    # [B, r, S]


def shifted_bilinear_upsample(images: tf.Tensor, shifts: tf.Tensor, resolution) -> tf.Tensor:
  """Resizes a batch of small grayscale images to `resolution`, each translated by a shift.

  Separable bilinear interpolation as two batched matmuls, so one call handles a whole batch
  with a different sub-pixel translation per image (cheap for 8x8 sources). With zero shifts
  it equals `tf.image.resize(..., "bilinear")` except within half a source pixel of the border,
  where it fades to 0 (background) instead of clamping; at resolution == source size it is the
  identity.

  Args:
    images: float32 [B, S, S] (square sources).
    shifts: float32 [B, 2], translation (dy, dx) in source pixels (positive: down / right).
    resolution: output side in pixels (int or int32 scalar tensor).

  Returns:
    float32 [B, resolution, resolution].
  """
  source_size = int(images.shape[1])
  rows = _tent_weights(source_size, resolution, shifts[:, 0])   # [B, r, S]
  cols = _tent_weights(source_size, resolution, shifts[:, 1])   # [B, r, S]
  return tf.matmul(tf.matmul(rows, images), cols, transpose_b=True)
