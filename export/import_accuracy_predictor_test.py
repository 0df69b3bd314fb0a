"""Tests of the import_accuracy_predictor binary in a subprocess (exit statuses, printed
cases); the library behind it is tested in ofa_tf/interop/accuracy_predictor_import_test.py.
(absl flags of several binaries cannot share one test process.)"""

import json
import os
import subprocess
import sys

import pytest
import tensorflow as tf


_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REFERENCE = os.path.join(_ROOT, "..", "shared", "reference")
MBV3 = os.path.join(REFERENCE, "acc_mbv3_seed0.pth")
MBV3_CASES = os.path.join(REFERENCE, "acc_mbv3_seed0_cases.json")
RESNET50 = os.path.join(REFERENCE, "acc_resnet50_seed0.pth")
RESNET50_CASES = os.path.join(REFERENCE, "acc_resnet50_seed0_cases.json")


def run_binary(*flags):
  env = dict(os.environ, PYTHONPATH=_ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
  return subprocess.run([sys.executable, "export/import_accuracy_predictor.py", *flags],
                        cwd=_ROOT, env=env, capture_output=True, text=True, timeout=300,
                        check=False)


class ImportAccuracyPredictorBinaryTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    if not os.path.isdir(REFERENCE):
      self.skipTest("../shared/reference not beside the checkout")

  def test_mbv3_oracle_then_off_cases_exit_one_and_write_nothing(self):
    output = os.path.join(self.get_temp_dir(), "predictor")
    run = run_binary(f"--checkpoint={MBV3}", "--space=ofa_mbv3_w1.2", f"--output={output}",
                     f"--verify_cases={MBV3_CASES}")
    self.assertEqual(run.returncode, 0, run.stderr[-2000:])
    self.assertIn("all 40 cases within 1e-05", run.stdout)
    self.assertEqual(run.stdout.count("  ok"), 40)
    self.assertIn(f"wrote {output}", run.stdout)
    with open(MBV3_CASES) as f:
      cases = json.load(f)
    cases["cases"][7]["predicted"] += 2e-5
    off = os.path.join(self.get_temp_dir(), "off_cases.json")
    with open(off, "w") as f:
      json.dump(cases, f)
    other = os.path.join(self.get_temp_dir(), "other")
    run = run_binary(f"--checkpoint={MBV3}", "--space=ofa_mbv3_w1.2", f"--output={other}",
                     f"--verify_cases={off}")
    self.assertEqual(run.returncode, 1, run.stderr[-2000:])
    self.assertIn("FAIL", run.stdout)
    self.assertFalse(os.path.exists(other))

  @pytest.mark.slow  # An interpreter start with TensorFlow (~12 s).
  def test_bad_file_exits_two_with_one_line(self):
    run = run_binary(f"--checkpoint={RESNET50}", "--space=ofa_mbv3_w1.2",
                     f"--output={self.get_temp_dir()}/x")
    self.assertEqual(run.returncode, 2)
    self.assertIn("error: ", run.stderr)
    self.assertIn("needs the sequential layout", run.stderr)

  def test_resnet50_oracle(self):
    run = run_binary(f"--checkpoint={RESNET50}", "--space=ofa_resnet50",
                     f"--verify_cases={RESNET50_CASES}")
    self.assertEqual(run.returncode, 0, run.stderr[-2000:])
    self.assertIn("all 40 cases within 1e-05", run.stdout)


if __name__ == "__main__":
  tf.test.main()
