"""Tests of the in-process LiteRT runner on a recorded tiny model."""

import os

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
