"""Subnet evaluation with BatchNorm recalibration (Cai et al., ICLR 2020; reference
`set_running_statistics`).

A subnet's BN moving statistics in the supernet are averages over all the subnets trained, so
before evaluating a subnet they are recomputed: forward passes in training mode over a fixed
subset of training images (training transforms, the subnet's resolution) with BN momentum
n_seen / (n_seen + b) for a batch of b images, which makes the moving mean and variance the
image-weighted mean of the batch statistics. Only the channels and blocks the subnet uses are
rewritten; the statistics of inactive ones stay as they were.
"""

from __future__ import annotations

import itertools
import json
import os
from typing import Callable

import numpy as np
import tensorflow as tf

from ofa_tf.data import ImageClassificationData, load_dataset
from ofa_tf.networks import Supernet, arch_signature, build_supernet
from ofa_tf.search_space import SearchSpace, SubnetConfig
from ofa_tf import workdir as workdir_lib
from ofa_tf.training.config import Phase, TrainConfig

_STAT_SUFFIXES = (".moving_mean", ".moving_variance")


class _SubnetRunner:
  """Traced calibration and evaluation passes of one supernet (one trace for all subnets and
  resolutions: images have unknown spatial size, the arch is a tensor argument)."""

  def __init__(self, supernet: Supernet):
    self.supernet = supernet
    images = tf.TensorSpec([None, None, None, 3], tf.float32)
    arch = arch_signature(supernet.space)
    self.calibrate = tf.function(self._calibrate, input_signature=[
        images, arch, tf.TensorSpec([], tf.float32)])
    self.logits = tf.function(self._logits, input_signature=[images, arch])

  def _calibrate(self, images, arch, momentum):
    self.supernet(images, training=True, arch=arch, bn_momentum=momentum)
    return tf.constant(0)

  def _logits(self, images, arch):
    return self.supernet(images, training=False, arch=arch)


def _runner(supernet: Supernet) -> _SubnetRunner:
  runner = getattr(supernet, "_ofa_subnet_runner", None)
  if runner is None:
    runner = _SubnetRunner(supernet)
    # Not tracked by Keras/checkpoints: stored on the instance dict directly.
    object.__setattr__(supernet, "_ofa_subnet_runner", runner)
  return runner


def bn_statistics(supernet: Supernet) -> dict[str, np.ndarray]:
  """A copy of every BN moving mean and variance, by stable name."""
  return {k: v.numpy() for k, v in supernet.named_weights().items()
          if k.endswith(_STAT_SUFFIXES)}


def restore_bn_statistics(supernet: Supernet, stats: dict[str, np.ndarray]) -> None:
  """Assigns statistics saved with `bn_statistics` back."""
  weights = supernet.named_weights()
  for k, value in stats.items():
    weights[k].assign(value)


def recalibrate_bn(supernet: Supernet, config: SubnetConfig, data: ImageClassificationData,
                   num_images: int = 2000, batch_size: int = 200, seed: int = 0) -> int:
  """Recomputes the BN moving statistics of subnet `config` from training images, in place.

  Args:
    supernet: the supernet (its variables are modified).
    config: the subnet; its resolution `config.r` is the calibration resolution.
    data: the dataset; `data.calibration_batches(num_images, batch_size, config.r, seed=seed)`
      (a fixed subset with training transforms) is used.
    num_images: calibration images (2000 in the reference).
    batch_size: images per forward pass.
    seed: selects the subset and its augmentation.

  Returns:
    The number of images used.
  """
  runner = _runner(supernet)
  arch = supernet.arch_inputs(config)
  seen = 0
  for images, _ in data.calibration_batches(num_images, batch_size, config.r, seed=seed):
    b = int(images.shape[0])
    runner.calibrate(images, arch, tf.constant(seen / (seen + b), tf.float32))
    seen += b
  return seen


