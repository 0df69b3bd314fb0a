"""Tests of the checkpoint import: mapping, layouts, errors, and the shared numerical oracle."""

import os

import numpy as np
import pytest
import tensorflow as tf

from ofa_tf import search_space as ss
from ofa_tf.interop import checkpoint_import as ci
from ofa_tf.interop import ofa_state_dict as osd
from ofa_tf.interop import oracle
from ofa_tf.networks import Supernet, build_supernet

REFERENCE = "../shared/reference"
SHARED_PTH = os.path.join(REFERENCE, "ofa_mbv3_w1.0_seed0.pth")
CASES = os.path.join(REFERENCE, "ofa_mbv3_w1.0_seed0_cases.json")
W10 = "ofa_mbv3_d234_e346_k357_w1.0"
PROXYLESS_PTH = os.path.join(REFERENCE, "ofa_proxyless_w1.3_seed0.pth")
PROXYLESS_CASES = os.path.join(REFERENCE, "ofa_proxyless_w1.3_seed0_cases.json")
RESNET_PTH = os.path.join(REFERENCE, "ofa_resnet50_seed0.pth")
RESNET_CASES = os.path.join(REFERENCE, "ofa_resnet50_seed0_cases.json")


class MappingTest(tf.test.TestCase):

  def test_every_tensor_maps_one_to_one_onto_the_supernet(self):
    for arch, space_name in osd.ARCHITECTURES.items():
      space = ss.get_space(space_name)
      supernet = build_supernet(space)
      targets = supernet.named_weights()
      shapes = osd.expected_shapes(space)
      names = {}
      for key, shape in shapes.items():
        name, layout = ci._NAMES[space.family](key)
        self.assertNotIn(name, names, f"{key} and {names.get(name)} -> {name}")
        names[name] = key
        converted = ci.to_keras_layout(np.zeros(shape), layout).shape
        self.assertEqual(converted, tuple(targets[name].shape), key)
      self.assertEqual(set(names), set(targets), arch)

  def test_layouts(self):
    conv = np.arange(2 * 3 * 5 * 7).reshape(2, 3, 5, 7)  # (O, I, kh, kw)
    self.assertAllEqual(ci.to_keras_layout(conv, "conv")[4, 6, 1, 0], conv[0, 1, 4, 6])
    dw = np.arange(4 * 1 * 3 * 3).reshape(4, 1, 3, 3)    # (C, 1, kh, kw)
    self.assertAllEqual(ci.to_keras_layout(dw, "depthwise")[2, 1, 3, 0], dw[3, 0, 2, 1])
    linear = np.arange(6).reshape(2, 3)
    self.assertAllEqual(ci.to_keras_layout(linear, "linear"), linear.T)
    with self.assertRaisesRegex(ValueError, "no counterpart"):
      ci.keras_name("blocks.1.conv.depth_conv.conv.bias")

  def test_assignment_is_all_or_nothing(self):
    space = ss.get_space("ofa_mbv3_w1.0")
    supernet = build_supernet(space)
    before = supernet.named_weights()["stem_conv.kernel"].numpy()
    state = {k: np.ones(s, np.float32) for k, s in osd.expected_shapes(space).items()}
    state["blocks.3.conv.depth_conv.conv.weight"] = np.ones((5, 1, 7, 7), np.float32)
    del state["classifier.linear.bias"]
    state["blocks.3.conv.depth_conv.conv.bias"] = np.ones(3, np.float32)
    with self.assertRaisesRegex(ValueError, r"1 unmapped checkpoint tensors: blocks\.3\.conv\."
                                r"depth_conv\.conv\.bias\. 1 supernet weights without a tensor: "
                                r"classifier\.bias\. 1 mis-shaped tensors: blocks\.3"):
      ci.assign_state_dict(supernet, state)
    self.assertAllEqual(supernet.named_weights()["stem_conv.kernel"], before)


