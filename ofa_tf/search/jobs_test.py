"""End-to-end tests of the work-directory jobs: dataset -> predictor -> search -> report."""

import json
import os

import numpy as np
import tensorflow as tf

from ofa_tf.search import accuracy_dataset as dataset
from ofa_tf.search import jobs
from ofa_tf.search.constraints import InfeasibleConstraintsError
from ofa_tf.search.evolution import EvolutionConfig
from ofa_tf.search.accuracy_predictor import PredictorTrainConfig
from ofa_tf.search.search_test_util import synthetic_evaluate
from ofa_tf.search_space import SubnetConfig, get_space

_EVOLUTION = EvolutionConfig(population_size=20, generations=10)
_TRAIN = PredictorTrainConfig(hidden_units=(64, 64, 64), epochs=20, batch_size=32)


def make_workdir(root):
  """A work directory with a synthetic dataset and a trained predictor (tiny space)."""
  space = get_space("ofa_mbv3_tiny")
  dataset.build_accuracy_dataset(space, synthetic_evaluate(space),
                                 os.path.join(root, dataset.DATASET_FILE), num_subnets=40,
                                 seed=0)
  report = jobs.train_predictor_job(jobs.TrainPredictorJobConfig(root, _TRAIN))
  return space, report


class JobsTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.root = os.path.join(tf.compat.v1.test.get_temp_dir(), "jobs_workdir")
    cls.space, cls.report = make_workdir(cls.root)

  def test_predictor_job(self):
    self.assertEqual(self.report.num_train + self.report.num_val, 120)
    self.assertTrue(os.path.exists(os.path.join(self.root, "accuracy_predictor",
                                                "predictor.json")))
    with self.assertRaises(FileExistsError):
      jobs.train_predictor_job(jobs.TrainPredictorJobConfig(self.root, _TRAIN))

  def test_search_job_and_outputs(self):
    config = jobs.SearchJobConfig(self.root, constraints=("macs:5e6", "params:2.5e5"),
                                  evolution=_EVOLUTION, cloud_size=200, overwrite=True)
    result = jobs.run_search_job(config)
    self.assertLen(result.chosen, 1)
    best = result.chosen[0]
    self.assertLessEqual(self.space.macs(best.config), 5e6)
    self.assertLessEqual(self.space.params(best.config), 2.5e5)
    result_path, best_path, plot_path = result.files
    with open(best_path) as f:
      self.assertEqual(SubnetConfig.from_json(f.read()), best.config)
    with open(result_path) as f:
      payload = json.load(f)
    self.assertEqual(payload["constraints"], ["macs:5e+06", "params:250000"])
    self.assertAllClose(payload["chosen"][0]["predicted_top1"], best.predicted_top1)
    with open(plot_path, "rb") as f:
      self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
    self.assertIn("pred top-1 %", result.table)
    self.assertIn("MMACs", result.table.splitlines()[0])
    with self.assertRaises(FileExistsError):
      jobs.run_search_job(config.__class__(**{**config.__dict__, "overwrite": False}))

  def test_pareto_job(self):
    config = jobs.SearchJobConfig(self.root, constraints=("macs:8e6",), pareto=True,
                                  num_budgets=4, evolution=_EVOLUTION, cloud_size=200,
                                  overwrite=True)
    result = jobs.run_search_job(config)
    self.assertNotEmpty(result.front)
    macs = [c.metrics["macs"] for c in result.front]
    acc = [c.predicted_top1 for c in result.front]
    self.assertEqual(macs, sorted(macs))
    self.assertTrue(np.all(np.diff(acc) > 0))
    self.assertLessEqual(max(macs), 8e6)
    self.assertLen(result.table.splitlines(), len(result.front) + 1)

  def test_infeasible_job(self):
    config = jobs.SearchJobConfig(self.root, constraints=("macs:1e3",), evolution=_EVOLUTION,
                                  overwrite=True)
    with self.assertRaisesRegex(InfeasibleConstraintsError, "smallest achievable"):
      jobs.run_search_job(config)


if __name__ == "__main__":
  tf.test.main()
