"""Tests of the EdgeTPU cost model: features against the counters, the formula, the fit, and
its use as a search constraint."""

import numpy as np
import tensorflow as tf

from ofa_tf.search.constraints import Constraint, Metrics
from ofa_tf.search.edgetpu_cost import EdgeTpuCoefficients, EdgeTpuCostModel
from ofa_tf.search.efficiency import EfficiencyTables
from ofa_tf.search.genes import GeneCodec
from ofa_tf.search_space import block_depthwise_macs, get_space


def _configs_and_genes(space, n, seed):
  codec = GeneCodec(space)
  genes = codec.sample(np.random.default_rng(seed), n)
  return codec.decode(genes), genes


class EdgeTpuCostModelTest(tf.test.TestCase):

  def test_features_equal_the_counters_of_each_subnet(self):
    space = get_space("ofa_edgetpu_tiny")
    configs, genes = _configs_and_genes(space, 50, 0)
    coefficients = EdgeTpuCoefficients(onchip_parameter_bytes=200_000)  # Some spill over.
    features = EdgeTpuCostModel(EfficiencyTables(space), coefficients).features(genes)
    for config, row in zip(configs, features):
      spec = space.network_spec(config)
      depthwise = sum(block_depthwise_macs(b) for b in spec.blocks)
      offchip = max(0, space.params(config) - 200_000)
      self.assertAllEqual(row, [1, space.macs(config) - depthwise, depthwise, offchip])
    self.assertGreater(features[:, 3].max(), 0)
    self.assertEqual(features[:, 3].min(), 0)

  def test_depthwise_macs_of_one_block_by_hand(self):
    space = get_space("ofa_edgetpu_tiny")
    spec = space.network_spec(space.max_config(32))
    mbconv = [b for b in spec.blocks[1:] if b.kind == "mbconv"][0]  # 24 -> 32, k 5, stride 2.
    self.assertEqual((mbconv.in_channels, mbconv.mid_channels, mbconv.kernel_size,
                      mbconv.output_size), (24, 192, 5, 4))
    self.assertEqual(block_depthwise_macs(mbconv), 25 * 192 * 4 * 4)
    self.assertEqual(block_depthwise_macs(spec.blocks[1]), 0)  # Fused.

  def test_milliseconds_follow_the_documented_formula(self):
    space = get_space("ofa_edgetpu")
    c = EdgeTpuCoefficients()
    model = EdgeTpuCostModel(EfficiencyTables(space), c)
    genes = GeneCodec(space).max_genes()
    dense, depthwise = model.features(genes)[0, 1:3]
    want = c.fixed_ms + 1e3 * (dense / c.dense_macs_per_s + depthwise / c.depthwise_macs_per_s)
    self.assertAllClose(model.milliseconds(genes), [want])
    # Every full-size subnet fits the on-chip parameter cache (largest 5.7M parameters).
    self.assertEqual(model.features(genes)[0, 3], 0)

  def test_fit_recovers_coefficients_from_times(self):
    space = get_space("ofa_edgetpu_tiny")
    _, genes = _configs_and_genes(space, 60, 1)
    truth = EdgeTpuCoefficients(fixed_ms=0.3, dense_macs_per_s=200e9, depthwise_macs_per_s=10e9,
                                host_bytes_per_s=100e6, onchip_parameter_bytes=200_000)
    measured = EdgeTpuCostModel(EfficiencyTables(space), truth).milliseconds(genes)
    start = EdgeTpuCoefficients(onchip_parameter_bytes=200_000)
    fitted = EdgeTpuCostModel(EfficiencyTables(space), start).fit(genes, measured).coefficients
    self.assertAllClose([fitted.fixed_ms, fitted.dense_macs_per_s, fitted.depthwise_macs_per_s,
                         fitted.host_bytes_per_s], [0.3, 200e9, 10e9, 100e6], rtol=1e-4)
    with self.assertRaisesRegex(ValueError, ">= 4 subnets"):
      EdgeTpuCostModel(EfficiencyTables(space)).fit(genes[:3], measured[:3])

  def test_bad_coefficients_are_named(self):
    with self.assertRaisesRegex(ValueError, "depthwise_macs_per_s"):
      EdgeTpuCoefficients(depthwise_macs_per_s=0)

  def test_search_constraint(self):
    space = get_space("ofa_edgetpu_tiny")
    self.assertEqual(Constraint.parse("edgetpu_model_ms:3"), Constraint("edgetpu_model_ms", 3))
    metrics = Metrics(space)
    _, genes = _configs_and_genes(space, 20, 2)
    values = metrics.evaluate("edgetpu_model_ms", genes)
    self.assertAllClose(values, EdgeTpuCostModel(metrics.tables).milliseconds(genes))
    budget = float(np.median(values))
    ok, _ = metrics.feasible([Constraint("edgetpu_model_ms", budget)], genes)
    self.assertAllEqual(ok, values <= budget)


if __name__ == "__main__":
  tf.test.main()
