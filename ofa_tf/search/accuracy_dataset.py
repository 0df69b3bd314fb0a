"""The accuracy dataset: measured (subnet, resolution, top-1, loss) rows in a JSONL file.

`build_accuracy_dataset` samples `num_subnets` subnets from a seeded generator and evaluates
each at every requested resolution with an injected `evaluate_fn` (the trainer supplies
"BN-recalibrate, then evaluate on the validation split"; never the test split). Rows are
appended one JSON line at a time (one `write` of the whole line, flushed and fsynced), so an
interrupted run loses at most the row being written; a torn last line is dropped on resume.
The subnet sequence depends only on (space, seed, resolutions): a resumed or extended run
evaluates exactly the rows an uninterrupted run would, and never re-evaluates a stored row.

The space is written beside the file (`<path>.space.json`, see `space_path`) so a predictor
trained from the file knows its space; a resumed run checks it.

Row format (one JSON object per line):
  {"index": i, "seed": s, "config": {SubnetConfig dict incl. "r" and "space"},
   "resolution": r, "top1": fraction in [0, 1], "loss": float}
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from typing import Callable, Sequence

import numpy as np

from ofa_tf.search.files import read_json, write_json
from ofa_tf.search_space import SearchSpace, SubnetConfig, space_from_dict

EvaluateFn = Callable[[SubnetConfig], tuple[float, float]]
DATASET_FILE = "accuracy_dataset.jsonl"


@dataclasses.dataclass(frozen=True)
class Row:
  """One measured subnet.

  Attributes:
    index: position in the seeded sequence (subnet i * len(resolutions) + resolution j).
    seed: the seed of the sequence.
    config: the subnet, at `resolution`.
    resolution: input resolution in pixels (== config.r).
    top1: top-1 accuracy as a fraction in [0, 1].
    loss: mean cross-entropy loss.
  """
  index: int
  seed: int
  config: SubnetConfig
  resolution: int
  top1: float
  loss: float

  def to_json(self) -> str:
    return json.dumps({"index": self.index, "seed": self.seed, "config": self.config.to_dict(),
                       "resolution": self.resolution, "top1": self.top1, "loss": self.loss})

  @classmethod
  def from_json(cls, text: str) -> "Row":
    data = json.loads(text)
    return cls(index=int(data["index"]), seed=int(data["seed"]),
               config=SubnetConfig.from_dict(data["config"]),
               resolution=int(data["resolution"]), top1=float(data["top1"]),
               loss=float(data["loss"]))


@dataclasses.dataclass(frozen=True)
class Progress:
  """Passed to the progress callback after each evaluated row.

  Attributes:
    done: rows in the file now (stored before + evaluated in this run).
    total: rows the run will have when finished.
    evaluated: rows evaluated in this run.
    elapsed_s: seconds since this run started.
    eta_s: estimated seconds left (from this run's mean time per row).
    row: the row just written.
  """
  done: int
  total: int
  evaluated: int
  elapsed_s: float
  eta_s: float
  row: Row


def subnet_sequence(space: SearchSpace, num_subnets: int, seed: int,
                    resolutions: Sequence[int] | None = None) -> list[SubnetConfig]:
  """The deterministic list of configs to measure: subnet i at each resolution, in order.

  Subnets are drawn with `space.sample(np.random.default_rng(seed))`; the first n subnets of
  a longer sequence are those of a shorter one, so a run can be extended.
  """
  resolutions = tuple(space.resolutions if resolutions is None else resolutions)
  bad = [r for r in resolutions if r not in space.resolutions]
  if not resolutions or bad:
    raise ValueError(f"resolutions {resolutions} must be a non-empty subset of "
                     f"{space.resolutions}")
  rng = np.random.default_rng(seed)
  configs = []
  for _ in range(num_subnets):
    subnet = space.sample(rng)
    configs.extend(subnet.replace(r=r) for r in resolutions)
  return configs


def space_path(path: str) -> str:
  """Where the space of dataset file `path` is stored."""
  return path + ".space.json"


def read_space(path: str) -> SearchSpace:
  """The space of dataset file `path` (from `space_path(path)`)."""
  return space_from_dict(read_json(space_path(path)))


def read_rows(path: str) -> list[Row]:
  """Rows of a dataset file, ignoring a torn (unterminated) last line; [] if missing."""
  if not os.path.exists(path):
    return []
  with open(path, "rb") as f:
    data = f.read()
  complete = data[:data.rfind(b"\n") + 1]
  return [Row.from_json(line) for line in complete.decode().splitlines() if line.strip()]


def _truncate_torn_line(path: str) -> None:
  with open(path, "rb+") as f:
    data = f.read()
    end = data.rfind(b"\n") + 1
    if end != len(data):
      f.truncate(end)


def build_accuracy_dataset(space: SearchSpace, evaluate_fn: EvaluateFn, path: str, *,
                           num_subnets: int, seed: int,
                           resolutions: Sequence[int] | None = None,
                           progress_fn: Callable[[Progress], None] | None = None,
                           clock: Callable[[], float] = time.monotonic) -> list[Row]:
  """Measures subnets and appends rows to `path`, resuming from the rows already there.

  Args:
    space: the search space of the trained supernet.
    evaluate_fn: config -> (top-1 fraction in [0, 1], loss), e.g. BN recalibration followed
      by evaluation on the validation split.
    path: the JSONL dataset file (created if missing).
    num_subnets: subnets to sample; each is measured at every resolution.
    seed: seed of the subnet sequence.
    resolutions: resolutions to measure (default: all of the space's).
    progress_fn: called with a `Progress` after each row.
    clock: time source in seconds (injectable for tests).

  Returns:
    All rows of the file after the run (stored ones first), in sequence order.

  Raises:
    ValueError: the file holds rows of another seed or space, or rows that differ from the
      seeded sequence; or `evaluate_fn` returns a top-1 outside [0, 1].
  """
  if num_subnets <= 0:
    raise ValueError(f"num_subnets must be positive, got {num_subnets}")
  sequence = subnet_sequence(space, num_subnets, seed, resolutions)
  if os.path.exists(space_path(path)):
    if read_space(path) != space:
      raise ValueError(f"{path} was built for space {read_space(path).name!r}, not "
                       f"{space.name!r}: use another file")
  else:
    write_json(space_path(path), space.to_dict())
  rows = read_rows(path)
  for row in rows:
    if row.seed != seed:
      raise ValueError(f"{path} holds rows of seed {row.seed}, not {seed}: use another file "
                       f"or the same seed")
    if row.index >= len(sequence) or row.config != sequence[row.index]:
      raise ValueError(f"{path} row {row.index} ({row.config.to_json()}) is not in the "
                       f"sequence of space {space.name}, seed {seed}, resolutions "
                       f"{resolutions or space.resolutions}: use another file")
  stored = {row.index for row in rows}
  todo = [i for i in range(len(sequence)) if i not in stored]
  if os.path.exists(path):
    _truncate_torn_line(path)
  start = clock()
  with open(path, "a") as f:
    for n, index in enumerate(todo, 1):
      config = sequence[index]
      top1, loss = evaluate_fn(config)
      if not 0.0 <= float(top1) <= 1.0:
        raise ValueError(f"evaluate_fn returned top1={top1} for {config.to_json()}; expected a "
                         f"fraction in [0, 1]")
      row = Row(index=index, seed=seed, config=config, resolution=config.r, top1=float(top1),
                loss=float(loss))
      f.write(row.to_json() + "\n")
      f.flush()
      os.fsync(f.fileno())
      rows.append(row)
      if progress_fn is not None:
        elapsed = clock() - start
        progress_fn(Progress(done=len(rows), total=len(sequence), evaluated=n,
                             elapsed_s=elapsed, eta_s=elapsed / n * (len(todo) - n), row=row))
  return sorted(rows, key=lambda r: r.index)
