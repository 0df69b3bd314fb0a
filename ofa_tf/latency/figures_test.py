"""Tests of the README figures block."""

import tensorflow as tf

from ofa_tf.latency import figures
from ofa_tf.latency import host

HOST = dict(host.host_fingerprint("model name\t: Test CPU\nflags\t\t: avx2 avx512f\n", "2.3.0",
                                  "x86_64"), profile="cpu_xnnpack_1t", num_threads=1)
METRICS = {"n": 60, "rmse_ms": 0.355, "mape": 1.37, "within_5": 96.7, "within_10": 100.0}


class FiguresTest(tf.test.TestCase):

  def test_block(self):
    tables = {"cpu_xnnpack_1t": {
        "host": HOST, "num_layers": 627, "build_seconds": {"convert": 138.2, "measure": 63.4,
                                                           "calibration": 56.0},
        "unstable_layers": {"a": {}, "b": {}},
        "correction": {"kind": "resolution", "loo_mape": {"linear": 1.37, "resolution": 1.14}}}}
    reports = {"cpu_xnnpack_1t": {"seed": 4242, "table": METRICS,
                                  "table_raw_sum": dict(METRICS, within_10=61.7)}}
    block = figures.format_figures(tables, reports, ["python export/build_latency_table.py"])
    self.assertTrue(block.startswith(figures.BEGIN) and block.endswith(figures.END))
    self.assertIn(f"Host: Test CPU (x86_64, {HOST['cpu_count']} CPUs, profile cpu_xnnpack_1t, "
                  "num_threads 1, avx2+avx512f, LiteRT 2.3.0).", block)
    self.assertIn("| `cpu_xnnpack_1t` | 4 min 18 s (138 + 63 + 56 s) | 627 | 2 | resolution "
                  "(linear 1.37%, resolution 1.14%) |", block)
    self.assertIn("| `cpu_xnnpack_1t` (60 subnets, seed 4242) | table + correction | 0.355 | "
                  "1.37% | 96.7% | 100.0% |", block)
    self.assertIn("|  | table, raw sum | 0.355 | 1.37% | 96.7% | 61.7% |", block)
    self.assertIn("python export/build_latency_table.py", block)
    with self.assertRaisesRegex(ValueError, "at least one table"):
      figures.format_figures({}, {})

  def test_replace_block(self):
    old = f"intro\n{figures.BEGIN}\nold figures\n{figures.END}\noutro\n"
    new = f"{figures.BEGIN}\nnew\n{figures.END}"
    self.assertEqual(figures.replace_block(old, new), f"intro\n{new}\noutro\n")
    self.assertEqual(figures.replace_block("intro\n", new), f"intro\n\n{new}\n")
    with self.assertRaisesRegex(ValueError, "unbalanced"):
      figures.replace_block(f"{figures.END} {figures.BEGIN}", new)


if __name__ == "__main__":
  tf.test.main()