class OracleTest(tf.test.TestCase):
  """The shared reference: logits of the PyTorch implementation for 14 subnets."""

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.supernet = None
    if os.path.exists(SHARED_PTH):
      cls.supernet = ci.load_ofa_pytorch_checkpoint(SHARED_PTH, W10)

  def setUp(self):
    super().setUp()
    if self.supernet is None:
      self.skipTest("../shared/reference not beside the checkout")

  def _cases_file(self, indices):
    """A cases file holding only `indices` of the shared one (same arrays file)."""
    import json  # pylint: disable=g-import-not-at-top
    with open(CASES) as f:
      spec = json.load(f)
    spec["cases"] = [c for c in spec["cases"] if c["index"] in indices]
    spec["arrays"] = os.path.abspath(os.path.join(REFERENCE, spec["arrays"]))
    path = os.path.join(self.get_temp_dir(), "cases.json")
    with open(path, "w") as f:
      json.dump(spec, f)
    return path

  def _check(self, results, count):
    self.assertLen(results, count)
    for r in results:
      self.assertLessEqual(r.max_abs_diff, oracle.TOLERANCE, f"case {r.index} ({r.bn_mode})")

  def test_eval_and_train_cases_sliced_and_masked(self):
    # Largest subnet (eval, 224 and 160 px) and one batch-statistics case.
    moving = self.supernet.named_weights()["block5.project_bn.moving_mean"].numpy()
    self._check(oracle.verify_cases(self.supernet, self._cases_file({0, 1, 2})), 3)
    self._check(oracle.verify_cases(self.supernet, self._cases_file({1, 5}), mode="masked"), 2)
    # Train-mode cases leave the imported statistics and the dropout rate alone.
    self.assertAllEqual(self.supernet.named_weights()["block5.project_bn.moving_mean"], moving)
    self.assertEqual(self.supernet.dropout.rate, self.supernet.space.dropout_rate)

  def test_extracted_static_subnet_reproduces_the_reference(self):
    # Eval-mode cases only: an extracted subnet carries the imported BN moving statistics.
    import json  # pylint: disable=g-import-not-at-top
    from ofa_tf.networks import extract  # pylint: disable=g-import-not-at-top
    with open(CASES) as f:
      case = json.load(f)["cases"][1]
    config = ss.SubnetConfig.from_reference(case["config"], resolution=case["resolution"],
                                            space="ofa_mbv3_w1.0")
    model = extract.extract_subnet(self.supernet, config)
    with np.load(os.path.join(REFERENCE, "ofa_mbv3_w1.0_seed0_cases.npz")) as data:
      images, want = np.transpose(data["input_1"], (0, 2, 3, 1)), data["logits_1"]
    self.assertLessEqual(np.max(np.abs(model(images).numpy() - want)), oracle.TOLERANCE)

  @pytest.mark.slow
  def test_all_fourteen_cases(self):
    self._check(oracle.verify_cases(self.supernet, CASES), 14)

  def test_cases_of_another_architecture_are_refused(self):
    supernet = build_supernet(ss.get_space("ofa_mbv3_w1.2"))
    with self.assertRaisesRegex(ValueError, "was recorded for 'ofa_mbv3_d234_e346_k357_w1.0'"):
      oracle.verify_cases(supernet, CASES)


