"""`ImageClassificationData`: the interface every input pipeline implements.

A dataset exposes three `tf.data` pipelines, all deterministic functions of their arguments:

- `train_batches`: infinite, one resolution per batch chosen by
  `sampling.resolution_for_step(seed, step, resolutions)` (Cai et al., ICLR 2020, Sec. 3.3:
  elastic resolution, sampled per batch), restartable at any step;
- `eval_batches`: one pass over a split with the eval transforms;
- `calibration_batches`: a fixed subset of training images with the training transforms, for
  BatchNorm recalibration of a subnet before evaluation (Cai et al., ICLR 2020; the reference
  release re-estimates running statistics on ~2000 training images).
"""

from __future__ import annotations

from typing import Mapping, Sequence

import tensorflow as tf

from ofa_tf.data import sampling

SPLITS = ("train", "validation", "test")


class ImageClassificationData:
  """An image classification dataset with resolution-elastic `tf.data` pipelines.

  Subclasses implement `train_batches`, `eval_batches` and `calibration_batches`.

  Attributes:
    name: dataset spec it was loaded from, e.g. "digits", "tfds:imagenette", "folder:/x".
    num_classes: number of labels; labels are int32 in [0, num_classes).
    class_names: tuple of `num_classes` names, index = label.
    split_sizes: {"train": n, "validation": n, "test": n}, number of examples per split.
    max_resolution: largest training/eval resolution (pixels) the data supports; see the
      subclass for how it is derived.
    report: what loading found, printable (image folders: files used, skipped, ignored;
      `folder.FolderReport`), or None.
  """

  report = None

  def __init__(self, name: str, class_names: Sequence[str], split_sizes: Mapping[str, int],
               max_resolution: int):
    self.name = name
    self.class_names = tuple(str(c) for c in class_names)
    self.num_classes = len(self.class_names)
    self.split_sizes = {s: int(split_sizes[s]) for s in SPLITS}
    self.max_resolution = int(max_resolution)

  def __repr__(self) -> str:
    return (f"{type(self).__name__}(name={self.name!r}, num_classes={self.num_classes}, "
            f"split_sizes={self.split_sizes}, max_resolution={self.max_resolution})")

  def check_resolutions(self, resolutions: Sequence[int]) -> tuple[int, ...]:
    """Validates resolutions against this dataset.

    Args:
      resolutions: resolutions in pixels, e.g. a preset's (24, 32).

    Returns:
      The resolutions as a tuple of ints.

    Raises:
      ValueError: if empty, non-positive, or any exceeds `max_resolution`.
    """
    values = sampling.validate_resolutions(resolutions)
    for r in values:
      if r > self.max_resolution:
        raise ValueError(f"preset resolution {r} exceeds the {self.max_resolution} px this "
                         f"dataset ({self.name}) supports; use resolutions <= "
                         f"{self.max_resolution}")
    return values

  def _check_batch_size(self, batch_size: int, split: str = "train") -> int:
    batch_size = int(batch_size)
    if batch_size <= 0:
      raise ValueError(f"batch_size must be a positive int, got {batch_size}")
    if split == "train" and batch_size > self.split_sizes["train"]:
      raise ValueError(f"batch_size {batch_size} exceeds the {self.split_sizes['train']} "
                       f"training examples of {self.name}")
    return batch_size

  def _check_split(self, split: str) -> str:
    if split not in SPLITS:
      raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    return split

  def train_batches(self, batch_size: int, resolutions: Sequence[int], *, seed: int,
                    start_step: int = 0) -> tf.data.Dataset:
    """Infinite training batches; batch `step` has resolution `resolution_for_step(seed, step)`.

    Every batch (example order, augmentation, resolution) is a function of (seed, step), so a
    pipeline created with `start_step=k` yields exactly the batches k, k+1, ... of the one
    created with `start_step=0`. Example order: a fresh permutation per epoch seeded by
    (seed, epoch); batches may straddle epochs and are all full (no remainder).

    Args:
      batch_size: examples per batch B (at most the training split size).
      resolutions: candidate resolutions r in pixels, each <= `max_resolution`.
      seed: run seed.
      start_step: index of the first batch produced.

    Returns:
      A `tf.data.Dataset` of (images float32 [B, r, r, 3] NHWC normalized, labels int32 [B]);
      r varies per batch, so the static spatial shape is None.

    Raises:
      ValueError: bad batch size, resolutions or start_step.
    """
    raise NotImplementedError

  def eval_batches(self, split: str, batch_size: int, resolution: int) -> tf.data.Dataset:
    """One deterministic pass over `split` with eval transforms; the last batch may be short.

    Args:
      split: "validation", "test" or "train".
      batch_size: examples per batch.
      resolution: output side r in pixels (<= `max_resolution`).

    Returns:
      A finite `tf.data.Dataset` of (images float32 [b, r, r, 3], labels int32 [b]) covering
      every example of the split exactly once, in a fixed order.
    """
    raise NotImplementedError

  def calibration_batches(self, num_images: int, batch_size: int, resolution: int, *,
                          seed: int = 0) -> tf.data.Dataset:
    """A fixed subset of training images with training transforms, for BN recalibration.

    The same `seed` gives the same images with the same augmentation on every call.

    Args:
      num_images: subset size (capped at the training split size; 2000 in the reference).
      batch_size: examples per batch; the last batch may be short.
      resolution: output side r in pixels (<= `max_resolution`).
      seed: selects the subset and its augmentation.

    Returns:
      A finite `tf.data.Dataset` of (images float32 [b, r, r, 3], labels int32 [b]).
    """
    raise NotImplementedError

  def _check_train_args(self, batch_size, resolutions, start_step):
    batch_size = self._check_batch_size(batch_size)
    values = self.check_resolutions(resolutions)
    if int(start_step) < 0:
      raise ValueError(f"start_step must be >= 0, got {start_step}")
    return batch_size, values, int(start_step)

  def _check_eval_args(self, split, batch_size, resolution):
    self._check_split(split)
    batch_size = self._check_batch_size(batch_size, split="eval")
    (resolution,) = self.check_resolutions((resolution,))
    return batch_size, resolution
