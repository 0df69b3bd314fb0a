"""Tests of the released specialized-net reader against the published OFA table."""

import copy
import json
import os

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from ofa_tf import search_space as ss
from ofa_tf.interop import zoo

ZOO = "../shared/reference/ofa_zoo"

# The one published row our count does not reproduce. The released net.config of
# note10_lat@8ms_top1@71.4_finetune@25 (run.config image size 160) counts 75.80 M MACs; the
# published table (index.csv, and the README of mit-han-lab/once-for-all) says 79 M. Evidence
# that the table, not the counter, is off:
# - the same counter reproduces the other 49 rows (MACs within 0.55 M) and this row's params
#   (3.761 M vs 3.8 M);
# - the config holds nothing we ignore: every block's `mid_channels` equals
#   make_divisible(round(in * expand_ratio), 8), all legacy fields are read, and it is a plain
#   subnet of ofa_mbv3_w1.0 (d = 2 2 3 2 2, one 5x5 kernel);
# - no input size explains 79 M: 152 px -> 72.7, 156 -> 74.7, 157..160 -> 75.5..75.8,
#   161..164 -> 88.9..89.1 M (the stride-2 ceil makes the count jump past 79);
# - 79 M is exactly the published figure of pixel2_lat@25ms (79.27 M by our count), which
#   suggests a copied cell; no issue of the reference repository discusses it.
PUBLISHED_MACS_EXCEPTIONS = {"ofa-note10-08": 75.80}

# Nets whose architecture is an OFA-MobileNetV3 subnet but whose image size lies outside the
# space's 128..224 px (they were evaluated at a larger resolution).
OUTSIDE_RESOLUTIONS = {"ofa-595M": 236, "ofa-note10-64": 260, "ofa-pixel1-143": 240,
                       "ofa-pixel1-132": 228}


def _rows():
  path = os.path.join(ZOO, "index.csv")
  if not os.path.exists(path):
    return None
  return [r for r in zoo.read_index(path) if r.directory]


def _legacy_to_new_spelling(config):
  """Rewrites a released config with the newer `ResidualBlock`/`MBConvLayer` names."""
  config = copy.deepcopy(config)
  for block in config["blocks"]:
    block["name"] = "ResidualBlock"
    conv = block.pop("mobile_inverted_conv")
    conv["name"] = "MBConvLayer"
    conv["groups"] = None
    block["conv"] = conv
  return config


class ZooTableTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.rows = _rows()
    if self.rows is None:
      self.skipTest("../shared/reference not beside the checkout")

  def test_all_fifty_match_the_published_params_and_macs(self):
    self.assertLen(self.rows, 50)
    families = {}
    for row in self.rows:
      net = zoo.load_zoo_net(os.path.join(ZOO, row.directory))
      families[net.family] = families.get(net.family, 0) + 1
      self.assertEqual(net.resolution, row.image_size, row.short_name)
      params_m = zoo.count_params(net) / 1e6
      macs_m = zoo.count_macs(net) / 1e6
      self.assertAllClose(params_m, row.params_m, atol=0.1, msg=row.short_name)
      if row.short_name in PUBLISHED_MACS_EXCEPTIONS:
        self.assertAllClose(macs_m, PUBLISHED_MACS_EXCEPTIONS[row.short_name], atol=0.01)
        self.assertGreater(abs(macs_m - row.macs_m), 1.0)  # Still off: keep the note honest.
      else:
        self.assertAllClose(macs_m, row.macs_m, atol=1.0, msg=row.short_name)
    self.assertEqual(families, {zoo.MOBILENET_V3: 34, zoo.PROXYLESS: 16})

  def test_every_net_is_a_subnet_of_its_family_supernet(self):
    spaces = {}
    for row in self.rows:
      net = zoo.load_zoo_net(os.path.join(ZOO, row.directory))
      if row.short_name in OUTSIDE_RESOLUTIONS:
        with self.assertRaisesRegex(ValueError, "is not a resolution of"):
          zoo.to_subnet_config(net)
        config = zoo.to_subnet_config(net, allow_any_resolution=True)
        self.assertEqual(config.r, OUTSIDE_RESOLUTIONS[row.short_name])
      else:
        config = zoo.to_subnet_config(net)
      space = ss.get_space(config.space)
      spaces[config.space] = spaces.get(config.space, 0) + 1
      # The supernet's own description of that subnet is the zoo net, block for block.
      spec = space.network_spec(config.replace(r=space.resolutions[-1]))
      self.assertEqual([zoo._structure(b) for b in spec.blocks],
                       [zoo._structure(b) for b in net.spec.blocks], row.short_name)
      if config.r in space.resolutions:
        self.assertEqual(space.macs(config), zoo.count_macs(net), row.short_name)
        self.assertEqual(space.params(config), zoo.count_params(net), row.short_name)
    # All 16 ProxylessNAS nets (cpu, 1080ti, v100, tx2) are subnets of the w1.3 supernet.
    self.assertEqual(spaces, {"ofa_mbv3_w1.0": 24, "ofa_mbv3_w1.2": 10, "ofa_proxyless_w1.3": 16})

  def test_a_net_of_no_registered_width_is_refused(self):
    net = zoo.parse_net_config(ZooParsingTest()._config(), 32)
    with self.assertRaisesRegex(ValueError, "match no registered proxyless space"):
      zoo.to_subnet_config(net)

  def test_new_spelling_parses_to_the_same_spec(self):
    for directory in ("note10_lat-8ms_top1-71.4_finetune-25", "cpu_lat-10ms_top1-71.1_finetune-25"):
      with open(os.path.join(ZOO, directory, "net.config")) as f:
        legacy = json.load(f)
      a = zoo.parse_net_config(legacy, 160)
      b = zoo.parse_net_config(_legacy_to_new_spelling(legacy), 160)
      self.assertEqual(a.spec, b.spec)

  def test_built_models_count_what_the_counter_counts(self):
    # One net per kind (w1.0, w1.2, ProxylessNAS); all 50 in the slow test below.
    for directory in ("note10_lat-8ms_top1-71.4_finetune-25", "note10_lat-30ms_top1-78.4_finetune-75",
                      "cpu_lat-10ms_top1-71.1_finetune-25"):
      self._check_built_model(directory)

  @pytest.mark.slow
  def test_all_fifty_built_models_count_what_the_counter_counts(self):
    for row in self.rows:  # About 5 s per model on 2 cores.
      self._check_built_model(row.directory)

  def _check_built_model(self, directory):
    net = zoo.load_zoo_net(os.path.join(ZOO, directory))
    model = zoo.build_model(net)
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    self.assertEqual(trainable, zoo.count_params(net), directory)
    self.assertEqual(model.count_params(), zoo.count_params(net, include_bn_statistics=True))
    self.assertEqual(model.output_shape, (None, 1000))
    tf_keras.backend.clear_session()


