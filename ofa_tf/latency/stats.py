"""Latency statistics shared by every runner.

All times are milliseconds (ms). Runners report a `LatencyStats`; the tools they wrap report
microseconds, which the parsers convert.
"""

import dataclasses
import json
from typing import Sequence

import numpy as np


@dataclasses.dataclass(frozen=True)
class LatencyStats:
  """Summary of repeated timed inferences of one model.

  Attributes:
    median_ms: robust central estimate in ms. For the in-process runner this is the minimum
      over rounds of the per-round median (see `from_rounds`); for tools that only print an
      average it is that average.
    mean_ms: mean over all timed runs, ms.
    std_ms: standard deviation over all timed runs, ms (0 if unknown).
    min_ms: fastest timed run, ms.
    count: number of timed runs (warm-up excluded).
  """

  median_ms: float
  mean_ms: float
  std_ms: float
  min_ms: float
  count: int

  def __post_init__(self):
    for name in ("median_ms", "mean_ms", "std_ms", "min_ms"):
      value = getattr(self, name)
      if not np.isfinite(value) or value < 0:
        raise ValueError(f"LatencyStats.{name} must be a finite value >= 0 ms, got {value!r}")
    if self.count < 1:
      raise ValueError(f"LatencyStats.count must be >= 1, got {self.count!r}")

  @classmethod
  def from_samples_ms(cls, samples_ms: Sequence[float]) -> "LatencyStats":
    """Statistics of one series of timings (ms)."""
    arr = np.asarray(samples_ms, dtype=np.float64)
    if arr.ndim != 1 or arr.size == 0:
      raise ValueError("samples_ms must be a non-empty 1-D sequence of timings in ms")
    return cls(float(np.median(arr)), float(arr.mean()), float(arr.std()), float(arr.min()),
               int(arr.size))

  @classmethod
  def from_rounds(cls, rounds_ms: Sequence[Sequence[float]]) -> "LatencyStats":
    """Min-of-medians over rounds: robust to a noisy shared machine.

    Each round is a burst of back-to-back runs. Interference from other processes only ever
    adds time, so the round least disturbed has the smallest median; taking the minimum of the
    round medians rejects disturbed rounds while the median inside a round rejects single
    outliers (preemption, page faults). Mean, std, min and count cover all runs.

    Args:
      rounds_ms: one sequence of timings (ms) per round.

    Returns:
      The combined statistics.
    """
    if not rounds_ms:
      raise ValueError("rounds_ms must hold at least one round")
    medians = [float(np.median(np.asarray(r, dtype=np.float64))) for r in rounds_ms]
    pooled = np.concatenate([np.asarray(r, dtype=np.float64) for r in rounds_ms])
    if pooled.size == 0:
      raise ValueError("rounds_ms holds no timings")
    return cls(min(medians), float(pooled.mean()), float(pooled.std()), float(pooled.min()),
               int(pooled.size))

  @classmethod
  def combine(cls, parts: Sequence["LatencyStats"]) -> "LatencyStats":
    """Statistics of one model timed in several passes (see `measure.measure_many`).

    As `from_rounds` one level up: median = the smallest pass median, min = the fastest run
    of any pass; mean, std (pooled within and between passes) and count cover all runs.
    """
    if not parts:
      raise ValueError("parts must hold at least one LatencyStats")
    counts = np.array([p.count for p in parts], dtype=np.float64)
    means = np.array([p.mean_ms for p in parts])
    mean = float((counts * means).sum() / counts.sum())
    second = (counts * (np.array([p.std_ms for p in parts]) ** 2 + means ** 2)).sum()
    std = float(np.sqrt(max(second / counts.sum() - mean ** 2, 0.0)))
    return cls(min(p.median_ms for p in parts), mean, std, min(p.min_ms for p in parts),
               int(counts.sum()))

  def estimate(self, estimator: str = "median") -> float:
    """The point estimate a table stores: 'median' (min-of-medians) or 'min' (fastest run).

    With the thread-CPU clock the fastest run is the most reproducible figure on a loaded
    machine: re-measuring whole OFA subnets under load average 6-9 moved their min-of-medians
    by up to 40% while their minimum moved by under 3%.
    """
    if estimator == "median":
      return self.median_ms
    if estimator == "min":
      return self.min_ms
    raise ValueError(f"estimator must be 'median' or 'min', got {estimator!r}")

  def to_json(self) -> str:
    return json.dumps(dataclasses.asdict(self), sort_keys=True)

  @classmethod
  def from_json(cls, text: str) -> "LatencyStats":
    return cls(**json.loads(text))
