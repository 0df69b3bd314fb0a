"""Tests the search binary end to end in a subprocess (no TensorFlow import there).

(absl flags of several binaries cannot share one test process.)
"""

import json
import os
import subprocess
import sys

import tensorflow as tf

from ofa_tf.search import jobs
from ofa_tf.search.accuracy_predictor import PredictorTrainConfig
from ofa_tf.search.search_test_util import write_synthetic_dataset
from ofa_tf.search_space import SubnetConfig

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_binary(test, module, *flags):
  env = dict(os.environ, PYTHONPATH=_ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
  run = subprocess.run([sys.executable, "-m", module, *flags], cwd=_ROOT, env=env,
                       capture_output=True, text=True, timeout=300)
  test.assertEqual(run.returncode, 0, msg=run.stderr[-3000:])
  return run.stdout


class SearchBinariesTest(tf.test.TestCase):

  def test_search(self):
    workdir = self.get_temp_dir()
    space = write_synthetic_dataset(workdir, 20)
    jobs.train_predictor_job(jobs.TrainPredictorJobConfig(
        workdir, PredictorTrainConfig(hidden_units=(32,), epochs=5)))
    out = run_binary(self, "trainers.search", f"--workdir={workdir}", "--constraint=macs:5e6",
                     "--constraint=params:3e5", "--generations=5", "--population_size=20")
    self.assertIn("pred top-1 %", out)
    with open(os.path.join(workdir, "search", "best_subnet.json")) as f:
      best = SubnetConfig.from_json(f.read())
    self.assertLessEqual(space.macs(best), 5e6)
    self.assertLessEqual(space.params(best), 3e5)
    out = run_binary(self, "trainers.search", f"--workdir={workdir}", "--constraint=macs:5e6",
                     "--pareto", "--num_budgets=3", "--generations=5", "--population_size=20",
                     "--overwrite")
    with open(os.path.join(workdir, "search", "result.json")) as f:
      self.assertEqual(json.load(f)["key"], "macs")
    self.assertTrue(os.path.exists(os.path.join(workdir, "search", "front.png")))


if __name__ == "__main__":
  tf.test.main()
