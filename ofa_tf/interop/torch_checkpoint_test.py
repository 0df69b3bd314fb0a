"""Tests of the PyTorch-free checkpoint reader against files written by PyTorch."""

import os

import numpy as np
import tensorflow as tf

from ofa_tf.interop import torch_checkpoint as tc

TESTDATA = "testdata/interop"
SHARED_PTH = "../shared/reference/ofa_mbv3_w1.0_seed0.pth"


class TorchCheckpointTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    with np.load(os.path.join(TESTDATA, "tiny_expected.npz")) as data:
      self.expected = {k: data[k] for k in data.files}

  def _assert_state(self, state):
    self.assertEqual(list(state), list(self.expected))
    for key, want in self.expected.items():
      self.assertEqual(state[key].dtype, want.dtype, key)
      self.assertEqual(state[key].shape, want.shape, key)
      self.assertAllEqual(state[key], want, msg=key)

  def test_zip_legacy_and_bare_files_written_by_torch(self):
    for name in ("tiny_zip.pth", "tiny_legacy.pth"):
      obj = tc.read_torch_file(os.path.join(TESTDATA, name))
      self.assertEqual(obj["epoch"], 3)
      self._assert_state(obj["state_dict"])
    self._assert_state(tc.read_torch_file(os.path.join(TESTDATA, "tiny_bare.pth")))

  def test_truncated_and_foreign_files_raise(self):
    tmp = self.get_temp_dir()
    for name in ("tiny_zip.pth", "tiny_legacy.pth"):
      with open(os.path.join(TESTDATA, name), "rb") as f:
        data = f.read()
      for cut in (len(data) // 3, len(data) - 40):
        path = os.path.join(tmp, f"cut_{cut}_{name}")
        with open(path, "wb") as f:
          f.write(data[:cut])
        with self.assertRaises(tc.CheckpointFormatError, msg=f"{name}[:{cut}]"):
          tc.read_torch_file(path)
    path = os.path.join(tmp, "text.pth")
    with open(path, "w") as f:
      f.write("not a checkpoint")
    with self.assertRaisesRegex(tc.CheckpointFormatError, "not a PyTorch checkpoint"):
      tc.read_torch_file(path)
    with self.assertRaises(FileNotFoundError):
      tc.read_torch_file(os.path.join(tmp, "missing.pth"))

  def test_shared_checkpoint_matches_torch_load(self):
    if not os.path.exists(SHARED_PTH):
      self.skipTest("../shared/reference not beside the checkout")
    state = tc.read_torch_file(SHARED_PTH)["state_dict"]
    self.assertLen(state, 475)
    self.assertEqual(state["first_conv.bn.num_batches_tracked"].dtype, np.int64)
    self.assertEqual(state["blocks.1.conv.depth_conv.conv.7to5_matrix"].shape, (25, 25))
    try:
      import torch  # pylint: disable=g-import-not-at-top
    except ImportError:
      self.skipTest("PyTorch not installed: cross-check skipped (the fixtures still ran)")
    reference = torch.load(SHARED_PTH, map_location="cpu", weights_only=True)["state_dict"]
    self.assertEqual(list(state), list(reference))
    for key, tensor in reference.items():
      self.assertAllEqual(state[key], tensor.numpy(), msg=key)


if __name__ == "__main__":
  tf.test.main()
