"""Tests of the search space, SubnetConfig, NetworkSpec and the MACs / params counters."""

import json

import numpy as np
import tensorflow as tf

from ofa_tf import search_space as ss


def _hand_count(widths, stem, final_expand, feature_mix, k, e, d, r, classes=1000):
  """An independent count of an OFA-MobileNetV3 subnet with uniform k, e, d.

  Written out stage by stage from the paper's layout, without BlockSpec or NetworkSpec.
  Returns (MACs, params without BN statistics).
  """
  strides = [2, 2, 2, 1, 2]
  use_se = [False, True, False, True, True]
  hw = (r + 1) // 2
  macs = 3 * 3 * 3 * stem * hw * hw
  params = 27 * stem + 2 * stem
  # Block 0: depthwise 3x3 on `stem` channels, project to `stem` (first block width == stem).
  macs += 9 * stem * hw * hw + stem * stem * hw * hw
  params += 9 * stem + 2 * stem + stem * stem + 2 * stem
  cin = stem
  for stage in range(5):
    for i in range(d):
      stride = strides[stage] if i == 0 else 1
      cout = widths[stage]
      mid = ss.make_divisible(round(cin * e), 8)
      out_hw = -(-hw // stride)
      macs += cin * mid * hw * hw + k * k * mid * out_hw * out_hw + mid * cout * out_hw * out_hw
      params += cin * mid + 2 * mid + k * k * mid + 2 * mid + mid * cout + 2 * cout
      if use_se[stage]:
        se = ss.make_divisible(mid // 4, 8)
        macs += 2 * mid * se
        params += 2 * mid * se + se + mid
      cin, hw = cout, out_hw
  macs += cin * final_expand * hw * hw + final_expand * feature_mix + feature_mix * classes
  params += cin * final_expand + 2 * final_expand + final_expand * feature_mix
  params += feature_mix * classes + classes
  return macs, params


class MakeDivisibleTest(tf.test.TestCase):

  def test_rounding_rule(self):
    self.assertEqual(ss.make_divisible(16 * 1.2), 24)  # 16 would round down by > 10%.
    self.assertEqual(ss.make_divisible(112 * 1.2), 136)
    self.assertEqual(ss.make_divisible(72 // 4), 24)
    self.assertEqual(ss.make_divisible(3), 8)
    self.assertEqual(ss.make_divisible(100), 104)


class SpaceTest(tf.test.TestCase):

  def test_presets_match_the_released_widths(self):
    w10 = ss.get_space("ofa_mbv3_w1.0")
    self.assertEqual([s.width for s in w10.stages], [24, 40, 80, 112, 160])
    self.assertEqual((w10.stem_width, w10.final_expand_width, w10.feature_mix_width),
                     (16, 960, 1280))
    self.assertEqual(w10.num_blocks, 20)
    self.assertEqual(len(w10.resolutions), 25)
    w12 = ss.get_space("ofa_mbv3_w1.2")
    self.assertEqual([s.width for s in w12.stages], [32, 48, 96, 136, 192])
    self.assertEqual((w12.stem_width, w12.final_expand_width, w12.feature_mix_width),
                     (24, 1152, 1536))

  def test_space_json_round_trip(self):
    for name in ss.space_names():
      space = ss.get_space(name)
      self.assertEqual(type(space).from_json(space.to_json()), space)
      self.assertEqual(ss.space_from_dict(json.loads(space.to_json())), space)
      self.assertEqual(json.loads(space.to_json())["family"], space.family)
    # Space JSON written before family tags (work directories of earlier runs) still reads.
    legacy = ss.get_space("ofa_mbv3_tiny").to_dict()
    del legacy["family"]
    self.assertEqual(ss.space_from_dict(legacy), ss.get_space("ofa_mbv3_tiny"))
    with self.assertRaisesRegex(ValueError, "unknown search-space family 'vit'"):
      ss.space_from_dict({**legacy, "family": "vit"})
    with self.assertRaisesRegex(ValueError, "family 'proxyless' cannot be read"):
      ss.MobileNetV3Space.from_dict(ss.get_space("ofa_proxyless_tiny").to_dict())

  def test_bad_space_fields(self):
    space = ss.get_space("ofa_mbv3_tiny")
    with self.assertRaisesRegex(ValueError, "kernel_sizes must be odd"):
      space.replace(kernel_sizes=(3, 4))
    with self.assertRaisesRegex(ValueError, "resolutions"):
      space.replace(resolutions=(32, 24))
    with self.assertRaisesRegex(ValueError, "activation"):
      ss.StageSpec(16, 1, "gelu", False)
    with self.assertRaisesRegex(ValueError, "unknown search space"):
      ss.get_space("resnet")


class SubnetConfigTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.space = ss.get_space("ofa_mbv3_w1.0")

  def test_json_and_reference_round_trip(self):
    config = self.space.sample(np.random.default_rng(0))
    self.assertEqual(ss.SubnetConfig.from_json(config.to_json()), config)
    ref = config.to_reference()
    self.assertEqual(ref["r"], [config.r])
    back = ss.SubnetConfig.from_reference(json.loads(json.dumps(ref)), space=config.space)
    self.assertEqual(back, config)

  def test_reads_the_shared_reference_cases(self):
    path = "../shared/reference/ofa_mbv3_w1.0_seed0_cases.json"
    try:
      cases = json.load(open(path))["cases"]
    except FileNotFoundError:
      self.skipTest("../shared/reference not beside the checkout")
    for case in cases:
      config = ss.SubnetConfig.from_reference(case["config"], resolution=case["resolution"])
      self.space.validate(config)

  def test_bad_configs_name_the_field(self):
    good = self.space.max_config()
    cases = {
        "ks has 19 entries": good.replace(ks=good.ks[:-1]),
        r"ks\[3\] = 4 is not allowed": good.replace(ks=good.ks[:3] + (4,) + good.ks[4:]),
        r"e\[0\] = 5 is not allowed": good.replace(e=(5,) + good.e[1:]),
        r"d\[2\] = 5 is not allowed": good.replace(d=(4, 4, 5, 4, 4)),
        "d has 4 entries": good.replace(d=(4, 4, 4, 4)),
        "r = 100 is not a resolution": good.replace(r=100),
        "belongs to space 'ofa_mbv3_w1.2'": good.replace(space="ofa_mbv3_w1.2"),
    }
    for message, config in cases.items():
      with self.assertRaisesRegex(ValueError, message):
        self.space.validate(config)
    with self.assertRaisesRegex(ValueError, "SubnetConfig.ks: an elastic choice must be a "
                                "number, got 'x'"):
      ss.SubnetConfig(ks=("x",), e=(3,), d=(2,), r=128)
    with self.assertRaisesRegex(ValueError, "has no resolution"):
      ss.SubnetConfig.from_dict({"ks": [3]})
    with self.assertRaisesRegex(ValueError, r"has dimensions \['d', 'e', 'ks', 'w'\]; space "
                                r"ofa_mbv3_w1.0 \(family mobilenet_v3\) has \['d', 'e', 'ks'\]"):
      self.space.validate(good.replace(w=(0, 1)))

  def test_sampling_is_seeded_and_respects_restrictions(self):
    a = [self.space.sample(np.random.default_rng(7)) for _ in range(2)]
    self.assertEqual(a[0], a[1])
    rng = np.random.default_rng(1)
    configs = [self.space.sample(rng, {"ks": (7,), "d": (3, 4)}, resolutions=(160,))
               for _ in range(50)]
    self.assertTrue(all(set(c.ks) == {7} and set(c.d) <= {3, 4} and c.r == 160
                        for c in configs))
    self.assertEqual({d for c in configs for d in c.d}, {3, 4})
    with self.assertRaisesRegex(ValueError, r"restriction of d to \(5,\) is not"):
      self.space.sample(rng, {"d": (5,)})
    with self.assertRaisesRegex(ValueError, "has no elastic dimension 'w'"):
      self.space.sample(rng, {"w": (1,)})

  def test_canonical_ignores_skipped_blocks(self):
    config = self.space.min_config()
    changed = config.replace(ks=(3, 3, 7) + config.ks[3:])  # block 2 is skipped at d=2.
    self.assertNotEqual(config, changed)
    self.assertEqual(self.space.canonical(config), self.space.canonical(changed))


class NetworkSpecAndCountersTest(tf.test.TestCase):

  def test_network_spec_layout(self):
    space = ss.get_space("ofa_mbv3_w1.0")
    spec = space.network_spec(space.max_config(224))
    self.assertLen(spec.blocks, 21)
    self.assertEqual(spec.stem_output_size, 112)
    self.assertEqual(spec.final_size, 7)
    first = spec.blocks[1]
    self.assertEqual((first.in_channels, first.out_channels, first.mid_channels, first.stride),
                     (16, 24, 96, 2))
    self.assertFalse(first.residual)
    self.assertTrue(spec.blocks[2].residual)
    se_block = spec.blocks[5]  # First block of stage 2 (width 40, SE).
    self.assertEqual((se_block.mid_channels, se_block.se_channels), (144, 40))
    self.assertEqual([b.activation for b in spec.blocks[:1] + spec.blocks[1::4]], ["relu", "relu", "relu",
                                                                  "hswish", "hswish", "hswish"])

  def test_min_and_max_match_hand_counts(self):
    for name, (widths, stem, fe, fm) in {
        "ofa_mbv3_w1.0": ([24, 40, 80, 112, 160], 16, 960, 1280),
        "ofa_mbv3_w1.2": ([32, 48, 96, 136, 192], 24, 1152, 1536)}.items():
      space = ss.get_space(name)
      for config, (k, e, d) in ((space.min_config(), (3, 3, 2)),
                                (space.max_config(), (7, 6, 4))):
        macs, params = _hand_count(widths, stem, fe, fm, k, e, d, config.r)
        self.assertEqual(space.macs(config), macs, (name, config.r))
        self.assertEqual(space.params(config), params, (name, config.r))
    # Literal anchors for w1.0 (min at 128 px, max at 224 px).
    w10 = ss.get_space("ofa_mbv3_w1.0")
    self.assertEqual(w10.macs(w10.max_config()), 566_170_656)
    self.assertEqual(w10.params(w10.max_config()), 7_664_760)

  def test_bn_statistics_add_two_per_bn_channel(self):
    space = ss.get_space("ofa_mbv3_tiny")
    config = space.max_config()
    spec = space.network_spec(config)
    bn_channels = spec.stem[0].out_channels + spec.head_before_pool[0].out_channels + sum(
        (b.mid_channels if b.has_expand else 0) + b.mid_channels + b.out_channels
        for b in spec.blocks)
    self.assertEqual(space.params(config, include_bn_statistics=True) - space.params(config),
                     2 * bn_channels)


class ProxylessSpaceTest(tf.test.TestCase):

  def test_released_w13_layout(self):
    space = ss.get_space("ofa_proxyless_w1.3")
    self.assertEqual(space.family, "proxyless")
    self.assertEqual((space.stem_width, space.first_block_width, space.feature_mix_width),
                     (40, 24, 1664))
    self.assertEqual([s.width for s in space.stages], [32, 56, 104, 128, 248, 416])
    self.assertEqual([s.stride for s in space.stages], [2, 2, 2, 1, 2, 1])
    self.assertEqual(space.num_blocks, 21)
    self.assertEqual([d.size for d in space.elastic_dims()], [21, 21, 6])
    spec = space.network_spec(space.max_config(224))
    self.assertLen(spec.blocks, 22)
    self.assertFalse(spec.blocks[0].residual)  # 40 -> 24, no shortcut.
    self.assertEqual({b.activation for b in spec.blocks}, {"relu6"})
    self.assertFalse(any(b.use_se for b in spec.blocks))
    self.assertEqual(spec.bn_epsilon, 1e-3)
    self.assertEqual(spec.head_after_pool, ())
    self.assertEqual(spec.pooled_channels, 1664)
    self.assertEqual(spec.final_size, 7)

  def test_last_stage_depth_is_clipped_to_its_block(self):
    space = ss.get_space("ofa_proxyless_w1.3")
    config = space.min_config()
    self.assertEqual(config.d, (2,) * 6)
    self.assertEqual(space.active_blocks(config)[-1], 20)
    self.assertLen(space.network_spec(config).blocks, 1 + 5 * 2 + 1)
    self.assertEqual(space.canonical(config.replace(d=(2,) * 5 + (4,))).d, (2,) * 5 + (4,))
    self.assertEqual(space.network_spec(config.replace(d=(2,) * 5 + (4,))),
                     space.network_spec(config))

  def test_hand_count_of_the_largest_subnet(self):
    space = ss.get_space("ofa_proxyless_w1.3")
    r, bn = 224, 2
    hw = 112
    macs = 27 * 40 * hw * hw + 9 * 40 * hw * hw + 40 * 24 * hw * hw
    params = 27 * 40 + bn * 40 + 9 * 40 + bn * 40 + 40 * 24 + bn * 24
    cin = 24
    for width, stride, blocks in zip([32, 56, 104, 128, 248, 416], [2, 2, 2, 1, 2, 1],
                                     [4, 4, 4, 4, 4, 1]):
      for i in range(blocks):
        s = stride if i == 0 else 1
        mid = ss.make_divisible(round(cin * 6), 8)
        out = -(-hw // s)
        macs += cin * mid * hw * hw + 49 * mid * out * out + mid * width * out * out
        params += cin * mid + 49 * mid + mid * width + bn * (2 * mid + width)
        cin, hw = width, out
    macs += cin * 1664 * hw * hw + 1664 * 1000
    params += cin * 1664 + bn * 1664 + 1664 * 1000 + 1000
    config = space.max_config(r)
    self.assertEqual((space.macs(config), space.params(config)), (macs, params))


class FamilyProtocolTest(tf.test.TestCase):
  """The generic parts every registered space gets from its declarations."""

  def test_every_space_samples_validates_and_orders_min_max(self):
    rng = np.random.default_rng(3)
    for name in ss.space_names():
      space = ss.get_space(name)
      lo, hi = space.min_config(), space.max_config()
      self.assertLess(space.macs(lo), space.macs(hi), name)
      for _ in range(20):
        config = space.sample(rng)
        self.assertIs(space.validate(config), config)
        self.assertBetween(space.macs(config), space.macs(lo), space.macs(hi))
        self.assertEqual(ss.SubnetConfig.from_json(config.to_json()), config)

  def test_shrinking_order_names_dimensions_of_the_space(self):
    for name in ss.space_names():
      space = ss.get_space(name)
      order = space.shrinking_order()
      self.assertEqual(order[0], ("full", {}))
      for _, opened in order:
        for dim, values in opened.items():
          self.assertTrue(set(values) <= set(space.dim(dim).values), (name, dim))
      # The last phase opens every dimension completely.
      self.assertEqual({d: tuple(v) for d, v in order[-1][1].items()},
                       {d.name: d.values for d in space.elastic_dims()})

  def test_restriction_and_extremes(self):
    space = ss.get_space("ofa_proxyless_tiny")
    config = space.extreme_config(True, restrictions={"ks": (3, 5)})
    self.assertEqual(set(config.ks), {5})
    self.assertEqual(config.e, (max(space.expand_ratios),) * space.num_blocks)


if __name__ == "__main__":
  tf.test.main()
