"""Accuracy-guided search with the released predictor formats: on an imported w1.2 work
directory with the released OFA-MobileNetV3 predictor format (../shared/reference/
acc_mbv3_seed0.pth, random weights) and the released Note10 latency tables under
`latency_ms:note10:25`, and on OFA-ResNet50 with its released predictor format
(acc_resnet50_seed0.pth) under a MACs budget."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import tensorflow as tf

from ofa_tf import search_space as ss
from ofa_tf.interop import accuracy_predictor_import as api
from ofa_tf.interop.note10_latency import note10_predictor
from ofa_tf.search.constraints import Constraint, Metrics
from ofa_tf.search.efficiency import EfficiencyTables
from ofa_tf.search.evolution import EvolutionConfig, evolutionary_search, random_search
from ofa_tf import workdir as workdir_lib

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REFERENCE = os.path.join(_ROOT, "..", "shared", "reference")
MBV3 = os.path.join(REFERENCE, "acc_mbv3_seed0.pth")
RESNET50 = os.path.join(REFERENCE, "acc_resnet50_seed0.pth")
NOTE10 = os.path.join(REFERENCE, "ofa_note10_lut")
BUDGET = Constraint.parse("latency_ms:note10:25")


class ImportedSearchTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    if not os.path.isdir(REFERENCE):
      self.skipTest("../shared/reference not beside the checkout")
    self.predictor = api.read_released_predictor(MBV3, "ofa_mbv3_w1.2")
    self.latency = note10_predictor(NOTE10)

  def test_search_binary_uses_the_work_directory_predictor_with_no_flag(self):
    work = os.path.join(self.get_temp_dir(), "w12")
    workdir_lib.write_space(work, ss.get_space("ofa_mbv3_w1.2"))
    api.install_predictor(self.predictor, work)
    shutil.copytree(NOTE10, os.path.join(work, "latency", "note10"))
    env = dict(os.environ, PYTHONPATH=_ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    run = subprocess.run(
        [sys.executable, "-m", "trainers.search", f"--workdir={work}",
         f"--constraint={BUDGET}", "--population_size=50", "--generations=20"],
        cwd=_ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    self.assertEqual(run.returncode, 0, run.stderr[-3000:])
    with open(os.path.join(work, "search", "result.json")) as f:
      chosen = json.load(f)["chosen"][0]
    best = ss.SubnetConfig.from_dict(chosen["config"])
    self.assertIn(best.r, api.RELEASED["ofa_mbv3_w1.2"].resolutions)
    self.assertLessEqual(self.latency.latency(best), 25.0)
    self.assertAllClose(chosen["metrics"]["latency_ms:note10"], self.latency.latency(best))
    self.assertAllClose(chosen["predicted_top1"], self.predictor.predict([best])[0], rtol=1e-6)

  def _search_and_brute_force(self, predictor, metrics, budget, measure):
    """Runs a small search recording every candidate it scores; checks by brute force that
    all are within `budget` (recomputed with `measure(configs)`) and that the returned one is
    the highest predicted of them. Returns the result."""
    evaluated = []

    def accuracy_fn(genes):
      evaluated.append(genes)
      return predictor.predict_genes(genes)

    result = evolutionary_search(metrics, accuracy_fn, [budget],
                                 EvolutionConfig(population_size=50, generations=20, seed=0))
    configs = metrics.codec.decode(np.concatenate(evaluated))
    self.assertLessEqual(np.max(measure(configs)), budget.budget)
    predicted = predictor.predict(configs)
    self.assertAllClose(result.best.predicted_top1, predicted.max(), rtol=1e-6)
    self.assertEqual(result.best.config, configs[int(np.argmax(predicted))])
    # It beats 2,000 random feasible subnets and the search that ranks by parameter count
    # (what the imported export test did before a predictor existed).
    sampled = random_search(metrics, predictor.predict_genes, [budget], 2000, seed=1)
    self.assertGreater(result.best.predicted_top1, sampled.best.predicted_top1)
    tables = EfficiencyTables(predictor.space)
    by_params = evolutionary_search(metrics, lambda g: tables.params(g).astype(np.float64),
                                    [budget], EvolutionConfig(population_size=50,
                                                              generations=20, seed=0))
    self.assertGreater(result.best.predicted_top1,
                       predictor.predict([by_params.best.config])[0])
    return result

  def test_mbv3_best_is_the_highest_predicted_within_the_note10_budget(self):
    metrics = Metrics(self.predictor.space, lambda profile: self.latency.latency_batch)
    self._search_and_brute_force(self.predictor, metrics, BUDGET, self.latency.latency_batch)

  def test_resnet50_best_is_the_highest_predicted_within_a_macs_budget(self):
    predictor = api.read_released_predictor(RESNET50, "ofa_resnet50")
    space = predictor.space
    budget = Constraint.parse("macs:2e9")
    self.assertLess(space.macs(space.min_config()), 2e9)
    self.assertGreater(space.macs(space.max_config()), 2e9)
    result = self._search_and_brute_force(predictor, Metrics(space), budget,
                                          lambda configs: [space.macs(c) for c in configs])
    self.assertIn(result.best.config.r, api.RELEASED["ofa_resnet50"].resolutions)

if __name__ == "__main__":
  tf.test.main()
