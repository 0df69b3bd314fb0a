"""Tests of the additive cost terms: entries, impossible combinations, tables = counters."""

import numpy as np
import tensorflow as tf

from ofa_tf import search_space as ss


class CostTermsTest(tf.test.TestCase):

  def test_resnet_terms_tabulate_the_counters(self):
    space = ss.get_space("ofa_resnet50_tiny").replace(resolutions=(24,))
    terms = ss.CostTerms(space)
    self.assertEqual(terms.num_combos, 27)  # e x input width x output width.
    # A block inside a stage reads and writes one width group: mixed widths are impossible.
    inner = space.block_position().index(1)
    self.assertIsNone(terms.block_combos[inner][1])  # e 0.2, w (0, 1).
    self.assertIsNotNone(terms.block_combos[0][1])  # The first block reads the stem's group.
    self.assertLen(terms.base_combos, 2 * 3 * 3 * 3)  # d[0] x w[0] x w[1] x last width.
    blocks, base = terms.tabulate(
        24, lambda b: (ss.block_macs(b),),
        lambda spec, bl: (ss.count_macs(spec) - sum(ss.block_macs(b) for b in bl),), 1)
    configs = [space.sample(np.random.default_rng(i)) for i in range(30)]
    block, base_index = terms.indices(terms.config_choices(configs))
    for n, config in enumerate(configs):
      active = list(space.active_blocks(config))
      total = base[base_index[n], 0] + sum(blocks[b, block[n, b], 0] for b in active)
      self.assertEqual(total, space.macs(config), str(config))

  def test_mbconv_terms_are_kernel_by_expand(self):
    space = ss.get_space("ofa_mbv3_tiny")
    terms = ss.CostTerms(space)
    self.assertEqual(terms.num_combos, len(space.kernel_sizes) * len(space.expand_ratios))
    self.assertEqual(terms.base_combos, [{}])


if __name__ == "__main__":
  tf.test.main()
