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

  def test_resnet50_layers(self):
    space = get_space("ofa_resnet50")
    spec = space.network_spec(space.max_config(224))
    layers = nl.network_layers(spec)
    self.assertEqual([l.kind for l in layers[:5]], ["stem1", "stem2", "stem3", "stem_pool",
                                                    "block"])
    self.assertEqual([l.kind for l in layers[-2:]], ["pool", "logits"])
    self.assertLen(layers, 4 + 18 + 2)
    keys = [l.key for l in layers]
    self.assertEqual(keys[0], "StemConv1-input:224x224x3-output:112x112x32")
    self.assertEqual(keys[3], "MaxPool-input:112x112x64-output:56x56x64")
    self.assertEqual(keys[4], "bottleneck-input:56x56x64-output:56x56x256-mid:88-kernel:3-"
                              "stride:1-downsample:1")
    self.assertEqual(keys[9], "bottleneck-input:28x28x512-output:28x28x512-mid:176-kernel:3-"
                              "stride:1-downsample:0")
    self.assertEqual(lut.parse_key(keys[4])["mid"], 88)
    # Mixed widths (adjacent groups at different multipliers) are in the space's layers.
    config = space.max_config(128).replace(w=(0, 2, 0, 1, 2, 0), d=(0, 0, 1, 0, 2))
    table = {l.key for l in nl.space_layers(space, [128])[128]}
    self.assertContainsSubset({l.key for l in nl.network_layers(space.network_spec(config))},
                              table)


if __name__ == "__main__":
  tf.test.main()