class ZooParsingTest(tf.test.TestCase):

  def _config(self):
    stem = {"name": "ConvLayer", "kernel_size": 3, "stride": 2, "in_channels": 3,
            "out_channels": 16, "use_bn": True, "act_func": "relu6", "bias": False}
    block = lambda cin, cout, stride, e, shortcut: {
        "name": "MobileInvertedResidualBlock",
        "mobile_inverted_conv": {"name": "MBInvertedConvLayer", "in_channels": cin,
                                 "out_channels": cout, "kernel_size": 3, "stride": stride,
                                 "expand_ratio": e, "mid_channels": None, "act_func": "relu6",
                                 "use_se": False},
        "shortcut": {"name": "IdentityLayer"} if shortcut else None}
    return {
        "name": "ProxylessNASNets", "bn": {"momentum": 0.1, "eps": 1e-3}, "first_conv": stem,
        "blocks": [block(16, 8, 1, 1, False), block(8, 16, 2, 3, False),
                   block(16, 16, 1, 6, True)],
        "feature_mix_layer": {"name": "ConvLayer", "kernel_size": 1, "stride": 1,
                              "in_channels": 16, "out_channels": 32, "use_bn": True,
                              "act_func": "relu6", "bias": False},
        "classifier": {"name": "LinearLayer", "in_features": 32, "out_features": 10,
                       "bias": True, "dropout_rate": 0}}

  def test_tiny_proxyless_net(self):
    net = zoo.parse_net_config(self._config(), 32)
    self.assertEqual(net.family, zoo.PROXYLESS)
    self.assertEqual([b.mid_channels for b in net.spec.blocks], [16, 24, 96])
    self.assertEqual(net.spec.bn_epsilon, 1e-3)
    self.assertAllClose(net.spec.bn_momentum, 0.9)
    model = zoo.build_model(net)
    self.assertEqual(model.count_params(), zoo.count_params(net, include_bn_statistics=True))
    self.assertEqual(model(tf.zeros((2, 32, 32, 3))).shape, (2, 10))
    self.assertEqual(model.get_layer("block2_expand_bn").epsilon, 1e-3)

  def test_zero_layer_identity_block_is_dropped(self):
    config = self._config()
    zero = copy.deepcopy(config["blocks"][2])
    zero["mobile_inverted_conv"] = {"name": "ZeroLayer", "stride": 1}
    config["blocks"].insert(2, zero)
    self.assertEqual(zoo.parse_net_config(config, 32).spec,
                     zoo.parse_net_config(self._config(), 32).spec)
    zero["shortcut"] = None
    with self.assertRaisesRegex(ValueError, r"blocks\[2\].*ZeroLayer block without"):
      zoo.parse_net_config(config, 32)

  def test_errors_name_the_layer(self):
    cases = {
        r"unknown network 'ResNets'": lambda c: c.update(name="ResNets"),
        r"blocks\[1\]: in_channels = 9": lambda c: c["blocks"][1]["mobile_inverted_conv"].update(
            in_channels=9),
        r"blocks\[0\]: act_func 'gelu'": lambda c: c["blocks"][0]["mobile_inverted_conv"].update(
            act_func="gelu"),
        r"blocks\[2\]: an identity shortcut needs": lambda c: c["blocks"][2][
            "mobile_inverted_conv"].update(stride=2),
        r"blocks\[1\]: ProxylessNAS blocks have no SE": lambda c: c["blocks"][1][
            "mobile_inverted_conv"].update(use_se=True),
        r"feature_mix_layer: in_channels = 8, expected 16": lambda c: c["feature_mix_layer"].update(
            in_channels=8),
        r"classifier": lambda c: c["classifier"].update(in_features=31),
    }
    for message, edit in cases.items():
      config = self._config()
      edit(config)
      with self.assertRaisesRegex(ValueError, message):
        zoo.parse_net_config(config, 32)


if __name__ == "__main__":
  tf.test.main()
