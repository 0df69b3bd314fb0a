"""Tests of the benchmark_model / litert-benchmark output parsers against recorded output."""

import json
import os

import tensorflow as tf

from ofa_tf.latency import benchmark_output as bo

TESTDATA = os.path.join(os.path.dirname(__file__), "..", "..", "testdata", "latency")


def _read(name):
  with open(os.path.join(TESTDATA, name)) as f:
    return f.read()


class TimingsTest(tf.test.TestCase):

  def test_current_form(self):
    t = bo.parse_benchmark_timings(_read("google_research_802_current.txt"))
    self.assertEqual(t.form, "current")
    self.assertAllClose([t.init_ms, t.first_inference_ms, t.warmup_avg_ms, t.inference_avg_ms],
                        [17.851, 2.104, 1.04115, 1.03966])
    self.assertLen(t.series, 2)
    timed = t.series[1]
    self.assertEqual(timed.count, 1000)
    self.assertAllClose([timed.first_ms, timed.curr_ms, timed.min_ms, timed.max_ms, timed.avg_ms,
                         timed.std_ms], [1.040, 1.018, 1.012, 1.190, 1.03966, 0.022])
    stats = t.to_stats()
    self.assertAllClose([stats.mean_ms, stats.std_ms, stats.min_ms], [1.03966, 0.022, 1.012])
    self.assertEqual(stats.count, 1000)

  def test_current_form_other_recordings(self):
    for name, avg, count in [("tensorflow_42507_android_current_profiling_head.txt", 33.2094, 50),
                             ("xnnpack_999_rpi_int8_current.txt", 55.0432, 50),
                             ("tensorflow_43541_android_gpu_current.txt", 119.375, 50)]:
      stats = bo.parse_benchmark_timings(_read(name)).to_stats()
      self.assertAllClose(stats.mean_ms, avg, msg=name)
      self.assertEqual(stats.count, count, msg=name)

  def test_legacy_form(self):
    t = bo.parse_benchmark_timings(_read("tf_readme_legacy_op_profiling.txt"))
    self.assertEqual(t.form, "legacy")
    self.assertIsNone(t.first_inference_ms)
    self.assertAllClose([t.warmup_avg_ms, t.init_ms, t.inference_avg_ms],
                        [83.235, 38.467, 79.7609])
    stats = t.to_stats()
    self.assertEqual(stats.count, 50)
    self.assertAllClose(stats.min_ms, 77.385)

  def test_legacy_no_stats_form(self):
    t = bo.parse_benchmark_timings(_read("yuenshome_77_legacy_nostats.txt"))
    self.assertEqual(t.form, "legacy")
    self.assertAllClose(t.inference_avg_ms, 66.7676)
    self.assertEqual(t.to_stats().count, 15)

  def test_no_timing_line_quotes_output(self):
    text = "STARTING!\nFailed to load model /data/local/tmp/x.tflite\n"
    with self.assertRaisesRegex(bo.BenchmarkOutputError, "Failed to load model"):
      bo.parse_benchmark_timings(text)


class OpProfilingTest(tf.test.TestCase):

  def test_three_tables(self):
    tables = bo.parse_op_profiling(_read("tf_readme_legacy_op_profiling.txt"))
    self.assertEqual([t.title for t in tables],
                     ["Run Order", "Top by Computation Time", "Summary by node type"])
    run_order, top, summary = tables
    self.assertLen(run_order.rows, 31)
    first = run_order.rows[0]
    self.assertEqual(first.node_type, "CONV_2D")
    self.assertEqual(first.name, "MobilenetV1/MobilenetV1/Conv2d_0/Relu6")
    self.assertAllClose([first.start_ms, first.first_ms, first.avg_ms, first.percent,
                         first.cdf_percent], [0.0, 4.269, 4.269, 0.107, 0.107])
    self.assertEqual(run_order.rows[-1].node_type, "SOFTMAX")
    self.assertLen(top.rows, 10)
    self.assertEqual(top.rows[0].name, "MobilenetV1/MobilenetV1/Conv2d_3_pointwise/Relu6")
    self.assertAllClose(top.rows[0].avg_ms, 6.652)
    self.assertEqual([r.node_type for r in summary.rows],
                     ["CONV_2D", "DEPTHWISE_CONV_2D", "SOFTMAX", "RESHAPE", "AVERAGE_POOL_2D"])
    self.assertEqual([r.count for r in summary.rows], [15, 13, 1, 1, 1])
    self.assertAllClose(summary.rows[1].percent, 10.730)

  def test_summary_with_times_called(self):
    (summary,) = bo.parse_op_profiling(_read("tensorflow_61950_summary_by_node_type.txt"))
    self.assertEqual(summary.rows[0].times_called, 15)
    self.assertAllClose([r.avg_ms for r in summary.rows], [38.265, 27.230, 0.007])

  def test_space_separated_table(self):
    text = ("============================== Run Order ==============================\n"
            "                     [node type]                  [start]         [first]        "
            "[avg ms]            [%]          [cdf%]          [mem KB]      [times called]  "
            "[Name]\n"
            "               DEPTHWISE_CONV_2D                    0.000           0.802           "
            "0.719        45.131%         45.131%             0.000              1       "
            "[Relu6]\n\n")
    (table,) = bo.parse_op_profiling(text)
    self.assertLen(table.rows, 1)
    self.assertEqual(table.rows[0].name, "Relu6")
    self.assertAllClose(table.rows[0].avg_ms, 0.719)

  def test_header_only_table(self):
    tables = bo.parse_op_profiling(_read("tensorflow_42507_android_current_profiling_head.txt"))
    self.assertEqual(tables[0].title, "Run Order")
    self.assertEmpty(tables[0].rows)


class LiteRTBenchmarkOutputTest(tf.test.TestCase):

  def test_stdout(self):
    stats = bo.parse_litert_benchmark(_read("litert_benchmark_stdout.txt"))
    self.assertEqual(stats.count, 20)
    self.assertAllClose([stats.median_ms, stats.mean_ms, stats.min_ms], [0.02, 0.02, 0.02])

  def test_result_json(self):
    stats = bo.litert_result_json_to_stats(json.loads(_read("litert_benchmark_result.json")))
    self.assertEqual(stats.count, 20)
    self.assertAllClose(stats.median_ms, 0.02)

  def test_missing_line(self):
    with self.assertRaisesRegex(bo.BenchmarkOutputError, "Inference \\(avg\\)"):
      bo.parse_litert_benchmark("Traceback ...\nRuntimeError: bad model")


if __name__ == "__main__":
  tf.test.main()
