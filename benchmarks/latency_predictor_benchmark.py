"""Throughput of the batched latency predictor (issue target: >= 10,000 configs per second).

Scores random subnets of the width-1.2 space with the released Note10 tables
(../shared/reference/ofa_note10_lut), batched (as the search calls it) and one config at a
time, all measured in this run, and prints configs/s and the ratio.

  python benchmarks/latency_predictor_benchmark.py [--tables=DIR] [--num_configs=20000]
"""

import os
import time

from absl import app
from absl import flags
import numpy as np

from ofa_tf.latency import lut
from ofa_tf.latency import predictor as latency_predictor
from ofa_tf.search_space import get_space

_DEFAULT_TABLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared",
                               "reference", "ofa_note10_lut")
_TABLES = flags.DEFINE_string("tables", _DEFAULT_TABLES, "Directory of {r}_lookup_table.yaml.")
_NUM = flags.DEFINE_integer("num_configs", 20000, "Configs scored in the batched run.")


def main(argv):
  del argv
  table = lut.load_note10_tables(_TABLES.value)
  space = get_space("ofa_mbv3_w1.2").replace(resolutions=table.resolutions)
  predictor = latency_predictor.EfficiencyPredictor(table, space)
  rng = np.random.default_rng(0)
  configs = [space.sample(rng) for _ in range(_NUM.value)]
  predictor.latency_batch(configs[:100])  # Builds the dense per-resolution tables once.
  start = time.perf_counter()
  batched = predictor.latency_batch(configs)
  batched_rate = len(configs) / (time.perf_counter() - start)
  single = configs[:1000]
  start = time.perf_counter()
  one_by_one = [predictor.latency(c) for c in single]
  single_rate = len(single) / (time.perf_counter() - start)
  np.testing.assert_allclose(one_by_one, batched[:len(single)], rtol=1e-9)
  print(f"batched:       {batched_rate:12,.0f} configs/s ({len(configs)} configs)")
  print(f"one at a time: {single_rate:12,.0f} configs/s ({len(single)} configs)")
  print(f"ratio:         {batched_rate / single_rate:12.1f}x; target >= 10,000 configs/s: "
        f"{'met' if batched_rate >= 10_000 else 'NOT met'}")


if __name__ == "__main__":
  app.run(main)
