"""Tests of OFA state-dict normalization and the expected supernet layout."""

import os

import numpy as np
import tensorflow as tf

from ofa_tf import search_space as ss
from ofa_tf.interop import ofa_state_dict as osd

SHARED_PTH = "../shared/reference/ofa_mbv3_w1.0_seed0.pth"
W10 = "ofa_mbv3_d234_e346_k357_w1.0"
W12 = "ofa_mbv3_d234_e346_k357_w1.2"


def _fake_state(arch):
  shapes = osd.expected_shapes(ss.get_space(osd.ARCHITECTURES[arch]))
  return {k: np.zeros(s, np.float32) for k, s in shapes.items()}


class NormalizeTest(tf.test.TestCase):

  def test_legacy_and_nested_spellings(self):
    canonical = "blocks.1.conv.depth_conv.conv.weight"
    for key in ("blocks.1.conv.depth_conv.conv.conv.weight",
                "blocks.1.mobile_inverted_conv.depth_conv.conv.conv.weight",
                "module.blocks.1.mobile_inverted_conv.depth_conv.conv.weight", canonical):
      self.assertEqual(osd.normalize_key(key), canonical)
    self.assertEqual(osd.normalize_key("blocks.3.conv.point_linear.bn.bn.running_var"),
                     "blocks.3.conv.point_linear.bn.running_var")
    self.assertEqual(osd.normalize_key("blocks.1.conv.depth_conv.conv.7to5_matrix"),
                     "blocks.1.conv.depth_conv.conv.7to5_matrix")
    self.assertEqual(osd.normalize_key("blocks.0.conv.depth_conv.conv.weight"),
                     "blocks.0.conv.depth_conv.conv.weight")

  def test_counters_dropped_and_collisions_named(self):
    state = {"first_conv.bn.num_batches_tracked": np.array(3),
             "blocks.1.conv.inverted_bottleneck.bn.bn.weight": np.ones(2)}
    self.assertEqual(list(osd.normalize_state_dict(state)),
                     ["blocks.1.conv.inverted_bottleneck.bn.weight"])
    state["blocks.1.mobile_inverted_conv.inverted_bottleneck.bn.weight"] = np.ones(2)
    with self.assertRaisesRegex(ValueError, "are the same tensor"):
      osd.normalize_state_dict(state)

  def test_tiny_fixture_reads_and_normalizes(self):
    state = osd.load_state_dict("testdata/interop/tiny_legacy.pth")
    self.assertIn("blocks.1.conv.depth_conv.conv.weight", state)
    self.assertIn("blocks.1.conv.depth_conv.bn.running_var", state)
    self.assertNotIn("blocks.1.conv.depth_conv.bn.num_batches_tracked", state)


class LayoutTest(tf.test.TestCase):

  def test_expected_layout_is_the_released_one(self):
    self.assertLen(osd.expected_shapes(ss.get_space("ofa_mbv3_w1.0")), 411)  # 475 - 64 counters.
    if not os.path.exists(SHARED_PTH):
      self.skipTest("../shared/reference not beside the checkout")
    state = osd.load_state_dict(SHARED_PTH)
    self.assertEqual(osd.check_state_dict(state, W10).name, "ofa_mbv3_w1.0")

  def test_bad_state_dicts_list_what_is_wrong(self):
    state = _fake_state(W10)
    osd.check_state_dict(state, W10)
    with self.assertRaisesRegex(ValueError, "it is a checkpoint of " + W10):
      osd.check_state_dict(state, W12)
    bad = dict(state)
    del bad["blocks.7.conv.depth_conv.bn.running_mean"]
    bad["blocks.21.conv.point_linear.conv.weight"] = np.zeros((1, 1, 1, 1))
    bad["classifier.linear.weight"] = np.zeros((10, 1280))
    with self.assertRaisesRegex(
        ValueError, r"1 missing tensors: blocks\.7\.conv\.depth_conv\.bn\.running_mean\. "
        r"1 unexpected tensors: blocks\.21\.conv\.point_linear\.conv\.weight\. "
        r"1 mis-shaped tensors: classifier\.linear\.weight \(10, 1280\) \(expected "
        r"\(1000, 1280\)\)"):
      osd.check_state_dict(bad, W10)
    with self.assertRaisesRegex(ValueError, "unknown OFA architecture"):
      osd.check_state_dict(state, "ofa_resnet101")
    with self.assertRaisesRegex(ValueError, "does not fit ofa_resnet50: it is a checkpoint of "
                                f"{W10}"):
      osd.check_state_dict(state, "ofa_resnet50")


if __name__ == "__main__":
  tf.test.main()
