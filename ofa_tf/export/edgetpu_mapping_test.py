"""Tests of the EdgeTPU mapping check: tiny OFA-EdgeTPU subnets map fully; an h-swish kept as
HARD_SWISH (a known non-mapping op, google-coral/edgetpu#272) is caught."""

import dataclasses

import numpy as np
import tensorflow as tf

from ofa_tf.export import edgetpu
from ofa_tf.export import edgetpu_mapping
from ofa_tf.export import recipes
from ofa_tf.search_space import get_space


class EdgeTpuMappingTest(tf.test.TestCase):

  def test_three_tiny_subnets_map_fully_in_one_subgraph(self):
    space = get_space("ofa_edgetpu_tiny")
    lines = []
    results = edgetpu_mapping.map_space(space, 3, seed=0, log=lines.append)
    self.assertEqual([r.config for r in results[:2]], [space.min_config(), space.max_config()])
    self.assertLen(lines, 3)
    for result in results:
      ops = {row.op for row in result.report.table}
      self.assertContainsSubset({"CONV_2D", "DEPTHWISE_CONV_2D", "ADD", "MEAN",
                                 "FULLY_CONNECTED"}, ops)
      self.assertNotIn("HARD_SWISH", ops)
      self.assertEqual({row.status for row in result.report.table}, {edgetpu.MAPPED})
      self.assertEqual(result.edgetpu_subgraphs, 1)
      self.assertEqual(result.macs, space.macs(result.config))
    self.assertEqual(edgetpu_mapping.summary_line(results),
                     "3/3 subnets fully mapped, one EdgeTPU subgraph each")

  def test_a_subnet_that_does_not_map_is_reported(self):
    space = get_space("ofa_mbv3_tiny")
    keep = dataclasses.replace(recipes.get_recipe("edgetpu_int8"), hswish_mode="keep",
                               require_edgetpu_mapping=False)
    result = edgetpu_mapping.map_subnet(space, space.min_config(), np.random.default_rng(0),
                                        recipe=keep)
    self.assertFalse(result.fully_mapped)
    self.assertIn("HARD_SWISH", result.report.first_cpu_op)
    self.assertIn("CPU from op", result.format())
    self.assertEqual(edgetpu_mapping.summary_line([result]),
                     "0/1 subnets fully mapped, one EdgeTPU subgraph each")

  def test_sampling_is_distinct_and_bounded(self):
    space = get_space("ofa_edgetpu_tiny")
    configs = edgetpu_mapping.sample_subnets(space, 30, np.random.default_rng(1))
    self.assertLen({space.canonical(c) for c in configs}, 30)
    tiny = space.replace(depths=(2,), expand_ratios=(4,), kernel_sizes=(3,), resolutions=(16,))
    with self.assertRaisesRegex(ValueError, "distinct subnets"):
      edgetpu_mapping.sample_subnets(tiny, 2, np.random.default_rng(1))
    with self.assertRaisesRegex(ValueError, "num_subnets"):
      edgetpu_mapping.sample_subnets(space, 0, np.random.default_rng(1))


if __name__ == "__main__":
  tf.test.main()
