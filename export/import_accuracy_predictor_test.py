"""Tests of the import_accuracy_predictor binary: oracles, destinations, nothing written on
errors."""

import json
import os
import subprocess
import sys

import pytest
import tensorflow as tf

from export import import_accuracy_predictor as binary
from ofa_tf import search_space as ss
from ofa_tf.search.accuracy_predictor import AccuracyPredictor
from ofa_tf.training import workdir

REFERENCE = "../shared/reference"
MBV3 = os.path.join(REFERENCE, "acc_mbv3_seed0.pth")
MBV3_CASES = os.path.join(REFERENCE, "acc_mbv3_seed0_cases.json")
RESNET50 = os.path.join(REFERENCE, "acc_resnet50_seed0.pth")
RESNET50_CASES = os.path.join(REFERENCE, "acc_resnet50_seed0_cases.json")


class ImportAccuracyPredictorTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    if not os.path.isdir(REFERENCE):
      self.skipTest("../shared/reference not beside the checkout")
    self.tmp = self.get_temp_dir()

  def _config(self, output, **kwargs):
    kwargs.setdefault("checkpoint", MBV3)
    kwargs.setdefault("space", "ofa_mbv3_w1.2")
    return binary.ImportConfig(output=output, **kwargs)

  def test_into_a_work_directory_where_search_looks(self):
    work = os.path.join(self.tmp, "work")
    workdir.write_space(work, ss.get_space("ofa_mbv3_w1.2"))
    self.assertEqual(binary.run(self._config(work, verify_cases=MBV3_CASES)), 0)
    predictor = AccuracyPredictor.load(os.path.join(work, "accuracy_predictor"))
    self.assertEqual(predictor.encoding, "released_mbv3")
    self.assertEqual(binary.run(self._config(work)), 2)  # Exists, no --overwrite.
    self.assertEqual(binary.run(self._config(work, overwrite=True)), 0)
    other = os.path.join(self.tmp, "w10")
    workdir.write_space(other, ss.get_space("ofa_mbv3_w1.0"))
    self.assertEqual(binary.run(self._config(other)), 2)  # A work directory of another space.
    self.assertEqual(sorted(os.listdir(other)), ["space.json"])

  def test_bad_files_and_failed_cases_write_nothing(self):
    truncated = os.path.join(self.tmp, "truncated.pth")
    with open(MBV3, "rb") as src, open(truncated, "wb") as dst:
      dst.write(src.read(700_000))
    for checkpoint in (truncated, RESNET50, os.path.join(self.tmp, "missing.pth")):
      output = os.path.join(self.tmp, "out_" + os.path.basename(checkpoint))
      self.assertEqual(binary.run(self._config(output, checkpoint=checkpoint)), 2, checkpoint)
      self.assertFalse(os.path.exists(output), checkpoint)
    with open(MBV3_CASES) as f:
      cases = json.load(f)
    cases["cases"][7]["predicted"] += 2e-5
    off = os.path.join(self.tmp, "off_cases.json")
    with open(off, "w") as f:
      json.dump(cases, f)
    output = os.path.join(self.tmp, "out_off")
    self.assertEqual(binary.run(self._config(output, verify_cases=off)), 1)
    self.assertFalse(os.path.exists(output))

  @pytest.mark.slow  # Two interpreter starts with TensorFlow (~12 s each).
  def test_binary_reproduces_both_oracles(self):
    runs = [("ofa_mbv3_w1.2", MBV3, MBV3_CASES)]
    if "ofa_resnet50" in ss.space_names():
      runs.append(("ofa_resnet50", RESNET50, RESNET50_CASES))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [os.getcwd()] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    for space, checkpoint, cases in runs:
      result = subprocess.run(
          [sys.executable, "export/import_accuracy_predictor.py", f"--checkpoint={checkpoint}",
           f"--space={space}", f"--verify_cases={cases}"],
          capture_output=True, text=True, env=env, check=False)
      self.assertEqual(result.returncode, 0, result.stderr[-2000:])
      self.assertIn("all 40 cases within 1e-05", result.stdout)
      self.assertEqual(result.stdout.count("  ok"), 40)

if __name__ == "__main__":
  tf.test.main()
