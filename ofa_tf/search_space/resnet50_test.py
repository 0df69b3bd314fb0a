"""Tests of the OFA-ResNet50 space against the reference semantics
(../shared/reference/README.md, "ofa_resnet50_seed0.*") and published ResNet-50-D facts."""

import json
import os

import numpy as np
import tensorflow as tf

from ofa_tf import search_space as ss

CASES = "../shared/reference/ofa_resnet50_seed0_cases.json"


def _config(space, d, e, w, r=224):
  e = (e,) * space.num_blocks if np.isscalar(e) else e
  w = (w,) * (2 + space.num_stages) if np.isscalar(w) else w
  return ss.SubnetConfig(d=d, e=e, w=w, r=r, space=space.name)


class ResNet50SpaceTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.space = ss.get_space("ofa_resnet50")

  def test_declared_dimensions(self):
    d, e, w = (self.space.dim(n) for n in ("d", "e", "w"))
    self.assertEqual(d.choices, ((0, 2),) + ((0, 1, 2),) * 4)
    self.assertEqual(e.choices, ((0.2, 0.25, 0.35),) * 18)
    self.assertEqual(w.choices, ((0, 1, 2),) * 6)
    self.assertTrue(d.depth)
    self.assertEqual([len(b) for b in self.space.stage_blocks()], [0, 4, 4, 6, 4])

  def test_resnet50d_params_at_its_depths(self):
    # Blocks 3 4 6 3 at e 0.25 and w 1.0 are ResNet-50-D: torchvision's ResNet-50
    # (25,557,032 parameters) with the 7x7x3x64 stem conv (9,408) replaced by 3x3 convs
    # 3->32->32->64 (864 + 9,216 + 18,432) and two more BatchNorms of 32 channels (128).
    config = _config(self.space, (2, 1, 2, 2, 1), 0.25, 2)
    self.assertEqual(self.space.params(config), 25_557_032 - 9_408 + 28_512 + 128)

  def test_channels_follow_the_reference_rules(self):
    spec = self.space.network_spec(_config(self.space, (2, 0, 0, 0, 0), 0.2, 0, r=128))
    # w = 0.65: stem make_divisible(make_divisible(41.6) // 2) = 24, make_divisible(41.6) = 40;
    # stages make_divisible(166.4, 332.8, 665.6, 1331.2) = 168 336 664 1328.
    self.assertEqual([(c.in_channels, c.out_channels) for c in spec.stem],
                     [(3, 24), (24, 24), (24, 40)])
    self.assertEqual(sorted({b.out_channels for b in spec.blocks}), [168, 336, 664, 1328])
    self.assertEqual(spec.blocks[0].in_channels, 40)
    self.assertEqual(spec.blocks[0].mid_channels, 32)  # make_divisible(round(168 * 0.2)).
    spec = self.space.network_spec(self.space.max_config())
    self.assertEqual([c.out_channels for c in spec.stem], [32, 32, 64])
    self.assertEqual([b.mid_channels for b in spec.blocks[:5]], [88] * 4 + [176])

  def test_depth_semantics_and_layout(self):
    spec = self.space.network_spec(_config(self.space, (0, 2, 0, 1, 0), 0.25, 2, r=192))
    self.assertEqual([c.name for c in spec.stem], ["stem1", "stem3"])  # d[0] = 0 skips stem2.
    self.assertEqual([b.index for b in spec.blocks],
                     [0, 1, 2, 3, 4, 5, 8, 9, 10, 11, 12, 14, 15])
    self.assertEqual([b.stride for b in spec.blocks if not b.residual], [1, 2, 2, 2])
    self.assertEqual([b.index for b in spec.blocks if b.has_downsample], [0, 4, 8, 14])
    # 192 -> stem 96 -> pool 48 -> 48 24 12 6.
    self.assertEqual(spec.stem_output_size, 48)
    self.assertEqual(spec.final_size, 6)
    self.assertTrue(spec.stem_pool)

  def test_reads_the_shared_reference_cases(self):
    if not os.path.isdir("../shared"):
      self.skipTest("../shared not beside the checkout")
    with open(CASES) as f:
      cases = json.load(f)
    self.assertEqual(cases["num_blocks"], self.space.num_blocks)
    self.assertEqual(tuple(cases["width_mult_list"]), self.space.width_mults)
    self.assertEqual(tuple(cases["expand_ratio_list"]), self.space.expand_ratios)
    for case in cases["cases"]:
      config = ss.SubnetConfig.from_reference(case["config"], resolution=case["resolution"],
                                              space=self.space.name)
      spec = self.space.network_spec(config)
      self.assertLen(spec.blocks, sum(base + d for base, d in zip((2, 2, 4, 2), config.d[1:])))
      self.assertLen(spec.stem, 3 if config.d[0] else 2)

  def test_bad_configs_name_the_field(self):
    good = self.space.max_config()
    with self.assertRaisesRegex(ValueError, r"d\[0\] = 1 is not allowed"):
      self.space.validate(good.replace(d=(1,) + good.d[1:]))
    with self.assertRaisesRegex(ValueError, r"w\[5\] = 3 is not allowed"):
      self.space.validate(good.replace(w=good.w[:5] + (3,)))
    with self.assertRaisesRegex(ValueError, "e has 17 entries"):
      self.space.validate(good.replace(e=good.e[1:]))
    with self.assertRaisesRegex(ValueError, "stage_strides must be 1 or 2"):
      self.space.replace(stage_strides=(1, 2, 3, 2))
    with self.assertRaisesRegex(ValueError, "equal length"):
      self.space.replace(base_depths=(2, 2, 4))

  def test_sampling_under_a_phase_and_json(self):
    rng = np.random.default_rng(0)
    order = dict(self.space.shrinking_order())
    self.assertEqual(list(order), ["full", "depth_1", "depth_2", "expand_1", "expand_2",
                                   "width_1", "width_2"])
    for _ in range(20):
      config = self.space.sample(rng, order["depth_1"])
      self.assertEqual(config.d[0], 2)  # The stem entry allows no value of {1, 2} but 2.
      self.assertLessEqual(set(config.d[1:]), {1, 2})
    self.assertEqual(ss.space_from_dict(self.space.to_dict()), self.space)
    tiny = ss.get_space("ofa_resnet50_tiny")
    self.assertEqual(ss.space_from_dict(json.loads(tiny.to_json())), tiny)
    self.assertEqual(self.space.canonical(self.space.min_config()).e, (0.2,) * 18)


if __name__ == "__main__":
  tf.test.main()
