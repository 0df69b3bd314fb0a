"""Tests of the one-hot architecture encoding against hand-written vectors."""

import numpy as np
import tensorflow as tf

from ofa_tf.search.encoding import ArchEncoder
from ofa_tf.search_space import SubnetConfig, get_space

# Tiny space: 3 stages x 4 blocks, k in (3, 5, 7), e in (3, 4, 6), r in (24, 28, 32).
# Depths (2, 3, 4): blocks 2, 3 and 7 are inactive and encode as zeros.
_CONFIG = SubnetConfig(ks=(3, 5, 7, 7, 5, 3, 7, 3, 3, 5, 7, 5),
                       e=(4, 6, 3, 3, 3, 6, 4, 6, 6, 4, 3, 3), d=(2, 3, 4), r=28)
_EXPECTED = (
    # Resolution one-hot (24, 28, 32), first as in the reference encoder.
    [0, 1, 0],
    # Kernel one-hots, block 0..11.
    [1, 0, 0], [0, 1, 0], [0, 0, 0], [0, 0, 0],
    [0, 1, 0], [1, 0, 0], [0, 0, 1], [0, 0, 0],
    [1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 1, 0],
    # Expand one-hots, block 0..11.
    [0, 1, 0], [0, 0, 1], [0, 0, 0], [0, 0, 0],
    [1, 0, 0], [0, 0, 1], [0, 1, 0], [0, 0, 0],
    [0, 0, 1], [0, 1, 0], [1, 0, 0], [1, 0, 0])


class ArchEncoderTest(tf.test.TestCase):

  def test_hand_written_example(self):
    encoder = ArchEncoder(get_space("ofa_mbv3_tiny"))
    expected = np.array([v for group in _EXPECTED for v in group], np.float32)
    self.assertEqual(encoder.dim, 75)
    features = encoder.encode([_CONFIG])
    self.assertEqual(features.dtype, np.float32)
    self.assertAllEqual(features, expected[None])

  def test_mobilenet_v3_dims_and_counts(self):
    space = get_space("ofa_mbv3_w1.0")
    encoder = ArchEncoder(space)
    self.assertEqual(encoder.dim, 25 + 120)
    rng = np.random.default_rng(0)
    configs = [space.sample(rng) for _ in range(50)]
    features = encoder.encode(configs)
    for config, row in zip(configs, features):
      active = len(space.active_blocks(config))
      self.assertEqual(row[25:85].sum(), active)    # One kernel bit per active block.
      self.assertEqual(row[85:145].sum(), active)   # One expand bit per active block.
      self.assertEqual(row[space.resolutions.index(config.r)], 1.0)
      self.assertEqual(row[:25].sum(), 1.0)

  def test_batched_equals_one_at_a_time_and_canonical_invariant(self):
    space = get_space("ofa_mbv3_w1.0")
    encoder = ArchEncoder(space)
    rng = np.random.default_rng(1)
    configs = [space.sample(rng) for _ in range(20)]
    batched = encoder.encode(configs)
    single = np.concatenate([encoder.encode([c]) for c in configs])
    self.assertAllEqual(batched, single)
    canonical = encoder.encode([space.canonical(c) for c in configs])
    self.assertAllEqual(batched, canonical)


if __name__ == "__main__":
  tf.test.main()
