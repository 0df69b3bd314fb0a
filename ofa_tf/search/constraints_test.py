"""Tests of constraint parsing, batched metrics and the infeasibility error."""

import numpy as np
import tensorflow as tf

from ofa_tf.search.constraints import Constraint, InfeasibleConstraintsError, Metrics
from ofa_tf.search_space import get_space


def fake_latency_factory(profile):
  """A latency 'predictor': 1 ms per 10M MACs, x2 on the 'slow' profile."""
  space = get_space("ofa_mbv3_tiny")
  scale = 2.0 if profile == "slow" else 1.0
  return lambda configs: np.array([space.macs(c) / 1e7 * scale for c in configs])


class ConstraintTest(tf.test.TestCase):

  def test_parse(self):
    self.assertEqual(Constraint.parse("macs:300e6"), Constraint("macs", 3e8))
    self.assertEqual(Constraint.parse("params:5e6"), Constraint("params", 5e6))
    self.assertEqual(Constraint.parse("int8_size_bytes:2e6"), Constraint("int8_size_bytes", 2e6))
    c = Constraint.parse("latency_ms:cpu_xnnpack_1t:5")
    self.assertEqual(c, Constraint("latency_ms", 5.0, "cpu_xnnpack_1t"))
    self.assertEqual(c.key, "latency_ms:cpu_xnnpack_1t")
    self.assertEqual(str(c), "latency_ms:cpu_xnnpack_1t:5")

  def test_parse_errors(self):
    for text, pattern in (("flops:3", "cannot parse"), ("macs", "cannot parse"),
                          ("latency_ms:5", "cannot parse"), ("macs:abc", "not a number"),
                          ("macs:-1", "positive")):
      with self.assertRaisesRegex(ValueError, pattern):
        Constraint.parse(text)

  def test_metrics_and_feasibility(self):
    space = get_space("ofa_mbv3_tiny")
    metrics = Metrics(space, fake_latency_factory)
    genes = metrics.codec.sample(np.random.default_rng(0), 50)
    configs = metrics.codec.decode(genes)
    macs = np.array([space.macs(c) for c in configs], np.float64)
    self.assertAllClose(metrics.evaluate("latency_ms:slow", genes), macs / 5e6)
    budget = float(np.median(macs))
    ok, values = metrics.feasible([Constraint("macs", budget),
                                   Constraint("latency_ms", 1e9, "fast")], genes)
    self.assertAllEqual(ok, macs <= budget)
    self.assertAllEqual(values["macs"], macs)

  def test_best_of_profiles(self):
    space = get_space("ofa_mbv3_tiny")
    calls = []

    def factory(profile):
      calls.append(profile)
      return fake_latency_factory(profile)

    metrics = Metrics(space, factory)
    c = Constraint.parse("latency_ms:slow|fast:3")
    self.assertEqual((c.profile, c.profiles), ("slow|fast", ("slow", "fast")))
    self.assertEqual(str(c), "latency_ms:slow|fast:3")
    genes = metrics.codec.sample(np.random.default_rng(1), 20)
    fast = metrics.evaluate("latency_ms:fast", genes)
    self.assertAllClose(metrics.evaluate(c.key, genes), fast)  # min(2x, 1x) = 1x
    self.assertAllClose(metrics.evaluate("latency_ms:fast|slow", genes), fast)
    # Subnets over the budget on "slow" but within it on "fast" stay feasible.
    ok, _ = metrics.feasible([c.with_budget(float(np.median(fast)))], genes)
    self.assertAllEqual(ok, fast <= np.median(fast))
    self.assertEqual(sorted(set(calls)), ["fast", "slow"])  # Each profile's predictor once.
    self.assertLen(calls, 2)

  def test_best_of_profiles_errors(self):
    for text in ("latency_ms:a||b:3", "latency_ms:a|a:3", "latency_ms:|b:3"):
      with self.assertRaisesRegex(ValueError, "each non-empty and given once"):
        Constraint.parse(text)

  def test_latency_without_factory(self):
    metrics = Metrics(get_space("ofa_mbv3_tiny"))
    with self.assertRaisesRegex(ValueError, "latency_factory"):
      metrics.evaluate("latency_ms:cpu", metrics.codec.min_genes())

  def test_infeasible_names_smallest_values(self):
    space = get_space("ofa_mbv3_w1.0")
    metrics = Metrics(space)
    smallest_macs = space.macs(space.min_config())
    smallest_params = space.params(space.min_config())
    constraints = [Constraint("macs", smallest_macs - 1), Constraint("params", 1e9)]
    with self.assertRaises(InfeasibleConstraintsError) as ctx:
      metrics.check_feasible(constraints)
    message = str(ctx.exception)
    self.assertIn(f"macs <= {smallest_macs - 1:g} (smallest achievable {smallest_macs:g})",
                  message)
    self.assertIn(f"params = {smallest_params:g}", message)
    self.assertIn("r=128", message)
    self.assertEqual(ctx.exception.smallest, {"macs": smallest_macs, "params": smallest_params})
    self.assertEqual(metrics.check_feasible([Constraint("macs", smallest_macs)]),
                     {"macs": smallest_macs})


if __name__ == "__main__":
  tf.test.main()
