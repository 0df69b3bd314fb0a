"""Tests of the in-process LiteRT runner on a recorded tiny model."""

import os
import time

import numpy as np
import tensorflow as tf

from ofa_tf.latency import device_spec as ds
from ofa_tf.latency import litert_runner
from ofa_tf.latency import measure as measure_lib

MODEL = os.path.join(os.path.dirname(__file__), "..", "..", "testdata", "latency",
                     "tiny_conv_fp32.tflite")


class LiteRTRunnerTest(tf.test.TestCase):

  def test_measure_path_and_bytes(self):
    spec = ds.get_profile("cpu_xnnpack_1t", warmup_runs=2, num_runs=5, rounds=3)
    stats = measure_lib.measure(MODEL, spec)
    self.assertEqual(stats.count, 15)
    self.assertGreater(stats.median_ms, 0.0)
    self.assertLessEqual(stats.min_ms, stats.median_ms)
    with open(MODEL, "rb") as f:
      stats = measure_lib.measure(f.read(), spec.replace(use_xnnpack=False))
    self.assertEqual(stats.count, 15)

  def test_measure_many_times_every_model_once_per_pass(self):
    spec = ds.get_profile("cpu_xnnpack_1t", warmup_runs=1, num_runs=4, rounds=1, passes=3,
                          stable_rse=0.0)
    with open(MODEL, "rb") as f:
      data = f.read()
    progress = []
    stats = measure_lib.measure_many([MODEL, data], spec,
                                     progress=lambda *a: progress.append(a[:2]))
    self.assertLen(stats, 2)
    self.assertEqual([s.count for s in stats], [12, 12])
    self.assertEqual(progress, [(i, 6) for i in range(1, 7)])
    self.assertTrue(all(0 < s.min_ms <= s.median_ms for s in stats))

  def test_builtin_profile_runs_without_the_xnnpack_delegate(self):
    # The XNNPACK delegate replaces the nodes it takes by one DELEGATE node.
    for profile, delegated in (("cpu_xnnpack_1t", True), ("cpu_builtin_1t", False)):
      spec = ds.get_profile(profile)
      interp = litert_runner.make_interpreter(MODEL, spec.num_threads, spec.use_xnnpack)
      ops = [op["op_name"] for op in interp._get_ops_details()]  # pylint: disable=protected-access
      self.assertEqual("DELEGATE" in ops, delegated, f"{profile}: {ops}")
      self.assertIn("DEPTHWISE_CONV_2D", ops)

  def test_round_budget_gives_slow_models_fewer_runs(self):
    class SleepyInterpreter:
      def __init__(self, seconds):
        self.seconds, self.invokes = seconds, 0

      def invoke(self):
        self.invokes += 1
        time.sleep(self.seconds)

    fast = SleepyInterpreter(0.001)  # 10 runs of 1 ms fit a 200 ms budget
    stats = litert_runner.time_interpreter(fast, 3, 10, 1, max_round_ms=200.0)
    self.assertEqual((stats.count, fast.invokes), (10, 13))
    medium = SleepyInterpreter(0.02)  # 50 // 20 = 2 runs, raised to the minimum of 3
    stats = litert_runner.time_interpreter(medium, 3, 10, 1, max_round_ms=50.0)
    self.assertEqual((stats.count, medium.invokes), (3, 6))
    self.assertGreaterEqual(stats.min_ms, 20.0)
    slow = SleepyInterpreter(0.06)  # the first warm-up uses the budget: 1 warm-up, 3 runs
    stats = litert_runner.time_interpreter(slow, 3, 10, 1, max_round_ms=50.0)
    self.assertEqual((stats.count, slow.invokes), (3, 4))
    unlimited = SleepyInterpreter(0.02)
    stats = litert_runner.time_interpreter(unlimited, 1, 4, 2)
    self.assertEqual((stats.count, unlimited.invokes), (8, 9))

  def test_rejects_other_types(self):
    with self.assertRaisesRegex(TypeError, "path \\(str\\) or bytes"):
      litert_runner.LiteRTRunner().measure(3, ds.get_profile("cpu_xnnpack_1t"))

  def test_random_inputs_match_dtype(self):
    interp = litert_runner.make_interpreter(MODEL)
    litert_runner.fill_random_inputs(interp, np.random.default_rng(0))
    detail = interp.get_input_details()[0]
    value = interp.get_tensor(detail["index"])
    self.assertEqual(value.dtype, np.float32)
    self.assertAllInRange(value, -1.0, 1.0)


if __name__ == "__main__":
  tf.test.main()
