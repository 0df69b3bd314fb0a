"""The work-directory format of a progressive-shrinking run, and the only way to read it.

Layout of a work directory (every file written atomically: temporary file or directory in the
same parent, then `os.replace`; `ofa_tf.atomic_files`):

  space.json           the search space JSON (`space.to_json()`, with its family tag); fixes the
                       supernet's shapes. Written once; a different space is refused.
  train_config.json    the `TrainConfig` JSON of the run (`ofa_tf.training.config`).
  checkpoints/         `tf.train.CheckpointManager` checkpoints of the trainer (supernet,
                       teacher, optimizer slots, global step, phase index, step in phase).
  phase_results.json   per-phase evaluation table ({min, max} subnets x resolutions).
  final/               the trained supernet: `tf.train.Checkpoint(supernet=named_weights)`
                       written with `Checkpoint.write(final/supernet)`, where `named_weights`
                       is `Supernet.named_weights()` (stable names such as
                       `block3.expand_conv.kernel`; checkpoint keys
                       `supernet/<name>/.ATTRIBUTES/VARIABLE_VALUE`, readable without this code
                       by `tf.train.load_checkpoint`), plus `final/space.json` (a copy of the
                       space the weights belong to).
  summaries/           TensorBoard event files.
  .lock                while a trainer runs: its {"pid", "host", "started"} JSON
                       (`training.run_guard.WorkdirLock`); a second trainer is refused.

Other parts of the project (search, export, interop) read and write supernets only through
`save_supernet` and `load_supernet`.
"""

from __future__ import annotations

import json
import os
import shutil

import tensorflow as tf

from ofa_tf import atomic_files
from ofa_tf.networks import Supernet, build_supernet
from ofa_tf.search_space import SearchSpace, space_from_dict

SPACE_FILE = "space.json"
TRAIN_CONFIG_FILE = "train_config.json"
PHASE_RESULTS_FILE = "phase_results.json"
CHECKPOINT_DIR = "checkpoints"
FINAL_DIR = "final"
SUMMARY_DIR = "summaries"
LOCK_FILE = ".lock"
_FINAL_PREFIX = "supernet"


def read_space(workdir: str) -> SearchSpace:
  """The search space of work directory `workdir` (from its `space.json`).

  Raises:
    FileNotFoundError: `workdir` or its `space.json` does not exist.
    ValueError: `space.json` is not a valid space.
  """
  if not os.path.isdir(workdir):
    raise FileNotFoundError(f"work directory {workdir!r} does not exist")
  path = os.path.join(workdir, SPACE_FILE)
  if not os.path.exists(path):
    raise FileNotFoundError(
        f"{path} not found: {workdir!r} is not an ofa-tf work directory (expected "
        f"{SPACE_FILE}, written by the trainer or save_supernet)")
  with open(path) as f:
    text = f.read()
  try:
    return space_from_dict(json.loads(text))
  except (ValueError, TypeError) as e:
    raise ValueError(f"{path} is not a valid search-space JSON: {e}") from e


def write_space(workdir: str, space: SearchSpace, overwrite: bool = False) -> None:
  """Writes `space.json`, refusing to replace a different space unless `overwrite`.

  Raises:
    ValueError: `workdir` already holds a different space and `overwrite` is False.
  """
  path = os.path.join(workdir, SPACE_FILE)
  if os.path.exists(path) and not overwrite:
    existing = read_space(workdir)
    if existing != space:
      raise ValueError(
          f"work directory {workdir!r} holds a supernet of space {existing.name!r} "
          f"({path}) which differs from space {space.name!r}; use another work directory "
          f"or overwrite it explicitly")
    return
  atomic_files.write_text(path, space.to_json() + "\n")


def supernet_checkpoint(supernet: Supernet) -> tf.train.Checkpoint:
  """`tf.train.Checkpoint(supernet=supernet.named_weights())`: the weights by stable name.

  Tracking the variables by stable name (rather than the Keras object graph) keeps the
  checkpoint independent of layer attribute layout and of the execution mode.
  """
  return tf.train.Checkpoint(supernet=dict(supernet.named_weights()))


