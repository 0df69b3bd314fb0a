"""Predictor-guided evolutionary search under efficiency constraints (Cai et al., Sec. 3.4).

The reference evolution finder, batched: each generation keeps the best `parent_ratio` of
the population as parents and breeds `population_size` children, `mutation_ratio` of them by
mutation of a random parent and the rest by crossover of two random parents; every child
satisfies every constraint. Children of one generation are generated, checked and scored
as arrays (one accuracy-predictor call per generation), not one at a time.

Differences from the reference, on purpose:
- Any number of constraints, all of which must hold.
- Bounded sampling: the budget is first checked against the smallest subnet (an
  `InfeasibleConstraintsError` names the smallest achievable value of each constraint);
  the initial population is then drawn in at most `max_sample_rounds` rounds whose genes are
  increasingly pulled to their smallest choice, so a feasible population is always found.
  Children that stay infeasible after `max_sample_rounds` rounds are replaced by copies of
  random parents (which are feasible).

Searches run with BLAS limited to one thread (threadpoolctl, a scikit-learn dependency): the
predictor's [100, 400] matmuls are far too small to gain from threads, and on a loaded
2-core machine OpenBLAS threads made them ~10x slower.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Mapping, Sequence

import numpy as np
import threadpoolctl

from ofa_tf.search.constraints import Constraint, Metrics
from ofa_tf.search.genes import GeneCodec
from ofa_tf.search_space import SubnetConfig

AccuracyFn = Callable[[np.ndarray], np.ndarray]
REPORTED_METRICS = ("macs", "params", "int8_size_bytes")


@dataclasses.dataclass(frozen=True)
class EvolutionConfig:
  """Evolutionary search settings; the defaults are the reference's.

  Attributes:
    population_size: individuals per generation (reference 100).
    generations: number of generations (reference 500).
    parent_ratio: fraction of the population kept as parents (reference 0.25).
    mutation_ratio: fraction of the children made by mutation (reference 0.5); the rest
      come from crossover.
    mutate_prob: probability that a kernel, expand or depth gene mutates (reference 0.1).
    resolution_mutate_prob: probability that the resolution mutates (reference 0.5).
    max_sample_rounds: bound on the rounds of sampling for feasible subnets.
    seed: seed of the search's `np.random.Generator`.
  """
  population_size: int = 100
  generations: int = 500
  parent_ratio: float = 0.25
  mutation_ratio: float = 0.5
  mutate_prob: float = 0.1
  resolution_mutate_prob: float = 0.5
  max_sample_rounds: int = 50
  seed: int = 0

  def __post_init__(self):
    for field in ("population_size", "generations", "max_sample_rounds"):
      if int(getattr(self, field)) < 1:
        raise ValueError(f"EvolutionConfig.{field} must be >= 1, got {getattr(self, field)}")
    for field in ("parent_ratio", "mutation_ratio", "mutate_prob", "resolution_mutate_prob"):
      if not 0.0 <= getattr(self, field) <= 1.0:
        raise ValueError(f"EvolutionConfig.{field} must be in [0, 1], got "
                         f"{getattr(self, field)}")
    if self.num_parents < 1:
      raise ValueError(f"EvolutionConfig.parent_ratio {self.parent_ratio} x population "
                       f"{self.population_size} leaves no parent")

  @property
  def num_parents(self) -> int:
    return int(round(self.parent_ratio * self.population_size))

  @property
  def num_mutations(self) -> int:
    return int(round(self.mutation_ratio * self.population_size))

  def replace(self, **changes) -> "EvolutionConfig":
    return dataclasses.replace(self, **changes)


@dataclasses.dataclass(frozen=True)
class Candidate:
  """A chosen subnet with its predicted top-1 (percent) and efficiency metrics."""
  config: SubnetConfig
  predicted_top1: float
  metrics: Mapping[str, float]

  def to_dict(self) -> dict:
    return {"config": self.config.to_dict(), "predicted_top1": self.predicted_top1,
            "metrics": dict(self.metrics)}


@dataclasses.dataclass(frozen=True)
class SearchResult:
  """Outcome of a search.

  Attributes:
    best: the most accurate feasible subnet found.
    constraints: the constraints it satisfies.
    history: best predicted top-1 after each generation (empty for random search).
    predictor_calls: number of subnets scored by the accuracy function.
  """
  best: Candidate
  constraints: tuple[Constraint, ...]
  history: tuple[float, ...]
  predictor_calls: int

  def to_dict(self) -> dict:
    return {"best": self.best.to_dict(), "constraints": [str(c) for c in self.constraints],
            "predictor_calls": self.predictor_calls}


def sample_feasible(codec: GeneCodec, metrics: Metrics, constraints: Sequence[Constraint],
                    rng: np.random.Generator, n: int, max_rounds: int) -> np.ndarray:
  """Draws n subnets satisfying every constraint, in at most `max_rounds` batched rounds.

  Round t samples with `shrink = t / (max_rounds - 1)` (uniform first, the smallest subnet
  last), so the result is uniform whenever the budget is loose and still found when it is
  tight. Call `metrics.check_feasible(constraints)` first.

  Returns:
    int64 genes [n, num_genes].

  Raises:
    ValueError: fewer than n feasible subnets after `max_rounds` rounds (only possible when
      the smallest subnet itself is infeasible).
  """
  found, count = [], 0
  for t in range(max_rounds):
    shrink = t / (max_rounds - 1) if max_rounds > 1 else 1.0
    candidates = codec.sample(rng, max(2 * (n - count), 16), shrink=shrink)
    ok, _ = metrics.feasible(constraints, candidates)
    found.append(candidates[ok][:n - count])
    count += len(found[-1])
    if count == n:
      return np.concatenate(found)
  raise ValueError(f"found only {count} of {n} subnets satisfying "
                   f"{[str(c) for c in constraints]} in {max_rounds} sampling rounds")


def _breed(make: Callable[[int], np.ndarray], fallback: np.ndarray, n: int, metrics: Metrics,
           constraints: Sequence[Constraint], rng: np.random.Generator,
           max_rounds: int) -> np.ndarray:
  """n feasible children from `make(k)`; leftover slots get random rows of `fallback`."""
  found, count = [], 0
  for _ in range(max_rounds):
    if count == n:
      break
    candidates = make(n - count)
    ok, _ = metrics.feasible(constraints, candidates)
    found.append(candidates[ok])
    count += int(ok.sum())
  if count < n:
    found.append(fallback[rng.integers(len(fallback), size=n - count)])
  return np.concatenate(found)


def describe(codec: GeneCodec, metrics: Metrics, genes: np.ndarray, predicted: np.ndarray,
             keys: Sequence[str]) -> list[Candidate]:
  """Candidates (config, predicted top-1, {metric: value}) of gene rows."""
  keys = list(dict.fromkeys(list(REPORTED_METRICS) + list(keys)))
  values = metrics.evaluate_all(keys, genes)
  configs = codec.decode(genes)
  return [Candidate(config=configs[i], predicted_top1=float(predicted[i]),
                    metrics={k: float(values[k][i]) for k in keys}) for i in range(len(genes))]


def evolutionary_search(metrics: Metrics, accuracy_fn: AccuracyFn,
                        constraints: Sequence[Constraint],
                        config: EvolutionConfig = EvolutionConfig()) -> SearchResult:
  """Finds the subnet of highest predicted accuracy that satisfies all constraints.

  Args:
    metrics: efficiency metrics of the space (and the latency factory, if any).
    accuracy_fn: batched predicted top-1 of gene arrays [N, num_genes] -> [N]
      (e.g. `AccuracyPredictor.predict_genes`).
    constraints: all must hold (may be empty).
    config: evolution settings and seed.

  Returns:
    A `SearchResult`; the same seed and inputs give the same result.

  Raises:
    InfeasibleConstraintsError: no subnet satisfies the constraints.
  """
  with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
    return _evolve(metrics, accuracy_fn, tuple(constraints), config)


def _evolve(metrics: Metrics, accuracy_fn: AccuracyFn, constraints: tuple[Constraint, ...],
            config: EvolutionConfig) -> SearchResult:
  codec = metrics.codec
  rng = np.random.default_rng(config.seed)
  metrics.check_feasible(constraints)
  population = sample_feasible(codec, metrics, constraints, rng, config.population_size,
                               config.max_sample_rounds)
  scores = np.asarray(accuracy_fn(population), np.float64)
  calls = len(population)
  num_parents, num_mutations = config.num_parents, config.num_mutations
  num_crossovers = config.population_size - num_mutations
  history = []
  for _ in range(config.generations):
    order = np.argsort(-scores, kind="stable")[:num_parents]
    parents, parent_scores = population[order], scores[order]
    history.append(float(parent_scores[0]))

    def mutate(k, parents=parents):
      chosen = parents[rng.integers(num_parents, size=k)]
      return codec.mutate(rng, chosen, config.mutate_prob, config.resolution_mutate_prob)

    def cross(k, parents=parents):
      return codec.crossover(rng, parents[rng.integers(num_parents, size=k)],
                             parents[rng.integers(num_parents, size=k)])

    children = np.concatenate([
        _breed(mutate, parents, num_mutations, metrics, constraints, rng,
               config.max_sample_rounds),
        _breed(cross, parents, num_crossovers, metrics, constraints, rng,
               config.max_sample_rounds)])
    child_scores = np.asarray(accuracy_fn(children), np.float64)
    calls += len(children)
    population = np.concatenate([parents, children])
    scores = np.concatenate([parent_scores, child_scores])
  best = int(np.argmax(scores))
  candidate = describe(codec, metrics, population[best:best + 1], scores[best:best + 1],
                       [c.key for c in constraints])[0]
  return SearchResult(best=candidate, constraints=constraints, history=tuple(history),
                      predictor_calls=calls)


def random_search(metrics: Metrics, accuracy_fn: AccuracyFn, constraints: Sequence[Constraint],
                  num_samples: int, seed: int = 0, max_sample_rounds: int = 50,
                  chunk_size: int = 1000) -> SearchResult:
  """The best of `num_samples` feasible random subnets (the baseline for evolution).

  Uses the same bounded feasible sampler as the evolution's initial population, scoring
  `chunk_size` subnets per accuracy call; `predictor_calls == num_samples`.

  Raises:
    InfeasibleConstraintsError: no subnet satisfies the constraints.
  """
  constraints = tuple(constraints)
  codec = metrics.codec
  rng = np.random.default_rng(seed)
  metrics.check_feasible(constraints)
  best_genes, best_score = None, -np.inf
  with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
    for start in range(0, num_samples, chunk_size):
      genes = sample_feasible(codec, metrics, constraints, rng,
                              min(chunk_size, num_samples - start), max_sample_rounds)
      scores = np.asarray(accuracy_fn(genes), np.float64)
      i = int(np.argmax(scores))
      if scores[i] > best_score:
        best_genes, best_score = genes[i:i + 1], scores[i]
  candidate = describe(codec, metrics, best_genes, np.array([best_score]),
                       [c.key for c in constraints])[0]
  return SearchResult(best=candidate, constraints=constraints, history=(),
                      predictor_calls=num_samples)
