"""Step-seeded sampling shared by every input pipeline.

Everything random in `ofa_tf.data` is a pure function of an integer seed and a position (a
training step, an epoch, an example index), computed with TensorFlow's stateless random ops.
This is what makes a pipeline created at `start_step=k` continue exactly where an
uninterrupted one would be, and lets every replica and worker agree on the resolution of a
step without communicating (Cai et al., ICLR 2020, Sec. 3.3 samples one resolution per batch).
"""

from __future__ import annotations

from typing import Sequence

import tensorflow as tf

# Distinct streams derived from one user seed, so that e.g. the resolution of step t and the
# augmentation of step t are independent draws.
RESOLUTION_STREAM = 1
PERMUTATION_STREAM = 2
AUGMENTATION_STREAM = 3
CALIBRATION_STREAM = 4
SHUFFLE_STREAM = 5


def derived_seed(seed, stream: int, index) -> tf.Tensor:
  """Returns a stateless-op seed (int32 [2]) for position `index` of a seeded stream.

  Args:
    seed: the user seed, a Python int or int64 scalar tensor.
    stream: one of the `*_STREAM` constants above.
    index: the position (step, epoch or example index), int or int64 scalar tensor.

  Returns:
    An int32 tensor of shape [2] usable as `seed=` of any `tf.random.stateless_*` op.
  """
  base = tf.stack([tf.cast(seed, tf.int64), tf.constant(stream, tf.int64)])
  return tf.random.experimental.stateless_fold_in(base, tf.cast(index, tf.int64))


def validate_resolutions(resolutions: Sequence[int]) -> tuple[int, ...]:
  """Returns `resolutions` as a tuple of ints, raising ValueError if it is empty or not > 0."""
  values = tuple(int(r) for r in resolutions)
  if not values or any(r <= 0 for r in values):
    raise ValueError(f"resolutions must be a non-empty sequence of positive ints (pixels), got "
                     f"{tuple(resolutions)!r}")
  return values


def resolution_index_for_step(seed, step, num_resolutions: int) -> tf.Tensor:
  """Graph-compatible core of `resolution_for_step`: an int32 scalar in [0, num_resolutions).

  Usable inside `tf.function` and `tf.data` maps with a tensor `step`.
  """
  return tf.random.stateless_uniform([], seed=derived_seed(seed, RESOLUTION_STREAM, step),
                                     minval=0, maxval=num_resolutions, dtype=tf.int32)


def resolution_for_step(seed: int, step: int, resolutions: Sequence[int]) -> int:
  """The input resolution (pixels) of training batch number `step`.

  A pure function: the same (seed, step, resolutions) always gives the same value, on every
  replica and worker, and the values are uniform over `resolutions` (a Philox draw per step,
  independent across steps). `ImageClassificationData.train_batches` resizes batch `step` to
  exactly this resolution, so a trainer can call this from Python to know the shape of the
  next batch (e.g. to pick the traced step function).

  Args:
    seed: integer seed of the training run.
    step: global batch index (0-based), the same one given to `train_batches(start_step=...)`.
    resolutions: candidate resolutions in pixels, e.g. (128, 160, 192, 224).

  Returns:
    One element of `resolutions`.

  Raises:
    ValueError: if `resolutions` is empty or holds a non-positive value.
  """
  values = validate_resolutions(resolutions)
  return values[int(resolution_index_for_step(seed, step, len(values)))]


def permutation(stateless_seed, num_examples: int) -> tf.Tensor:
  """A permutation (int32 [num_examples]) of range(num_examples) drawn with a stateless seed."""
  keys = tf.random.stateless_uniform([num_examples], seed=stateless_seed)
  return tf.argsort(keys, stable=True)


def epoch_permutation(seed, epoch, num_examples: int) -> tf.Tensor:
  """The example order (int32 [num_examples]) of one training epoch.

  A function of (seed, epoch) only: the order of epoch e does not depend on earlier epochs.
  """
  return permutation(derived_seed(seed, PERMUTATION_STREAM, epoch), num_examples)


def calibration_subset(seed, num_examples: int, count: int) -> tf.Tensor:
  """The `count` training indices (int32) used for BN recalibration with `seed`."""
  return permutation(derived_seed(seed, CALIBRATION_STREAM, 0), num_examples)[:count]
