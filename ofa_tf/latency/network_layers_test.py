"""Tests of the layer enumeration against the released Note10 tables."""

import os

import numpy as np
import tensorflow as tf

from ofa_tf.latency import lut
from ofa_tf.latency import network_layers as nl
from ofa_tf.search_space import get_space

NOTE10 = "/work/shared/reference/ofa_note10_lut"
_LOCAL = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "reference",
                      "ofa_note10_lut")
if os.path.isdir(_LOCAL):
  NOTE10 = _LOCAL


class SpaceLayersTest(tf.test.TestCase):

  def test_w12_layers_are_exactly_the_note10_keys(self):
    table = lut.load_note10_tables(NOTE10)
    layers = nl.space_layers(get_space("ofa_mbv3_w1.2"), table.resolutions)
    for r in table.resolutions:
      self.assertEqual({l.key for l in layers[r]}, set(table.entries[r]), msg=f"r={r}")

  def test_w10_counts(self):
    layers = nl.space_layers(get_space("ofa_mbv3_w1.0"), [128, 224])
    self.assertLen(layers[224], 96)
    kinds = [l.kind for l in layers[128]]
    self.assertEqual(kinds.count("block"), 91)
    self.assertIn("Conv-input:128x128x3-output:64x64x16", {l.key for l in layers[128]})

  def test_network_layers_of_a_subnet(self):
    space = get_space("ofa_mbv3_w1.0")
    config = space.sample(np.random.default_rng(0))
    spec = space.network_spec(config)
    layers = nl.network_layers(spec)
    self.assertLen(layers, len(spec.blocks) + 5)
    self.assertEqual([l.kind for l in layers[-4:]],
                     ["final_expand", "pool", "feature_mix", "logits"])
    all_keys = {l.key for l in nl.space_layers(space, [config.r])[config.r]}
    self.assertContainsSubset({l.key for l in layers}, all_keys)


if __name__ == "__main__":
  tf.test.main()
