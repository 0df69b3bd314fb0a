"""Tests the predictor-training binary in a subprocess (slow: it imports TensorFlow)."""

import os
import subprocess
import sys

import pytest
import tensorflow as tf

from ofa_tf.search.accuracy_predictor import AccuracyPredictor
from ofa_tf.search.search_test_util import write_synthetic_dataset

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class TrainAccuracyPredictorBinaryTest(tf.test.TestCase):

  @pytest.mark.slow
  def test_main(self):
    workdir = self.get_temp_dir()
    space = write_synthetic_dataset(workdir, 20)
    env = dict(os.environ, PYTHONPATH=_ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    run = subprocess.run([sys.executable, "-m", "trainers.train_accuracy_predictor",
                          f"--workdir={workdir}", "--epochs=5"], cwd=_ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    self.assertEqual(run.returncode, 0, msg=run.stderr[-3000:])
    self.assertRegex(run.stdout, r"held-out RMSE [0-9.]+ top-1 points, Kendall tau")
    predictor = AccuracyPredictor.load(os.path.join(workdir, "accuracy_predictor"), space)
    self.assertEqual(predictor.report.num_train + predictor.report.num_val, 60)


if __name__ == "__main__":
  tf.test.main()
