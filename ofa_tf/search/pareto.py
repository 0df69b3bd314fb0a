"""Accuracy-efficiency Pareto fronts: sweep one constraint's budget, keep the non-dominated.

A point (accuracy a, cost c) dominates (a', c') when a >= a', c <= c' and one of the two is
strict. `pareto_sweep` runs the evolutionary search once per budget of the swept metric
(other constraints fixed) and returns every budget's chosen subnet and the indices of the
non-dominated ones: the accuracy-latency (or -MACs, -size) trade-off curve.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np

from ofa_tf.search.constraints import Constraint, Metrics, parse_metric_key
from ofa_tf.search.evolution import AccuracyFn, Candidate, EvolutionConfig, evolutionary_search


def pareto_front(accuracy: np.ndarray, cost: np.ndarray) -> np.ndarray:
  """Indices of the non-dominated points (maximize accuracy, minimize cost), by cost.

  Of duplicate points, the first is kept. O(N log N).

  Args:
    accuracy: float [N].
    cost: float [N].

  Returns:
    int64 indices, sorted by increasing cost (and so increasing accuracy).
  """
  accuracy, cost = np.asarray(accuracy, np.float64), np.asarray(cost, np.float64)
  if accuracy.shape != cost.shape or accuracy.ndim != 1:
    raise ValueError(f"accuracy and cost must be equal-length vectors, got {accuracy.shape} "
                     f"and {cost.shape}")
  order = np.lexsort((-accuracy, cost))  # By cost, then by accuracy (best first).
  front, best = [], -np.inf
  for i in order:
    if accuracy[i] > best:
      front.append(i)
      best = accuracy[i]
  return np.array(front, np.int64)


def default_budgets(metrics: Metrics, key: str, num: int) -> np.ndarray:
  """`num` budgets of metric `key`, geometric from 1.05 x the smallest to the largest subnet."""
  codec = metrics.codec
  low = float(metrics.evaluate(key, codec.min_genes())[0]) * 1.05
  high = float(metrics.evaluate(key, codec.max_genes())[0])
  return np.geomspace(low, max(high, low), num)


@dataclasses.dataclass(frozen=True)
class ParetoResult:
  """Outcome of a budget sweep.

  Attributes:
    key: the swept metric key ("latency_ms:<profile>", "macs", ...).
    budgets: the budgets searched, one per candidate.
    candidates: the chosen subnet of each budget.
    front: indices into `candidates` of the non-dominated ones, by increasing cost.
  """
  key: str
  budgets: tuple[float, ...]
  candidates: tuple[Candidate, ...]
  front: tuple[int, ...]

  def front_candidates(self) -> list[Candidate]:
    return [self.candidates[i] for i in self.front]

  def to_dict(self) -> dict:
    return {"key": self.key, "budgets": list(self.budgets),
            "candidates": [c.to_dict() for c in self.candidates], "front": list(self.front)}


def pareto_sweep(metrics: Metrics, accuracy_fn: AccuracyFn, key: str,
                 budgets: Sequence[float], fixed: Sequence[Constraint] = (),
                 config: EvolutionConfig = EvolutionConfig()) -> ParetoResult:
  """Searches under each budget of metric `key` (plus the `fixed` constraints).

  Args:
    metrics: efficiency metrics of the space.
    accuracy_fn: batched predicted top-1 of gene arrays.
    key: swept metric key, e.g. "latency_ms:cpu_xnnpack_1t" or "macs".
    budgets: upper bounds to search under (see `default_budgets`).
    fixed: other constraints that hold at every budget (not on `key`).
    config: evolution settings, shared by every budget's search.

  Returns:
    A `ParetoResult`.

  Raises:
    InfeasibleConstraintsError: the smallest budget (with `fixed`) admits no subnet.
  """
  metric, profile = parse_metric_key(key)
  if any(c.key == key for c in fixed):
    raise ValueError(f"fixed constraints must not constrain the swept metric {key!r}")
  budgets = tuple(sorted(float(b) for b in budgets))
  if not budgets:
    raise ValueError("pareto_sweep needs at least one budget")
  candidates = []
  for budget in budgets:
    constraints = (Constraint(metric, budget, profile),) + tuple(fixed)
    candidates.append(evolutionary_search(metrics, accuracy_fn, constraints, config).best)
  accuracy = np.array([c.predicted_top1 for c in candidates])
  cost = np.array([c.metrics[key] for c in candidates])
  return ParetoResult(key=key, budgets=budgets, candidates=tuple(candidates),
                      front=tuple(int(i) for i in pareto_front(accuracy, cost)))