def evaluate_subnet(supernet: Supernet, config: SubnetConfig,
                    data: ImageClassificationData, split: str = "validation",
                    batch_size: int = 200) -> tuple[float, float]:
  """Top-1 accuracy and mean cross-entropy of subnet `config` on `split` (no recalibration).

  Returns:
    (top1 in [0, 1], loss in nats per example).
  """
  runner = _runner(supernet)
  arch = supernet.arch_inputs(config)
  correct, loss, count = 0, 0.0, 0
  for images, labels in data.eval_batches(split, batch_size, config.r):
    logits = runner.logits(images, arch)
    correct += int(tf.reduce_sum(tf.cast(
        tf.equal(tf.argmax(logits, -1, output_type=tf.int32), labels), tf.int32)))
    loss += float(tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits)))
    count += int(labels.shape[0])
  return correct / count, loss / count


def recalibrated_accuracy(supernet: Supernet, config: SubnetConfig,
                          data: ImageClassificationData, split: str, train_config: TrainConfig
                          ) -> tuple[float, float]:
  """`recalibrate_bn` then `evaluate_subnet`, with the run's calibration settings."""
  recalibrate_bn(supernet, config, data, train_config.bn_calibration_images,
                 train_config.eval_batch_size, seed=train_config.seed)
  return evaluate_subnet(supernet, config, data, split, train_config.eval_batch_size)


def extreme_subnets(space: SearchSpace, phase: Phase,
                    resolutions: tuple[int, ...]) -> list[SubnetConfig]:
  """Subnets {min, max} of every dimension `phase` opens (each dimension at its smallest or
  largest value of the phase in every entry; unopened ones at their largest) x {min, max}
  resolution, in the order of `itertools.product` over the space's dimensions, then r."""
  choices = space.restricted_choices(phase.restrictions(space))
  per_dim = [(0, -1) if any(len(entry) > 1 for entry in choices[d]) else (-1,)
             for d in space.dim_names]
  configs = []
  for picks in itertools.product(*per_dim, sorted({min(resolutions), max(resolutions)})):
    *dim_picks, r = picks
    dims = {d: tuple(entry[pick] for entry in choices[d])
            for d, pick in zip(space.dim_names, dim_picks)}
    configs.append(SubnetConfig(r=r, space=space.name, **dims))
  return configs


def subnet_label(space: SearchSpace, config: SubnetConfig) -> str:
  """A short label of a (uniform) subnet, e.g. "d2 e3 k3 r24": the first entry of each
  dimension (its first letter) and the resolution. Labels are written here and read only by
  `parse_subnet_label` and `summary_tag`."""
  return " ".join([f"{d[0]}{getattr(config, d)[0]}" for d in sorted(space.dim_names)]
                  + [f"r{config.r}"])


def parse_subnet_label(label: str) -> dict[str, int]:
  """The values of a `subnet_label`: "d2 e3 k3 r24" -> {"d": 2, "e": 3, "k": 3, "r": 24}
  (float values such as a width multiplier stay floats).

  Raises:
    ValueError: `label` is not of that form.
  """
  values = {}
  for part in label.split():
    key, number = part[:1], part[1:]
    if not key.isalpha() or not number:
      raise ValueError(f"not a subnet label: {label!r} (expected e.g. 'd2 e3 k3 r24')")
    try:
      values[key] = int(number)
    except ValueError:
      try:
        values[key] = float(number)
      except ValueError:
        raise ValueError(f"not a subnet label: {label!r} (expected e.g. 'd2 e3 k3 r24')"
                         ) from None
  if "r" not in values:
    raise ValueError(f"not a subnet label: {label!r} (no resolution 'r<pixels>')")
  return values


def summary_tag(label: str) -> str:
  """The TensorBoard tag of a subnet's evaluation: "d2 e3 k3 r24" -> "eval/d2_e3_k3_r24"."""
  return "eval/" + "_".join(f"{k}{v}" for k, v in parse_subnet_label(label).items())


def extreme_labels(space: SearchSpace, phase: Phase,
                   resolutions: tuple[int, ...]) -> tuple[str, str]:
  """Labels of the smallest subnet at the smallest resolution and the largest at the largest."""
  configs = extreme_subnets(space, phase, resolutions)
  return subnet_label(space, configs[0]), subnet_label(space, configs[-1])


