"""Per-example pipelines for datasets of encoded photos (TFDS datasets, image folders).

`EncodedImageData` turns a *record source* into the `ImageClassificationData` pipelines with
the ImageNet-style transforms of `transforms.py`. A record source (see `RecordSource`) yields
(record, label) pairs where a record is whatever `decode` turns into a uint8 [H, W, 3] image
(a file path for folders, encoded bytes for TFDS), so skipping records on resume costs no
decoding.

Max resolution of such data: `MAX_UPSAMPLING` times the shorter side of the smallest image in
a small fixed sample of training images (see `max_resolution_from_sides`), the same "at most
8x upsampling" rule as the digits' 8x8 -> 64.
"""

from __future__ import annotations

from typing import Protocol, Sequence

import numpy as np
import tensorflow as tf

from ofa_tf.data import dataset
from ofa_tf.data import sampling
from ofa_tf.data import transforms

MAX_UPSAMPLING = 8
_FOREVER = np.iinfo(np.int64).max


class RecordSource(Protocol):
  """What `EncodedImageData` needs from a dataset backend."""

  def train_records(self, epoch: tf.Tensor, seed: int) -> tf.data.Dataset:
    """All training (record, label) pairs in the order of `epoch` (a function of seed, epoch)."""

  def calibration_records(self, seed: int, count: int) -> tf.data.Dataset:
    """`count` training (record, label) pairs, the same for the same seed."""

  def eval_records(self, split: str) -> tf.data.Dataset:
    """Every (record, label) pair of `split` once, in a fixed order."""

  def decode(self, record: tf.Tensor) -> tf.Tensor:
    """uint8 [H, W, 3] image of a record."""


def decode_image(data: tf.Tensor) -> tf.Tensor:
  """Decodes JPEG/PNG/BMP/GIF (first frame) bytes to uint8 [H, W, 3] (gray replicated)."""
  image = tf.io.decode_image(data, channels=3, expand_animations=False, dtype=tf.uint8)
  image.set_shape([None, None, 3])
  return image


def max_resolution_from_sides(shorter_sides: Sequence[int]) -> int:
  """`MAX_UPSAMPLING` x the smallest shorter side (pixels) among sampled images."""
  return MAX_UPSAMPLING * int(min(shorter_sides))


class EncodedImageData(dataset.ImageClassificationData):
  """ImageNet-style pipelines over a `RecordSource`.

  Train: random resized crop (scale (0.08, 1), ratio (3/4, 4/3)) + horizontal flip, resized to
  the step's resolution; eval: shorter side to ceil(r / 0.875), centre crop r; both normalized
  with ImageNet mean/std (`transforms.py`). Augmentation of the example at stream position p
  (= step * batch_size + i) is seeded by (seed, p).

  Resuming at `start_step=k` starts directly at epoch floor(k * B / n) and skips the records
  before position k * B within it (at most one epoch of records read, none decoded).
  """

  def __init__(self, name, class_names, split_sizes, max_resolution, source: RecordSource):
    super().__init__(name, class_names, split_sizes, max_resolution)
    self._source = source

  def train_batches(self, batch_size, resolutions, *, seed, start_step=0):
    batch_size, values, start_step = self._check_train_args(batch_size, resolutions,
                                                            start_step)
    table = tf.constant(values, tf.int32)
    start = start_step * batch_size
    first_epoch, offset = divmod(start, self.split_sizes["train"])
    source = self._source

    @tf.autograph.experimental.do_not_convert  # plain dataset construction, no control flow
    def epoch_records(epoch):
      return source.train_records(epoch, seed)

    records = tf.data.Dataset.range(first_epoch, _FOREVER).flat_map(epoch_records).skip(offset)
    positions = tf.data.Dataset.range(start, _FOREVER)

    def transform(position, record_label):
      record, label = record_label
      step = position // batch_size
      resolution = table[sampling.resolution_index_for_step(seed, step, len(values))]
      image = transforms.imagenet_train_transform(
          source.decode(record), resolution,
          sampling.derived_seed(seed, sampling.AUGMENTATION_STREAM, position))
      return image, tf.cast(label, tf.int32)

    ds = tf.data.Dataset.zip((positions, records))
    ds = ds.map(transform, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)

  def eval_batches(self, split, batch_size, resolution):
    batch_size, resolution = self._check_eval_args(split, batch_size, resolution)
    source = self._source

    def transform(record, label):
      image = transforms.imagenet_eval_transform(source.decode(record), resolution)
      return image, tf.cast(label, tf.int32)

    ds = source.eval_records(split).map(transform, num_parallel_calls=tf.data.AUTOTUNE,
                                        deterministic=True)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)

  def calibration_batches(self, num_images, batch_size, resolution, *, seed=0):
    batch_size, resolution = self._check_eval_args("train", batch_size, resolution)
    count = min(int(num_images), self.split_sizes["train"])
    source = self._source

    def transform(index, record_label):
      record, label = record_label
      image = transforms.imagenet_train_transform(
          source.decode(record), resolution,
          sampling.derived_seed(seed, sampling.CALIBRATION_STREAM, index + 1))
      return image, tf.cast(label, tf.int32)

    ds = source.calibration_records(seed, count).enumerate()
    ds = ds.map(transform, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)