class ProxylessOracleTest(tf.test.TestCase):
  """The ProxylessNAS w1.3 oracle: 12 cases whose eval cases follow train-mode cases."""

  def setUp(self):
    super().setUp()
    if not os.path.exists(PROXYLESS_PTH):
      self.skipTest("../shared/reference not beside the checkout")

  def test_all_twelve_cases_sliced_and_masked(self):
    supernet = ci.load_ofa_pytorch_checkpoint(PROXYLESS_PTH, "ofa_proxyless_d234_e346_k357_w1.3")
    self.assertEqual(supernet.space.name, "ofa_proxyless_w1.3")
    moving = supernet.named_weights()["block7.expand_bn.moving_variance"].numpy()
    for mode in ("sliced", "masked"):
      results = oracle.verify_cases(supernet, PROXYLESS_CASES, mode=mode)
      self.assertLen(results, 12)
      for r in results:
        self.assertLessEqual(r.max_abs_diff, oracle.TOLERANCE, f"{mode} case {r.index}")
    # The replayed updates are undone.
    self.assertAllEqual(supernet.named_weights()["block7.expand_bn.moving_variance"], moving)

  def test_eval_cases_after_train_cases_need_the_replayed_updates(self):
    # Without the checkpoint's BN counters nothing is replayed, and the eval cases recorded
    # after the first train-mode case no longer match: the replay is what they depend on.
    supernet = ci.load_ofa_pytorch_checkpoint(PROXYLESS_PTH, "ofa_proxyless_d234_e346_k357_w1.3")
    for layer in supernet.submodules:
      if hasattr(layer, "imported_batches_tracked"):
        del layer.imported_batches_tracked
    results = {r.index: r for r in oracle.verify_cases(supernet, PROXYLESS_CASES)}
    self.assertTrue(results[0].passed and results[1].passed and results[2].passed)
    self.assertFalse(results[3].passed)


class ResNet50OracleTest(tf.test.TestCase):
  """The OFA-ResNet50 oracle: 12 cases (stem skipped or kept, widths 0.65-1.0, eval cases
  after train-mode ones)."""

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.supernet = None
    if os.path.isdir(os.path.dirname(REFERENCE)):  # ../shared present: the files must be too.
      cls.supernet = ci.load_ofa_pytorch_checkpoint(RESNET_PTH, "ofa_resnet50")

  def setUp(self):
    super().setUp()
    if self.supernet is None:
      self.skipTest("../shared not beside the checkout")

  def test_layout_and_parameter_count_match_the_checkpoint(self):
    raw = osd.read_raw_state_dict(RESNET_PTH)
    self.assertLen(raw, 368)
    state = osd.normalize_state_dict(raw)
    space = osd.check_state_dict(state, "ofa_resnet50")
    # The largest subnet uses every weight whole: its parameter count (PyTorch convention,
    # BN statistics excluded) is the checkpoint's, tensor by tensor summed.
    learned = sum(v.size for k, v in state.items() if not k.endswith(("running_mean",
                                                                         "running_var")))
    self.assertEqual(space.params(space.max_config()), learned)

  def _check_all_twelve(self, mode):
    moving = self.supernet.named_weights()["block5.bn2.moving_variance"].numpy()
    results = oracle.verify_cases(self.supernet, RESNET_CASES, mode=mode)
    self.assertLen(results, 12)
    self.assertEqual({r.config.d[0] for r in results}, {0, 2})
    for r in results:
      self.assertLessEqual(r.max_abs_diff, oracle.TOLERANCE, f"{mode} case {r.index}")
    # The replayed BN updates of the train-mode cases are undone.
    self.assertAllEqual(self.supernet.named_weights()["block5.bn2.moving_variance"], moving)

  def test_all_twelve_cases_sliced(self):
    self._check_all_twelve("sliced")

  @pytest.mark.slow
  def test_all_twelve_cases_masked(self):
    self._check_all_twelve("masked")

  def test_extracted_static_subnet_reproduces_the_reference(self):
    import json  # pylint: disable=g-import-not-at-top
    from ofa_tf.networks import extract  # pylint: disable=g-import-not-at-top
    with open(RESNET_CASES) as f:
      case = json.load(f)["cases"][1]  # Eval mode, the smallest widths, stem conv skipped.
    self.assertEqual(case["bn_mode"], "eval")
    config = ss.SubnetConfig.from_reference(case["config"], resolution=case["resolution"],
                                            space="ofa_resnet50")
    model = extract.extract_subnet(self.supernet, config)
    with np.load(os.path.join(REFERENCE, "ofa_resnet50_seed0_cases.npz")) as data:
      images, want = np.transpose(data["input_1"], (0, 2, 3, 1)), data["logits_1"]
    self.assertLessEqual(np.max(np.abs(model(images).numpy() - want)), oracle.TOLERANCE)


if __name__ == "__main__":
  tf.test.main()
