"""The embedded default dataset: scikit-learn's handwritten digits.

`sklearn.datasets.load_digits`: 1,797 real 8x8 grayscale images (values 0..16), 10 classes,
bundled with scikit-learn, so training works offline from a fresh clone.

Choices (documented here, asserted in digits_test.py):
- Split: stratified 70/15/15 train/validation/test (1257/270/270) with
  `sklearn.model_selection.train_test_split`, `random_state=seed` (seed 0 is the default split
  used for the README numbers).
- Resolution: bilinear upsampling (half-pixel centres, background 0 outside the image) from
  8x8 to r, at most 8x, so `max_resolution` = 64; replicated to 3 channels; normalized as
  (x / 16 - mean) / std with the training split's pixel mean and std (grayscale, so ImageNet
  statistics do not apply).
- Train augmentation: only a random translation, uniform in [-1, 1] source pixel per axis
  (sub-pixel, via the interpolation weights). Digits are not flip-invariant, and random
  crops/scales of 8x8 glyphs destroy them; eval and calibration without the shift are the
  plain upsampling.
- Cost: the decoded arrays live in memory; each batch is two gathers and two small batched
  matmuls (`transforms.shifted_bilinear_upsample`), no per-example ops.
"""

from __future__ import annotations

import functools

import numpy as np
import tensorflow as tf

from ofa_tf.data import dataset
from ofa_tf.data import sampling
from ofa_tf.data import transforms

SOURCE_SIZE = 8
MAX_UPSAMPLING = 8
MAX_SHIFT = 1.0  # source pixels
SPLIT_FRACTIONS = {"train": 0.70, "validation": 0.15, "test": 0.15}


@functools.lru_cache(maxsize=None)
def _load_arrays() -> tuple[np.ndarray, np.ndarray]:
  from sklearn import datasets  # pylint: disable=g-import-not-at-top
  digits = datasets.load_digits()
  images = digits.images.astype(np.float32)  # [1797, 8, 8], 0..16
  return images, digits.target.astype(np.int32)


def split_indices(seed: int = 0) -> dict[str, np.ndarray]:
  """Indices into `load_digits()` of each split (stratified 70/15/15, `random_state=seed`)."""
  from sklearn import model_selection  # pylint: disable=g-import-not-at-top
  _, labels = _load_arrays()
  index = np.arange(len(labels))
  n_test = int(round(SPLIT_FRACTIONS["test"] * len(labels)))
  n_val = int(round(SPLIT_FRACTIONS["validation"] * len(labels)))
  rest, test = model_selection.train_test_split(
      index, test_size=n_test, stratify=labels, random_state=seed)
  train, val = model_selection.train_test_split(
      rest, test_size=n_val, stratify=labels[rest], random_state=seed)
  return {"train": np.sort(train), "validation": np.sort(val), "test": np.sort(test)}


class DigitsData(dataset.ImageClassificationData):
  """scikit-learn digits with in-memory, per-batch vectorized pipelines (see module doc)."""

  def __init__(self, seed: int = 0):
    images, labels = _load_arrays()
    self._split = {name: (images[idx], labels[idx])
                   for name, idx in split_indices(seed).items()}
    train_pixels = self._split["train"][0] / 16.0
    self.pixel_mean = float(train_pixels.mean())
    self.pixel_std = float(train_pixels.std())
    super().__init__(name="digits", class_names=[str(d) for d in range(10)],
                     split_sizes={k: len(v[1]) for k, v in self._split.items()},
                     max_resolution=SOURCE_SIZE * MAX_UPSAMPLING)

  def normalize(self, images: tf.Tensor) -> tf.Tensor:
    """Maps raw 0..16 pixels [..., H, W] to normalized float32 [..., H, W, 3]."""
    x = (images / 16.0 - self.pixel_mean) / self.pixel_std
    return tf.tile(x[..., tf.newaxis], [1] * len(x.shape) + [3])

  def _render(self, images, shifts, resolution):
    return self.normalize(transforms.shifted_bilinear_upsample(images, shifts, resolution))

  def train_batches(self, batch_size, resolutions, *, seed, start_step=0):
    batch_size, values, start_step = self._check_train_args(batch_size, resolutions,
                                                            start_step)
    images, labels = (tf.constant(a) for a in self._split["train"])
    n = self.split_sizes["train"]
    table = tf.constant(values, tf.int32)

    def make_batch(step):
      position = step * batch_size + tf.range(batch_size, dtype=tf.int64)
      epoch, within = position // n, position % n
      first = epoch[0]  # batch_size <= n: a batch spans at most two epochs
      index = tf.where(epoch == first,
                       tf.gather(sampling.epoch_permutation(seed, first, n), within),
                       tf.gather(sampling.epoch_permutation(seed, first + 1, n), within))
      resolution = table[sampling.resolution_index_for_step(seed, step, len(values))]
      shifts = tf.random.stateless_uniform(
          [batch_size, 2], sampling.derived_seed(seed, sampling.AUGMENTATION_STREAM, step),
          -MAX_SHIFT, MAX_SHIFT)
      return (self._render(tf.gather(images, index), shifts, resolution),
              tf.gather(labels, index))

    steps = tf.data.Dataset.range(start_step, np.iinfo(np.int64).max)
    return steps.map(make_batch, num_parallel_calls=2, deterministic=True).prefetch(2)

  def eval_batches(self, split, batch_size, resolution):
    batch_size, resolution = self._check_eval_args(split, batch_size, resolution)
    images, labels = self._split[split]

    def render(x, y):
      return self._render(x, tf.zeros([tf.shape(x)[0], 2]), resolution), y

    ds = tf.data.Dataset.from_tensor_slices((images, labels)).batch(batch_size)
    return ds.map(render).prefetch(2)

  def calibration_batches(self, num_images, batch_size, resolution, *, seed=0):
    batch_size, resolution = self._check_eval_args("train", batch_size, resolution)
    n = self.split_sizes["train"]
    count = min(int(num_images), n)
    index = sampling.calibration_subset(seed, n, count)
    images, labels = (tf.gather(a, index) for a in self._split["train"])
    shifts = tf.random.stateless_uniform(
        [count, 2], sampling.derived_seed(seed, sampling.CALIBRATION_STREAM, 1),
        -MAX_SHIFT, MAX_SHIFT)
    ds = tf.data.Dataset.from_tensor_slices((images, shifts, labels)).batch(batch_size)
    return ds.map(lambda x, s, y: (self._render(x, s, resolution), y)).prefetch(2)
