"""Efficiency constraints of the search: parsing, batched metric evaluation, feasibility.

A constraint is a metric and an upper bound, written as a string:

  macs:300e6                    multiply-accumulates per image <= 3e8
  params:5e6                    parameters <= 5e6
  int8_size_bytes:2e6           estimated int8 model size <= 2e6 bytes (see `efficiency`)
  latency_ms:cpu_xnnpack_1t:5   predicted latency on device profile `cpu_xnnpack_1t` <= 5 ms
  edgetpu_model_ms:3            modelled EdgeTPU time <= 3 ms (`edgetpu_cost`: a model with
                                assumed coefficients, not a measurement)
  latency_ms:cpu_xnnpack_1t_int8|cpu_builtin_1t_int8:20
                                the best of several profiles <= 20 ms: the app picks the
                                fastest delegate per model (issue 17: on CPUs where XNNPACK
                                runs 7x7 depthwise layers 20-70x slower than 5x5, subnets with
                                7x7 blocks can still meet the budget with the builtin kernels)

Latency comes from an injected `LatencyFactory`: a callable mapping a device profile name to
a batched predictor `Sequence[SubnetConfig] -> np.ndarray` of milliseconds (the
`ofa_tf.latency` table predictor plugs in there); everything else is computed from the
space's lookup tables.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Mapping, Sequence

import numpy as np

from ofa_tf.search.edgetpu_cost import EdgeTpuCostModel
from ofa_tf.search.efficiency import EfficiencyTables
from ofa_tf.search.genes import GeneCodec
from ofa_tf.search_space import SearchSpace, SubnetConfig, space_from_dict

LatencyFn = Callable[[Sequence[SubnetConfig]], np.ndarray]
LatencyFactory = Callable[[str], LatencyFn]

STATIC_METRICS = ("macs", "params", "int8_size_bytes", "edgetpu_model_ms")
LATENCY_METRIC = "latency_ms"
PROFILE_SEPARATOR = "|"
METRICS = STATIC_METRICS + (LATENCY_METRIC,)


@dataclasses.dataclass(frozen=True)
class Constraint:
  """`metric <= budget`, with a device profile for latency.

  Attributes:
    metric: one of "macs", "params", "int8_size_bytes", "edgetpu_model_ms", "latency_ms".
    budget: the upper bound (MACs, parameters, bytes or ms).
    profile: device profile name for "latency_ms" (e.g. "cpu_xnnpack_1t"), or several
      joined by "|" for the best (smallest) latency among them; None otherwise.
  """
  metric: str
  budget: float
  profile: str | None = None

  def __post_init__(self):
    if self.metric not in METRICS:
      raise ValueError(f"Constraint.metric must be one of {METRICS}, got {self.metric!r}")
    if (self.metric == LATENCY_METRIC) != bool(self.profile):
      raise ValueError(f"Constraint.profile must be a device profile name for {LATENCY_METRIC} "
                       f"and None for other metrics; got metric={self.metric!r}, "
                       f"profile={self.profile!r}")
    if self.profile:
      profile_alternatives(self.profile)
    budget = float(self.budget)
    if not np.isfinite(budget) or budget <= 0:
      raise ValueError(f"Constraint.budget must be a positive number, got {self.budget!r}")
    object.__setattr__(self, "budget", budget)

  @property
  def profiles(self) -> tuple[str, ...]:
    """The device profiles of a latency constraint (several for a best-of constraint)."""
    return profile_alternatives(self.profile) if self.profile else ()

  @property
  def key(self) -> str:
    """Metric key without the budget: "macs" or "latency_ms:<profile>"."""
    return f"{self.metric}:{self.profile}" if self.profile else self.metric

  def with_budget(self, budget: float) -> "Constraint":
    return dataclasses.replace(self, budget=budget)

  def __str__(self) -> str:
    return f"{self.key}:{self.budget:g}"

  @classmethod
  def parse(cls, text: str) -> "Constraint":
    """Parses "macs:300e6", "params:5e6", "int8_size_bytes:2e6", "edgetpu_model_ms:3",
    "latency_ms:<profile>:5", "latency_ms:<profile>|<profile>:5".

    Raises:
      ValueError: unknown metric, missing profile or a budget that is not a positive number.
    """
    parts = text.strip().split(":")
    if parts[0] == LATENCY_METRIC and len(parts) == 3:
      metric, profile, budget = parts
    elif parts[0] in STATIC_METRICS and len(parts) == 2:
      (metric, budget), profile = parts, None
    else:
      raise ValueError(f"cannot parse constraint {text!r}; expected one of 'macs:<n>', "
                       f"'params:<n>', 'int8_size_bytes:<n>', 'edgetpu_model_ms:<ms>', "
                       f"'latency_ms:<profile>:<ms>', 'latency_ms:<profile>|<profile>:<ms>'")
    try:
      value = float(budget)
    except ValueError:
      raise ValueError(f"constraint {text!r}: budget {budget!r} is not a number") from None
    return cls(metric=metric, budget=value, profile=profile)


def profile_alternatives(profile: str) -> tuple[str, ...]:
  """Splits "a|b" into ("a", "b"); one profile gives a 1-tuple.

  Raises:
    ValueError: an empty or repeated profile name.
  """
  names = tuple(name.strip() for name in profile.split(PROFILE_SEPARATOR))
  if not all(names) or len(set(names)) != len(names):
    raise ValueError(f"latency profile {profile!r}: expected device profile names joined by "
                     f"{PROFILE_SEPARATOR!r}, each non-empty and given once")
  return names


def parse_metric_key(key: str) -> tuple[str, str | None]:
  """Splits "macs" / "latency_ms:<profile>" into (metric, profile)."""
  metric, _, profile = key.partition(":")
  if metric not in METRICS or (metric == LATENCY_METRIC) != bool(profile):
    raise ValueError(f"unknown metric key {key!r}; expected one of {STATIC_METRICS} or "
                     f"'{LATENCY_METRIC}:<profile>'")
  return metric, profile or None


class InfeasibleConstraintsError(ValueError):
  """No subnet of the space satisfies the constraints.

  Attributes:
    smallest: smallest achievable value of each constrained metric key (the smallest subnet
      at the smallest resolution).
  """

  def __init__(self, message: str, smallest: Mapping[str, float]):
    super().__init__(message)
    self.smallest = dict(smallest)


class Metrics:
  """Evaluates efficiency metrics of gene arrays, in batches.

  Args:
    space: the search space.
    latency_factory: maps a device profile name to a batched latency predictor
      (`Sequence[SubnetConfig] -> np.ndarray` ms); needed only for latency metrics.
    tables: precomputed `EfficiencyTables` of `space` (built when None).
  """

  def __init__(self, space: SearchSpace, latency_factory: LatencyFactory | None = None,
               tables: EfficiencyTables | None = None):
    self.space = space
    self.codec = GeneCodec(space)
    self.tables = tables or EfficiencyTables(space)
    self._latency_factory = latency_factory
    self._latency_fns: dict[str, LatencyFn] = {}

  def evaluate(self, key: str, genes: np.ndarray) -> np.ndarray:
    """float64 [N] values of metric `key` ("macs", "latency_ms:<profile>", ...) of `genes`.

    Raises:
      ValueError: unknown key, or a latency key without a latency factory, or a latency
        predictor returning the wrong shape.
    """
    metric, profile = parse_metric_key(key)
    if metric == "macs":
      return self.tables.macs(genes).astype(np.float64)
    if metric == "params":
      return self.tables.params(genes).astype(np.float64)
    if metric == "int8_size_bytes":
      return self.tables.int8_size_bytes(genes).astype(np.float64)
    if metric == "edgetpu_model_ms":
      return EdgeTpuCostModel(self.tables).milliseconds(genes)
    fn = self._latency_fn(profile)
    values = np.asarray(fn(self.codec.decode(genes)), np.float64)
    if values.shape != (len(genes),):
      raise ValueError(f"latency predictor for {profile!r} returned shape {values.shape} for "
                       f"{len(genes)} configs; expected ({len(genes)},)")
    return values

  def evaluate_all(self, keys: Sequence[str], genes: np.ndarray) -> dict[str, np.ndarray]:
    """{key: float64 [N]} for every key."""
    return {key: self.evaluate(key, genes) for key in keys}

  def feasible(self, constraints: Sequence[Constraint],
               genes: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(bool [N] all constraints hold, {key: values [N]}) for `genes`."""
    values = self.evaluate_all([c.key for c in constraints], genes)
    ok = np.ones(len(genes), bool)
    for c in constraints:
      ok &= values[c.key] <= c.budget
    return ok, values

  def check_feasible(self, constraints: Sequence[Constraint]) -> dict[str, float]:
    """Returns the smallest achievable value of each constraint's metric.

    The smallest subnet (min kernel, expand, depth) at the smallest resolution minimizes
    MACs, parameters and size, and (for any sane latency model) latency.

    Raises:
      InfeasibleConstraintsError: some budget is below its smallest achievable value; the
        message names every constraint with its budget and smallest achievable value.
    """
    min_genes = self.codec.min_genes()
    smallest = {c.key: float(self.evaluate(c.key, min_genes)[0]) for c in constraints}
    bad = [c for c in constraints if smallest[c.key] > c.budget]
    if bad:
      lines = "; ".join(f"{c.key} <= {c.budget:g} (smallest achievable {smallest[c.key]:g})"
                        for c in bad)
      all_lines = ", ".join(f"{k} = {v:g}" for k, v in smallest.items())
      min_config = self.space.min_config()
      values = ", ".join(f"{name}={v[0]}" for name, v in min_config.dims.items())
      raise InfeasibleConstraintsError(
          f"no subnet of space {self.space.name} satisfies {lines}. The smallest subnet "
          f"({values}, r={min_config.r}) has {all_lines}", smallest)
    return smallest

  def _latency_fn(self, profile: str) -> LatencyFn:
    names = profile_alternatives(profile)
    if len(names) > 1:  # Best of several profiles: the fastest delegate per subnet.
      fns = [self._latency_fn(name) for name in names]
      return lambda configs: np.min([np.asarray(fn(configs), np.float64) for fn in fns], axis=0)
    if profile not in self._latency_fns:
      if self._latency_factory is None:
        raise ValueError(f"latency constraint on profile {profile!r} needs a latency_factory "
                         f"(device profile -> batched latency predictor)")
      self._latency_fns[profile] = self._latency_factory(profile)
    return self._latency_fns[profile]
