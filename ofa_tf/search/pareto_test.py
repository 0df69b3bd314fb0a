"""Tests of the Pareto front and the budget sweep."""

import numpy as np
import tensorflow as tf

from ofa_tf.search.constraints import Constraint, Metrics
from ofa_tf.search.evolution import EvolutionConfig
from ofa_tf.search.pareto import default_budgets, pareto_front, pareto_sweep
from ofa_tf.search.search_test_util import linear_accuracy_fn
from ofa_tf.search_space import get_space


def dominated(acc, cost, i, j):
  """Whether point j dominates point i."""
  return acc[j] >= acc[i] and cost[j] <= cost[i] and (acc[j] > acc[i] or cost[j] < cost[i])


class ParetoFrontTest(tf.test.TestCase):

  def test_hand_example(self):
    acc = np.array([70.0, 72.0, 71.0, 75.0, 74.0, 75.0])
    cost = np.array([1.0, 2.0, 3.0, 4.0, 4.0, 5.0])
    self.assertAllEqual(pareto_front(acc, cost), [0, 1, 3])

  def test_front_is_exactly_the_non_dominated_set(self):
    rng = np.random.default_rng(0)
    acc, cost = rng.normal(size=300), rng.normal(size=300)
    front = set(pareto_front(acc, cost).tolist())
    for i in range(300):
      is_dominated = any(dominated(acc, cost, i, j) for j in range(300))
      self.assertEqual(i in front, not is_dominated, msg=f"point {i}")


class ParetoSweepTest(tf.test.TestCase):

  def test_sweep_front_non_dominated_and_within_budgets(self):
    space = get_space("ofa_mbv3_tiny")
    metrics = Metrics(space)
    accuracy_fn, _ = linear_accuracy_fn(space)
    budgets = default_budgets(metrics, "macs", 5)
    self.assertGreater(budgets[0], space.macs(space.min_config()))
    self.assertAllClose(budgets[-1], space.macs(space.max_config()))
    fixed = [Constraint.parse("params:2.5e5")]
    result = pareto_sweep(metrics, accuracy_fn, "macs", budgets, fixed,
                          EvolutionConfig(population_size=20, generations=15))
    self.assertLen(result.candidates, 5)
    for budget, candidate in zip(result.budgets, result.candidates):
      self.assertLessEqual(candidate.metrics["macs"], budget)
      self.assertLessEqual(candidate.metrics["params"], 2.5e5)
    acc = np.array([c.predicted_top1 for c in result.candidates])
    cost = np.array([c.metrics["macs"] for c in result.candidates])
    for i in result.front:
      self.assertFalse(any(dominated(acc, cost, i, j) for j in range(len(acc))))
    self.assertEqual(list(result.front), sorted(result.front, key=lambda i: cost[i]))
    with self.assertRaisesRegex(ValueError, "swept metric"):
      pareto_sweep(metrics, accuracy_fn, "macs", budgets, [Constraint.parse("macs:1e9")])


if __name__ == "__main__":
  tf.test.main()
