"""Tests the search binary end to end in a subprocess (no TensorFlow import there).

(absl flags of several binaries cannot share one test process.)
"""

import json
import os
import subprocess
import sys

import tensorflow as tf

from ofa_tf.latency import host
from ofa_tf.latency import lut
from ofa_tf.latency import network_layers
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


def write_delegate_tables(tables_dir, space):
  """Synthetic tables of this host for two delegates of one CPU (issue 17): 'xnn' runs 3x3/5x5
  blocks in 0.1 ms and 7x7 blocks in 20 ms (the XNNPACK slow path), 'builtin' every block in
  0.5 ms; other layers 0.5 ms on both."""
  layers = network_layers.space_layers(space, space.resolutions)
  for profile, k7_ms, block_ms in (("xnn", 20.0, 0.1), ("builtin", 0.5, 0.5)):
    table = lut.LatencyTable(metadata={
        "space": space.name, "device": {"name": profile, "runner": "litert", "adb": False},
        "host": dict(host.host_fingerprint(), profile=profile, num_threads=1)})
    for r, rl in layers.items():
      for layer in rl:
        kernel = lut.parse_key(layer.key).get("kernel")
        ms = 0.5 if layer.kind != "block" else (k7_ms if kernel == 7 else block_ms)
        table.put(r, layer.key, lut.LutEntry(mean=ms, estimate=ms))
    lut.save_table(table, os.path.join(tables_dir, profile + ".json"))


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

  def test_search_best_of_two_delegates(self):
    workdir = self.get_temp_dir()
    space = write_synthetic_dataset(workdir, 20)
    jobs.train_predictor_job(jobs.TrainPredictorJobConfig(
        workdir, PredictorTrainConfig(hidden_units=(32,), epochs=5)))
    tables = os.path.join(workdir, "tables")
    os.makedirs(tables)
    write_delegate_tables(tables, space)

    def search(constraint):
      run_binary(self, "trainers.search", f"--workdir={workdir}", f"--constraint={constraint}",
                 f"--latency_tables_dir={tables}", "--latency_host_check=error",
                 "--generations=5", "--population_size=20", "--overwrite")
      with open(os.path.join(workdir, "search", "result.json")) as f:
        best = json.load(f)["best"]
      config = SubnetConfig.from_dict(best["config"])
      k7 = sum(config.ks[b] == 7 for b in space.active_blocks(config))
      return best["metrics"], k7

    # XNNPACK alone: any 7x7 block costs 20 ms, over the 10 ms budget.
    metrics, k7 = search("latency_ms:xnn:10")
    self.assertEqual(k7, 0)
    self.assertLessEqual(metrics["latency_ms:xnn"], 10.0)
    # The best of both delegates keeps the 7x7 subnets (the builtin kernels run them in
    # budget), and the search, favouring larger subnets, picks some.
    metrics, k7 = search("latency_ms:xnn|builtin:10")
    self.assertGreater(k7, 0)
    self.assertLessEqual(metrics["latency_ms:xnn|builtin"], 10.0)


if __name__ == "__main__":
  tf.test.main()
