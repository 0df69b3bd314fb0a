"""Tests of the encoding variants against the released encoders' rules written out per config
(../shared/reference/README.md), and of their refusals."""

import numpy as np
import tensorflow as tf

from ofa_tf.search import encoding_layouts as layouts
from ofa_tf.search.encoding import ArchEncoder
from ofa_tf.search.search_test_util import resnet50_space
from ofa_tf.search_space import get_space


def mbv3_reference_features(config):
  """The released MBv3 rule: 60 kernel one-hots, 60 expand one-hots, 8 resolution one-hots at
  (r - 112) // 16; blocks beyond their stage's depth all zero."""
  x = np.zeros(128, np.float32)
  for b in range(20):
    if b % 4 < config.d[b // 4]:
      x[3 * b + (3, 5, 7).index(config.ks[b])] = 1
      x[60 + 3 * b + (3, 4, 6).index(config.e[b])] = 1
  x[120 + (config.r - 112) // 16] = 1
  return x


def resnet50_reference_features(config):
  """The released ResNet50 rule: 8 resolution one-hots, 2 stem one-hots (1 if d[0] > 0),
  6 x 3 width one-hots, 18 x 3 expand one-hots; stage s's blocks start at the sum of
  (base + 2) of the stages before it, blocks beyond base + d all zero."""
  x = np.zeros(82, np.float32)
  x[layouts.RESNET50_RESOLUTIONS.index(config.r)] = 1
  x[8 + int(config.d[0] > 0)] = 1
  for i, w in enumerate(config.w):
    x[10 + 3 * i + w] = 1
  start = 0
  for s, base in enumerate((2, 2, 4, 2)):
    for j in range(start, start + base + config.d[s + 1]):
      x[28 + 3 * j + (0.2, 0.25, 0.35).index(config.e[j])] = 1
    start += base + 2
  return x


class ReleasedLayoutsTest(tf.test.TestCase):

  def _check(self, space, variant, reference, dim):
    encoder = ArchEncoder(space, variant)
    self.assertEqual(encoder.dim, dim)
    rng = np.random.default_rng(0)
    configs = [space.sample(rng) for _ in range(60)]
    configs += [space.min_config(), space.max_config()]
    want = np.stack([reference(c) for c in configs])
    self.assertAllEqual(encoder.encode(configs), want)

  def test_mbv3_w12_matches_the_released_rule(self):
    self._check(get_space("ofa_mbv3_w1.2"), "released_mbv3", mbv3_reference_features, 128)

  def test_resnet50_matches_the_released_rule(self):
    space = resnet50_space().replace(resolutions=layouts.RESNET50_RESOLUTIONS)
    self._check(space, "released_resnet50", resnet50_reference_features, 82)

  def test_ofa_tf_layout_is_the_generic_one(self):
    space = get_space("ofa_mbv3_w1.0")
    layout = layouts.layout_for(space)
    self.assertEqual(layout.dim, 145)
    self.assertEqual(layout.offsets(), {"r": 0, "ks": 25, "e": 85})

  def test_refusals(self):
    with self.assertRaisesRegex(ValueError, "unknown encoding variant 'nope'.*released_mbv3"):
      layouts.layout_for(get_space("ofa_mbv3_w1.2"), "nope")
    with self.assertRaisesRegex(ValueError, "released_mbv3 needs 20 entries of 'ks'; space "
                                "ofa_proxyless_w1.3 has 21"):
      ArchEncoder(get_space("ofa_proxyless_w1.3"), "released_mbv3")
    with self.assertRaisesRegex(ValueError, "released_resnet50 needs an elastic dimension 'w'"):
      ArchEncoder(get_space("ofa_mbv3_w1.2"), "released_resnet50")
    with self.assertRaisesRegex(ValueError, r"cannot encode resolutions \[208\]"):
      ArchEncoder(resnet50_space().replace(resolutions=(192, 208)), "released_resnet50")
    with self.assertRaisesRegex(ValueError, r"cannot encode resolutions \[240\]"):
      ArchEncoder(get_space("ofa_mbv3_w1.2").replace(resolutions=(224, 240)), "released_mbv3")


if __name__ == "__main__":
  tf.test.main()
