"""Tests of the evolutionary and random search: constraints, determinism, errors."""

import numpy as np
import tensorflow as tf

from ofa_tf.search.constraints import Constraint, InfeasibleConstraintsError, Metrics
from ofa_tf.search.evolution import EvolutionConfig, evolutionary_search, random_search
from ofa_tf.search.search_test_util import linear_accuracy_fn
from ofa_tf.search_space import get_space

_FAST = EvolutionConfig(population_size=40, generations=30)


def fake_latency_factory(profile):
  space = get_space("ofa_mbv3_w1.0")
  return lambda configs: np.array([space.macs(c) / 3e7 for c in configs])


class EvolutionTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.space = get_space("ofa_mbv3_w1.0")
    self.metrics = Metrics(self.space, fake_latency_factory)
    self.accuracy_fn, _ = linear_accuracy_fn(self.space)

  def test_config_defaults_are_the_reference(self):
    config = EvolutionConfig()
    self.assertEqual((config.population_size, config.generations, config.parent_ratio,
                      config.mutation_ratio, config.mutate_prob, config.resolution_mutate_prob),
                     (100, 500, 0.25, 0.5, 0.1, 0.5))
    self.assertEqual((config.num_parents, config.num_mutations), (25, 50))
    with self.assertRaisesRegex(ValueError, "mutate_prob"):
      EvolutionConfig(mutate_prob=1.5)

  def test_feasible_and_reported(self):
    result = evolutionary_search(self.metrics, self.accuracy_fn,
                                 [Constraint.parse("macs:200e6")], _FAST)
    best = result.best
    self.space.validate(best.config)
    self.assertLessEqual(best.metrics["macs"], 200e6)
    self.assertEqual(best.metrics["macs"], self.space.macs(best.config))
    self.assertEqual(best.metrics["params"], self.space.params(best.config))
    self.assertIn("int8_size_bytes", best.metrics)
    self.assertAllClose(best.predicted_top1, self.accuracy_fn(
        self.metrics.codec.encode([best.config]))[0])
    self.assertEqual(result.predictor_calls, 40 * 31)
    self.assertEqual(len(result.history), 30)
    self.assertTrue(np.all(np.diff(result.history) >= 0))

  def test_multiple_constraints_all_hold(self):
    constraints = [Constraint.parse(t) for t in (
        "macs:250e6", "params:4.5e6", "int8_size_bytes:4.6e6", "latency_ms:fake:7")]
    best = evolutionary_search(self.metrics, self.accuracy_fn, constraints, _FAST).best
    self.assertLessEqual(self.space.macs(best.config), 250e6)
    self.assertLessEqual(self.space.params(best.config), 4.5e6)
    self.assertLessEqual(best.metrics["int8_size_bytes"], 4.6e6)
    self.assertLessEqual(best.metrics["latency_ms:fake"], 7.0)
    self.assertAllClose(best.metrics["latency_ms:fake"], self.space.macs(best.config) / 3e7)

  def test_tight_budget_still_finds_a_subnet(self):
    smallest = self.space.macs(self.space.min_config())
    best = evolutionary_search(self.metrics, self.accuracy_fn,
                               [Constraint("macs", smallest * 1.02)], _FAST).best
    self.assertLessEqual(best.metrics["macs"], smallest * 1.02)

  def test_infeasible_raises_clear_error(self):
    with self.assertRaisesRegex(InfeasibleConstraintsError, "smallest achievable"):
      evolutionary_search(self.metrics, self.accuracy_fn,
                          [Constraint.parse("macs:1e6"), Constraint.parse("params:1e9")], _FAST)

  def test_deterministic_for_a_seed(self):
    constraints = [Constraint.parse("macs:200e6")]
    a = evolutionary_search(self.metrics, self.accuracy_fn, constraints, _FAST)
    b = evolutionary_search(self.metrics, self.accuracy_fn, constraints, _FAST)
    c = evolutionary_search(self.metrics, self.accuracy_fn, constraints, _FAST.replace(seed=1))
    self.assertEqual(a, b)
    self.assertNotEqual(a.history, c.history)

  def test_evolution_beats_random_with_same_calls(self):
    constraints = [Constraint.parse("macs:200e6")]
    evo = evolutionary_search(self.metrics, self.accuracy_fn, constraints, _FAST)
    rand = random_search(self.metrics, self.accuracy_fn, constraints, evo.predictor_calls)
    self.assertEqual(rand.predictor_calls, evo.predictor_calls)
    self.assertLessEqual(rand.best.metrics["macs"], 200e6)
    self.assertGreater(evo.best.predicted_top1, rand.best.predicted_top1)


if __name__ == "__main__":
  tf.test.main()
