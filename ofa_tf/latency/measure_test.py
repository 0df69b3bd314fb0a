"""Tests of interleaved passes and the stability loop (`measure_until_stable`), fake timer."""

import numpy as np
import tensorflow as tf

from ofa_tf.latency import device_spec as ds
from ofa_tf.latency import measure
from ofa_tf.latency.stats import LatencyStats


def noise_of(n):
  return [0.7 + 0.6 * ((i * 0.618034) % 1) for i in range(n)]


class ScriptedTimer:
  """A runner whose n-th timing of model m is `script[m](n)` ms; records every call."""

  def __init__(self, script):
    self.script = script
    self.calls = []

  def measure(self, model, spec):
    n = sum(1 for m in self.calls if m == model)
    self.calls.append(model)
    v = self.script[model](n)
    return LatencyStats(v, v, 0.0, v, spec.num_runs)


class RelativeStandardErrorTest(tf.test.TestCase):

  def test_matches_numpy(self):
    v = [1.0, 1.2, 0.9, 1.1]
    self.assertAlmostEqual(measure.relative_standard_error(v),
                           np.std(v, ddof=1) / 2 / np.mean(v))
    self.assertEqual(measure.relative_standard_error([3.0]), 0.0)

  def test_fast_half_ignores_disturbed_passes(self):
    # Interference only adds time: one slow pass among agreeing ones is not instability.
    self.assertEqual(measure.fast_half_rse([2.0, 3.0, 2.0]), 0.0)
    self.assertAlmostEqual(measure.fast_half_rse([2.0, 9.0, 2.4, 5.0]),
                           measure.relative_standard_error([2.0, 2.4]))


class MeasureUntilStableTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.spec = ds.DeviceSpec("fake", num_runs=2, rounds=1, passes=3, stable_rse=0.02,
                              max_passes=12)
    # +-30% forever, spread evenly over [0.7, 1.3] (golden-ratio sequence): the fast passes
    # never agree, like the kernel-7 layers of issue 17.
    noise = noise_of(100)
    self.script = {
        "steady": lambda n: 1.0,                       # identical passes: rse 0
        "settles": lambda n: [2.0, 2.4, 3.0][n] if n < 3 else 2.0,  # fast passes disagree
        "erratic": lambda n: 5.0 * noise[n],
    }

  def test_extra_passes_only_for_unstable_models(self):
    timer = ScriptedTimer(self.script)
    progress = []
    results = measure.measure_until_stable(["steady", "settles", "erratic"], self.spec, timer,
                                           progress=lambda d, t, s: progress.append((d, t)))
    steady, settles, erratic = results
    self.assertEqual((steady.passes, steady.rse, steady.stable), (3, 0.0, True))
    self.assertEqual(steady.stats.min_ms, 1.0)
    # Fastest half of 2, 2.4, 3 disagrees (rse 9%): timed again until 2 ms passes agree.
    self.assertTrue(settles.stable)
    self.assertGreater(settles.passes, 3)
    self.assertLessEqual(settles.rse, 0.02)
    self.assertGreater(measure.fast_half_rse(settles.pass_estimates_ms[:-1]), 0.02)
    self.assertEqual(settles.stats.min_ms, 2.0)
    # Never stable: capped at max_passes and reported.
    self.assertEqual(erratic.passes, 12)
    self.assertFalse(erratic.stable)
    self.assertGreater(erratic.rse, 0.02)
    self.assertAlmostEqual(erratic.stats.min_ms, 5.0 * min(noise_of(12)))
    # Pass 0 in order; the steady model is never timed after the minimum passes.
    self.assertEqual(timer.calls[:3], ["steady", "settles", "erratic"])
    self.assertEqual(timer.calls.count("steady"), 3)
    self.assertEqual(len(timer.calls), 3 + settles.passes + 12)
    self.assertEqual([d for d, _ in progress], list(range(1, len(timer.calls) + 1)))
    self.assertEqual(progress[-1], (len(timer.calls), len(timer.calls)))

  def test_fixed_passes_without_threshold(self):
    timer = ScriptedTimer(self.script)
    spec = self.spec.replace(stable_rse=0.0)
    results = measure.measure_until_stable(["steady", "erratic"], spec, timer)
    self.assertEqual([r.passes for r in results], [3, 3])
    self.assertTrue(all(r.stable for r in results))
    self.assertLen(timer.calls, 6)
    stats = measure.measure_many(["steady", "erratic"], spec, ScriptedTimer(self.script))
    self.assertEqual([s.count for s in stats], [6, 6])

  def test_spec_validation(self):
    with self.assertRaisesRegex(ValueError, "max_passes"):
      ds.DeviceSpec("x", passes=5, max_passes=3, stable_rse=0.02)
    with self.assertRaisesRegex(ValueError, "stable_rse"):
      ds.DeviceSpec("x", stable_rse=-0.1)
    self.assertEqual(ds.DeviceSpec("x", passes=5, max_passes=20).pass_limit, 5)
    self.assertEqual(ds.DeviceSpec("x", passes=5, max_passes=20, stable_rse=0.02).pass_limit,
                     20)


if __name__ == "__main__":
  tf.test.main()
