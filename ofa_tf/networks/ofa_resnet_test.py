"""Tests of the OFA-ResNet supernet beyond the family conformance checks: its arch encoding
and the order channel re-organization leaves."""

import numpy as np
import tensorflow as tf

from ofa_tf import search_space as ss
from ofa_tf.networks import build_supernet, encode_arch
from ofa_tf.networks.supernet_test_util import randomize


class OFAResNetTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.space = ss.get_space("ofa_resnet50_tiny")

  def test_arch_matches_the_network_spec(self):
    config = self.space.sample(np.random.default_rng(3))
    arch = encode_arch(self.space, config)
    spec = self.space.network_spec(config)
    self.assertEqual(bool(arch["stem_residual"]), len(spec.stem) == 3)
    self.assertEqual(list(np.nonzero(arch["active"])[0]), [b.index for b in spec.blocks])
    for block in spec.blocks:
      self.assertEqual(arch["mid_channels"][block.index], block.mid_channels)
      g_in, g_out = self.space.block_groups(block.index)
      self.assertEqual((arch["widths"][g_in], arch["widths"][g_out]),
                       (block.in_channels, block.out_channels))

  def test_reorganization_sorts_by_importance_within_bands(self):
    supernet = build_supernet(self.space)
    randomize(supernet, seed=2)
    supernet.reorganize({"e": (0.35,), "w": (2,)})  # One band per group: a full sort.
    for block in supernet.blocks:
      importance = np.abs(block.conv3_kernel.numpy()).sum(axis=(0, 1, 3))
      self.assertAllEqual(np.argsort(-importance, kind="stable"), np.arange(len(importance)))
    rows = np.abs(supernet.classifier_kernel.numpy()).sum(axis=1)
    last_stage = [b for b in supernet.blocks if b.out_channels == rows.shape[0]]
    self.assertGreater(len(last_stage), 1)
    importance = rows + sum(np.abs(b.conv1_kernel.numpy()).sum(axis=(0, 1, 3))
                            for b in last_stage[1:])
    self.assertTrue(np.all(np.diff(importance) <= 1e-6), importance)


if __name__ == "__main__":
  tf.test.main()
