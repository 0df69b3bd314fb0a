"""The main job through the installed `ofa-tf` command, run from `/` (slow: a few minutes).

Builds and installs the wheel as `package_test` does, then runs tools/pip_main_job.sh: train
(smoke preset, all phases) -> accuracy-dataset -> train-predictor -> search -> export. Nothing
of the checkout is on the path or in the working directory, so a file read relative to the
checkout at run time fails here. `.ci/run` runs the same script after a full `pip install`.
"""

import os
import subprocess

import pytest
import tensorflow as tf

from ofa_tf import package_test


@pytest.mark.slow
class InstalledMainJobTest(tf.test.TestCase):

  def test_train_search_export_from_root(self):
    package = package_test.InstalledPackage()
    try:
      workdir = os.path.join(package.tmp, "work")
      script = os.path.join(package_test.ROOT, "tools", "pip_main_job.sh")
      run = subprocess.run([script, os.path.join(package.bin, "ofa-tf"), workdir], cwd="/",
                           env=package.env, capture_output=True, text=True, timeout=1800)
      self.assertEqual(run.returncode, 0, msg=run.stdout[-3000:] + run.stderr[-3000:])
      self.assertIn("main job through", run.stdout)
      # The export's table row: target, method, size in bytes, LiteRT top-1.
      self.assertRegex(run.stdout, r"\| cpu_int8 \| ptq \| \d+ \| \d+\.\d\d% \|")
      for phase_file in ("phase_results.json", "search/best_subnet.json"):
        self.assertTrue(os.path.exists(os.path.join(workdir, phase_file)))
    finally:
      package.remove()


if __name__ == "__main__":
  tf.test.main()
