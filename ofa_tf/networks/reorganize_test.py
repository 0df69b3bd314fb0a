"""Tests of the channel importance re-organization."""

import numpy as np
import tensorflow as tf

from ofa_tf import search_space as ss
from ofa_tf.networks import build_supernet
from ofa_tf.networks.supernet_test_util import randomize
from ofa_tf.networks.reorganize import band_permutation, reorganize_channels


class BandPermutationTest(tf.test.TestCase):

  def test_sorts_descending_within_bands_only(self):
    importance = np.array([1.0, 5.0, 3.0, 9.0, 0.0, 2.0, 7.0])
    perm = band_permutation(importance, [3, 7])
    self.assertAllEqual(perm, [1, 2, 0, 3, 6, 5, 4])
    self.assertAllEqual(band_permutation(importance, [7]), np.argsort(-importance))


class ReorganizeTest(tf.test.TestCase):

  def test_keeps_trained_subnets_and_sorts_importance(self):
    self._check_space("ofa_mbv3_tiny", (4, 6))

  def test_fused_blocks_keep_trained_subnets_and_sort_importance(self):
    self._check_space("ofa_edgetpu_tiny", (6, 8))

  def _check_space(self, name, trained):
    space = ss.get_space(name).replace(dropout_rate=0.0)
    supernet = build_supernet(space)
    randomize(supernet, seed=4)
    x = tf.random.stateless_normal((2, 32, 32, 3), seed=(5, 6))
    largest = space.max_config(32)
    smaller = largest.replace(e=(trained[0],) * space.num_blocks)
    before = {c: supernet(x, arch=supernet.arch_inputs(c)) for c in (largest, smaller)}
    batch_stats_before = supernet(x, training=True, arch=supernet.arch_inputs(largest),
                                  bn_momentum=tf.constant(1.0))

    reorganize_channels(supernet, trained_expand_ratios=trained)

    for config, want in before.items():
      self.assertAllClose(supernet(x, arch=supernet.arch_inputs(config)), want, atol=1e-4)
    self.assertAllClose(
        supernet(x, training=True, arch=supernet.arch_inputs(largest),
                 bn_momentum=tf.constant(1.0)), batch_stats_before, atol=1e-4)
    for b, block in enumerate(supernet.blocks):
      edge = space.mid_channels(space.block_input_channels(b), trained[0])
      importance = np.abs(block.project_kernel.numpy()).sum(axis=(0, 1, 3))
      for band in (importance[:edge], importance[edge:]):
        self.assertTrue(np.all(np.diff(band) <= 0), f"block {b} not sorted within bands")
      if block.max_se_channels:
        se_edge = space.se_channels(edge)
        se_importance = np.abs(block.se_expand_kernel.numpy()).sum(axis=(0, 1, 3))
        self.assertTrue(np.all(np.diff(se_importance[:se_edge]) <= 0))
        self.assertTrue(np.all(np.diff(se_importance[se_edge:]) <= 0))

  def test_rejects_ratios_outside_the_space(self):
    supernet = build_supernet(ss.get_space("ofa_mbv3_tiny"))
    with self.assertRaisesRegex(ValueError, "trained_expand_ratios"):
      reorganize_channels(supernet, (5,))


if __name__ == "__main__":
  tf.test.main()
