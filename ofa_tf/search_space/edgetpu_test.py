"""Tests of the OFA-EdgeTPU space against MobileNet-EdgeTPU's block table."""

import numpy as np
import tensorflow as tf

from ofa_tf import search_space as ss

# TF Model Garden `mobilenet_edgetpu_v1_model_blocks.ModelConfig.blocks`, transcribed:
# (input_filters, output_filters, kernel_size, num_repeat, expand_ratio, stride, fused).
# Its first block (32 -> 16, expand 1) is our fixed block 0 and is not listed.
_MODEL_GARDEN = (
    (16, 32, 3, 1, 8, 2, True), (32, 32, 3, 3, 4, 1, True),
    (32, 48, 3, 1, 8, 2, True), (48, 48, 3, 3, 4, 1, True),
    (48, 96, 3, 1, 8, 2, False), (96, 96, 3, 3, 4, 1, False),
    (96, 96, 3, 1, 8, 1, False), (96, 96, 3, 3, 4, 1, False),
    (96, 160, 5, 1, 8, 2, False), (160, 160, 5, 3, 4, 1, False),
    (160, 192, 3, 1, 8, 1, False),
)


def _model_garden_blocks():
  """[(kind, in, out, mid, kernel, stride)] of every block of MobileNet-EdgeTPU v1."""
  out = []
  for cin, cout, k, repeat, e, stride, fused in _MODEL_GARDEN:
    for i in range(repeat):
      c = cin if i == 0 else cout
      out.append(("fused_mbconv" if fused else "mbconv", c, cout, c * e, k,
                  stride if i == 0 else 1))
  return out


def _hand_count(blocks, r=224, classes=1000):
  """(MACs, params without BN statistics) of the layout written out from the block table:
  stem 3x3/2 to 32, block 0 (depthwise 3x3 on 32, 1x1 to 16), the blocks, 1x1 to 1280,
  classifier; BN counts 2 per channel."""
  hw = r // 2
  macs, params = 27 * 32 * hw * hw, 27 * 32 + 2 * 32
  macs += (9 * 32 + 32 * 16) * hw * hw
  params += 9 * 32 + 2 * 32 + 32 * 16 + 2 * 16
  for kind, cin, cout, mid, k, stride in blocks:
    out = hw // stride
    if kind == "fused_mbconv":
      macs += (k * k * cin * mid + mid * cout) * out * out
      params += k * k * cin * mid + 2 * mid + mid * cout + 2 * cout
    else:
      macs += cin * mid * hw * hw + (k * k * mid + mid * cout) * out * out
      params += cin * mid + 2 * mid + k * k * mid + 2 * mid + mid * cout + 2 * cout
    hw = out
  macs += 192 * 1280 * hw * hw + 1280 * classes
  params += 192 * 1280 + 2 * 1280 + 1281 * classes
  return macs, params


class EdgeTpuSpaceTest(tf.test.TestCase):

  def test_mobilenet_edgetpu_is_a_subnet_with_its_blocks(self):
    space = ss.get_space("ofa_edgetpu")
    want = _model_garden_blocks()
    # The same subnet as a config: every stage at depth 4 (the last has one block), expand 8
    # in the first block of each stage and 4 elsewhere, Model Garden's kernels.
    positions = space.block_position()
    e = tuple(8 if p == 0 else 4 for p in positions)
    ks = tuple(w[4] for w in want)
    config = ss.SubnetConfig(ks=ks, e=e, d=(4,) * 6, r=224)
    spec = space.network_spec(config)
    got = [(b.kind, b.in_channels, b.out_channels, b.mid_channels, b.kernel_size, b.stride)
           for b in spec.blocks[1:]]
    self.assertEqual(got, want)
    self.assertEqual((spec.stem[0].out_channels, spec.blocks[0].out_channels), (32, 16))
    self.assertEqual(spec.head_before_pool[0].out_channels, 1280)
    self.assertEqual(spec.final_size, 7)
    self.assertEqual({b.activation for b in spec.blocks} | {spec.stem[0].activation,
                                                            spec.head_before_pool[0].activation},
                     {"relu"})
    self.assertFalse(any(b.use_se for b in spec.blocks))
    self.assertEqual((space.macs(config), space.params(config)), _hand_count(want))

  def test_fused_blocks_allow_only_kernel_3_and_counters_match_a_hand_count(self):
    space = ss.get_space("ofa_edgetpu_tiny")
    ks = space.dim("ks")
    kinds = [space.block_kind(b) for b in range(space.num_blocks)]
    self.assertEqual(kinds, ["fused_mbconv"] * 8 + ["mbconv"] * 5)
    self.assertEqual([ks.choices[b] for b in (0, 7, 8, 12)], [(3,), (3,), (3, 5), (3, 5)])
    config = space.min_config(r=16)  # d = 2: blocks 0-1, 4-5, 8-9, 12; e = 4; k = 3.
    spec = space.network_spec(config)
    # Hand count of the fused blocks (3x3 conv in -> 4 in, 1x1 to out; BN 2 per channel).
    fused = [(8, 16, 8), (16, 16, 8), (16, 24, 4), (24, 24, 4)]  # (in, out, output size)
    got = [b for b in spec.blocks if b.kind == "fused_mbconv"]
    self.assertEqual([(b.in_channels, b.out_channels, b.output_size) for b in got], fused)
    for block, (cin, cout, hw) in zip(got, fused):
      mid = 4 * cin
      self.assertEqual(ss.block_macs(block), 9 * cin * mid * hw * hw + mid * cout * hw * hw)
      self.assertEqual(ss.block_params(block), 9 * cin * mid + 2 * mid + mid * cout + 2 * cout)
    self.assertEqual([b.residual for b in got], [False, True, False, True])
    with self.assertRaisesRegex(ValueError, r"ks\[0\] = 5 is not allowed"):
      space.validate(config.replace(ks=(5,) + config.ks[1:]))

  def test_no_kernel_phase_reaches_the_fused_blocks(self):
    space = ss.get_space("ofa_edgetpu_tiny")
    phases = dict(space.shrinking_order())
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(50):
      config = space.sample(rng, restrictions=phases["kernel"])
      self.assertEqual(set(config.ks[:8]), {3})
      seen |= set(config.ks[8:])
    self.assertEqual(seen, {3, 5})

  def test_bad_fields_are_named(self):
    space = ss.get_space("ofa_edgetpu_tiny")
    with self.assertRaisesRegex(ValueError, "fused_stages"):
      space.replace(fused_stages=5)
    with self.assertRaisesRegex(ValueError, "ReLU without SE"):
      space.replace(stages=(ss.StageSpec(16, 1, "hswish", False),) + space.stages[1:])
    with self.assertRaisesRegex(ValueError, "ReLU without SE"):
      space.replace(stages=(ss.StageSpec(16, 1, "relu", True),) + space.stages[1:])

  def test_space_json_round_trips(self):
    space = ss.get_space("ofa_edgetpu")
    self.assertEqual(ss.space_from_dict(space.to_dict()), space)


if __name__ == "__main__":
  tf.test.main()
