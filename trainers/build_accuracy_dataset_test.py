"""Tests the binary's wiring with a stand-in for `ofa_tf.training.evaluation`.

The binary runs in a subprocess (absl flags of several binaries cannot share one process)
with a stand-in `ofa_tf.training.evaluation` module in `sys.modules`, so the test needs no
trained supernet and holds whether or not the trainer's module exists yet.
"""

import os
import subprocess
import sys

import tensorflow as tf

from ofa_tf.search import accuracy_dataset as dataset

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_SCRIPT = """
import sys, types
from absl import app
from ofa_tf.search.search_test_util import synthetic_evaluate
from ofa_tf.search_space import get_space

class Evaluator:
  def __init__(self, workdir):
    self.space = get_space("ofa_mbv3_tiny")
    self._evaluate = synthetic_evaluate(self.space)
  def __call__(self, config):
    return self._evaluate(config)

fake = types.ModuleType("ofa_tf.training.evaluation")
fake.make_subnet_evaluator = Evaluator
training = types.ModuleType("ofa_tf.training")
training.evaluation = fake
sys.modules.update({"ofa_tf.training": training, "ofa_tf.training.evaluation": fake})
from trainers import build_accuracy_dataset
app.run(build_accuracy_dataset.main, argv=["build_accuracy_dataset"] + sys.argv[1:])
"""


class BuildAccuracyDatasetBinaryTest(tf.test.TestCase):

  def test_main_writes_rows_and_resumes(self):
    workdir = self.get_temp_dir()
    argv = [sys.executable, "-c", _SCRIPT, f"--workdir={workdir}", "--num_subnets=3",
            "--seed=5", "--resolutions=24,32"]
    env = dict(os.environ, PYTHONPATH=_ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    for _ in range(2):  # The second run resumes and has nothing to add.
      run = subprocess.run(argv, cwd=_ROOT, env=env, capture_output=True, text=True,
                           timeout=300)
      self.assertEqual(run.returncode, 0, msg=run.stderr[-3000:])
    self.assertIn("6 rows in", run.stderr)
    rows = dataset.read_rows(os.path.join(workdir, dataset.DATASET_FILE))
    self.assertLen(rows, 6)
    self.assertEqual([r.resolution for r in rows], [24, 32] * 3)


if __name__ == "__main__":
  tf.test.main()
