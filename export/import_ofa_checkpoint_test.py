"""Tests of the import_ofa_checkpoint binary: oracle, work directory, nothing written on errors."""

import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from export import import_ofa_checkpoint as binary
from ofa_tf import workdir

REFERENCE = "../shared/reference"
SHARED_PTH = os.path.join(REFERENCE, "ofa_mbv3_w1.0_seed0.pth")
CASES = os.path.join(REFERENCE, "ofa_mbv3_w1.0_seed0_cases.json")
W10 = "ofa_mbv3_d234_e346_k357_w1.0"
PROXYLESS_PTH = os.path.join(REFERENCE, "ofa_proxyless_w1.3_seed0.pth")
PROXYLESS_CASES = os.path.join(REFERENCE, "ofa_proxyless_w1.3_seed0_cases.json")
PROXYLESS = "ofa_proxyless_d234_e346_k357_w1.3"
RESNET_PTH = os.path.join(REFERENCE, "ofa_resnet50_seed0.pth")
RESNET_CASES = os.path.join(REFERENCE, "ofa_resnet50_seed0_cases.json")


def _config(checkpoint, output, verify=None, overwrite=False):
  return binary.ImportConfig(checkpoint=checkpoint, arch=W10, output=output,
                             verify_cases=verify, mode="sliced", overwrite=overwrite)


class ImportBinaryTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    if not os.path.exists(SHARED_PTH):
      self.skipTest("../shared/reference not beside the checkout")
    self.tmp = self.get_temp_dir()

  def test_bad_inputs_write_nothing(self):
    truncated = os.path.join(self.tmp, "truncated.pth")
    with open(SHARED_PTH, "rb") as src, open(truncated, "wb") as dst:
      dst.write(src.read(5_000_000))
    other = "testdata/interop/tiny_zip.pth"  # A state dict of another architecture.
    for checkpoint in (truncated, other, os.path.join(self.tmp, "missing.pth")):
      output = os.path.join(self.tmp, "out_" + os.path.basename(checkpoint))
      self.assertEqual(binary.run(_config(checkpoint, output)), 2, checkpoint)
      self.assertFalse(os.path.exists(output), checkpoint)
    busy = os.path.join(self.tmp, "busy")
    os.makedirs(busy)
    with open(os.path.join(busy, "keep.txt"), "w") as f:
      f.write("x")
    self.assertEqual(binary.run(_config(SHARED_PTH, busy)), 2)
    self.assertEqual(os.listdir(busy), ["keep.txt"])

  def test_writes_a_work_directory_that_reads_back(self):
    output = os.path.join(self.tmp, "workdir")
    self.assertEqual(binary.run(_config(SHARED_PTH, output)), 0)
    self.assertTrue(os.path.exists(os.path.join(output, "space.json")))
    self.assertTrue(os.path.exists(os.path.join(output, "final", "supernet.index")))
    supernet = workdir.load_supernet(output)
    reader = tf.train.load_checkpoint(os.path.join(output, "final", "supernet"))
    # tf.train.Checkpoint escapes "." in dict keys as "..".
    key = "supernet/block3..depthwise..transform_7to5/.ATTRIBUTES/VARIABLE_VALUE"
    self.assertAllEqual(reader.get_tensor(key),
                        supernet.named_weights()["block3.depthwise.transform_7to5"])
    self.assertNotAllClose(reader.get_tensor(key), np.eye(25))  # Not the initializer.
    self.assertEqual(supernet.space.name, "ofa_mbv3_w1.0")

  def test_proxyless_oracle_all_twelve_cases_through_the_binary(self):
    output = os.path.join(self.tmp, "proxyless")
    config = binary.ImportConfig(checkpoint=PROXYLESS_PTH, arch=PROXYLESS, output=output,
                                 verify_cases=PROXYLESS_CASES, mode="sliced", overwrite=False)
    self.assertEqual(binary.run(config), 0)
    self.assertEqual(workdir.load_supernet(output).space.name, "ofa_proxyless_w1.3")
    # Cases of another architecture: exit 2, nothing written.
    other = os.path.join(self.tmp, "other")
    self.assertEqual(binary.run(_config(SHARED_PTH, other, verify=PROXYLESS_CASES)), 2)
    self.assertFalse(os.path.exists(other))

  def test_resnet50_oracle_all_twelve_cases_through_the_binary(self):
    output = os.path.join(self.tmp, "resnet50")
    config = binary.ImportConfig(checkpoint=RESNET_PTH, arch="ofa_resnet50", output=output,
                                 verify_cases=RESNET_CASES, mode="sliced", overwrite=False)
    self.assertEqual(binary.run(config), 0)
    self.assertEqual(workdir.load_supernet(output).space.name, "ofa_resnet50")
    # A ResNet checkpoint given as another architecture: exit non-zero, nothing written.
    other = os.path.join(self.tmp, "other")
    self.assertNotEqual(binary.run(_config(RESNET_PTH, other)), 0)
    self.assertFalse(os.path.exists(other))

  @pytest.mark.slow
  def test_binary_reproduces_all_fourteen_cases(self):
    output = os.path.join(self.tmp, "verified")
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    result = subprocess.run(
        [sys.executable, "export/import_ofa_checkpoint.py", f"--checkpoint={SHARED_PTH}",
         f"--arch={W10}", f"--output={output}", f"--verify_cases={CASES}"],
        capture_output=True, text=True, env=env, check=False)
    self.assertEqual(result.returncode, 0, result.stderr[-3000:])
    self.assertIn("all 14 cases within 0.001", result.stdout)
    self.assertEqual(result.stdout.count(" ok"), 14)
    self.assertTrue(os.path.exists(os.path.join(output, "imported_from.json")))


if __name__ == "__main__":
  tf.test.main()