def has_final(workdir: str) -> bool:
  """Whether `workdir` holds a trained supernet (`final/`)."""
  return tf.io.gfile.exists(os.path.join(workdir, FINAL_DIR, _FINAL_PREFIX + ".index"))


def save_supernet(workdir: str, supernet: Supernet, overwrite: bool = False) -> str:
  """Writes `supernet`'s weights as the work directory's final supernet.

  Writes `space.json` (if absent) and `final/` = `tf.train.Checkpoint(supernet=supernet)`
  plus `final/space.json`. The new `final/` is written beside the old one and swapped in
  with `os.replace`, so an interrupted save leaves the previous one intact.

  Args:
    workdir: the work directory (created if missing).
    supernet: an supernet; its `space` must equal the directory's `space.json`.
    overwrite: replace a `space.json` of a different space (and its final weights).

  Returns:
    The checkpoint prefix written (`<workdir>/final/supernet`).

  Raises:
    ValueError: `workdir` holds a different space and `overwrite` is False.
  """
  os.makedirs(workdir, exist_ok=True)
  write_space(workdir, supernet.space, overwrite=overwrite)
  final = os.path.join(workdir, FINAL_DIR)
  staging = atomic_files.make_staging_directory(workdir, FINAL_DIR)
  try:
    supernet_checkpoint(supernet).write(os.path.join(staging, _FINAL_PREFIX))
    atomic_files.write_text(os.path.join(staging, SPACE_FILE), supernet.space.to_json() + "\n")
  except BaseException:
    shutil.rmtree(staging, ignore_errors=True)
    raise
  atomic_files.replace_directory(staging, final)
  return os.path.join(final, _FINAL_PREFIX)


def load_supernet(workdir: str, execution_mode: str = "sliced",
                  synchronized_bn: bool = False) -> Supernet:
  """Builds the supernet of `workdir` (space from `space.json`) and restores `final/`.

  Args:
    workdir: a work directory written by the trainer or `save_supernet`.
    execution_mode: "sliced" (CPU/GPU) or "masked" (XLA/TPU); weights are the same.
    synchronized_bn: build with synchronized BatchNorm (for further distributed training).

  Returns:
    An supernet holding the trained weights (BN statistics are those of the largest
    subnet; recalibrate before evaluating a shrunk subnet, see `training.evaluation`).

  Raises:
    FileNotFoundError: `workdir`, its `space.json` or its `final/` checkpoint is missing.
    ValueError: the final checkpoint belongs to a different space than `space.json`, or its
      weights do not match the space's shapes.
  """
  space = read_space(workdir)
  final = os.path.join(workdir, FINAL_DIR)
  if not has_final(workdir):
    raise FileNotFoundError(
        f"{final}/ holds no trained supernet ({_FINAL_PREFIX}.index missing): the run in "
        f"{workdir!r} has not finished, or nothing was saved with save_supernet")
  final_space_path = os.path.join(final, SPACE_FILE)
  if os.path.exists(final_space_path):
    with open(final_space_path) as f:
      final_space = space_from_dict(json.loads(f.read()))
    if final_space != space:
      raise ValueError(
          f"{final}/ holds weights of space {final_space.name!r} but {workdir}/{SPACE_FILE} "
          f"says {space.name!r}: the work directory is inconsistent")
  supernet = build_supernet(space, execution_mode=execution_mode,
                            synchronized_bn=synchronized_bn)
  try:
    status = supernet_checkpoint(supernet).read(os.path.join(final, _FINAL_PREFIX))
    status.assert_existing_objects_matched()
  except (ValueError, AssertionError, tf.errors.InvalidArgumentError) as e:
    raise ValueError(
        f"the checkpoint in {final}/ does not match space {space.name!r} of "
        f"{workdir}/{SPACE_FILE}: {e}") from e
  return supernet