def evaluate_extremes(supernet: Supernet, data: ImageClassificationData, phase: Phase,
                      train_config: TrainConfig, split: str = "validation",
                      labels: tuple[str, ...] | None = None) -> list[dict]:
  """Recalibrated accuracy of `extreme_subnets`; the supernet's BN statistics are restored.

  `labels` keeps only the subnets with these labels (e.g. "d2 e3 k3 r24").

  Returns:
    One row per subnet: {"subnet": "d2 e3 k3 r24", "config": SubnetConfig dict,
    "top1": float, "loss": float, "macs": int}.
  """
  saved = bn_statistics(supernet)
  rows = []
  try:
    for config in extreme_subnets(supernet.space, phase, supernet.space.resolutions):
      label = subnet_label(supernet.space, config)
      if labels is not None and label not in labels:
        continue
      top1, loss = recalibrated_accuracy(supernet, config, data, split, train_config)
      rows.append({"subnet": label, "config": config.to_dict(), "top1": top1, "loss": loss,
                   "macs": supernet.space.macs(config)})
  finally:
    restore_bn_statistics(supernet, saved)
  return rows


def format_table(results: dict[str, list[dict]]) -> str:
  """The per-phase table: one line per (phase, subnet) with top-1 (%), loss and MMACs."""
  lines = [f"{'phase':<10} {'split':<10} {'subnet':<16} {'top1 %':>7} {'loss':>7} {'MMACs':>7}"]
  for key, rows in results.items():
    phase, _, split = key.partition("/")
    for row in rows:
      lines.append(f"{phase:<10} {split or 'validation':<10} {row['subnet']:<16} "
                   f"{100 * row['top1']:7.2f} {row['loss']:7.4f} {row['macs'] / 1e6:7.2f}")
  return "\n".join(lines)


class SubnetEvaluator:
  """BN-recalibrate-then-evaluate for one trained supernet: `evaluator(config) -> (top1, loss)`.

  Attributes:
    space: the supernet's search space (what search and the accuracy dataset sample from).
    supernet: the trained supernet.
    data: the run's dataset.
    split: the evaluation split ("validation" for search, "test" for reporting).
  """

  def __init__(self, supernet: Supernet, data, split: str, train_config: TrainConfig):
    self.supernet = supernet
    self.space = supernet.space
    self.data = data
    self.split = split
    self.train_config = train_config

  def __call__(self, config: SubnetConfig) -> tuple[float, float]:
    """Returns (top1 in [0, 1], mean cross-entropy) of `config` after BN recalibration.

    Raises:
      ValueError: `config` is not valid for the supernet's space.
    """
    self.space.validate(config)
    return recalibrated_accuracy(self.supernet, config, self.data, self.split,
                                 self.train_config)


def make_subnet_evaluator(workdir: str, split: str = "validation",
                          execution_mode: str = "sliced") -> SubnetEvaluator:
  """An evaluator of the trained supernet in `workdir`: config -> (top1, loss).

  Loads the supernet (`workdir.load_supernet`) and the run's dataset and calibration settings
  (`train_config.json`); each call BN-recalibrates the subnet, then evaluates it on `split`.

  Args:
    workdir: a finished work directory.
    split: "validation" (for search) or "test".
    execution_mode: "sliced" or "masked".

  Returns:
    A `SubnetEvaluator`: callable(SubnetConfig) -> (top1 in [0, 1], mean cross-entropy),
    with the supernet's `space`.

  Raises:
    FileNotFoundError / ValueError: see `workdir.load_supernet`; a missing train_config.json.
  """
  supernet = workdir_lib.load_supernet(workdir, execution_mode=execution_mode)
  path = os.path.join(workdir, workdir_lib.TRAIN_CONFIG_FILE)
  if not os.path.exists(path):
    raise FileNotFoundError(f"{path} not found: the evaluator needs the run's dataset and "
                            f"calibration settings")
  with open(path) as f:
    train_config = TrainConfig.from_dict(json.load(f))
  data = load_dataset(train_config.dataset, bad_images=train_config.bad_images)  # The run's split.
  return SubnetEvaluator(supernet, data, split, train_config)
