"""Tests of LatencyStats."""

import numpy as np
import tensorflow as tf

from ofa_tf.latency.stats import LatencyStats


class LatencyStatsTest(tf.test.TestCase):

  def test_from_samples(self):
    s = LatencyStats.from_samples_ms([1.0, 2.0, 3.0, 10.0])
    self.assertAllClose([s.median_ms, s.mean_ms, s.min_ms], [2.5, 4.0, 1.0])
    self.assertAllClose(s.std_ms, np.std([1.0, 2.0, 3.0, 10.0]))
    self.assertEqual(s.count, 4)

  def test_min_of_medians_rejects_a_disturbed_round(self):
    quiet = [1.0, 1.1, 1.0, 5.0, 1.05]
    busy = [2.0, 2.2, 2.1, 2.3, 2.0]
    s = LatencyStats.from_rounds([busy, quiet])
    self.assertAllClose(s.median_ms, 1.05)
    self.assertEqual(s.count, 10)
    self.assertAllClose(s.min_ms, 1.0)

  def test_combine_passes_equals_pooled_statistics(self):
    passes = [[2.0, 2.2, 2.1], [1.0, 1.2, 1.1, 0.9], [3.0, 3.5]]
    parts = [LatencyStats.from_samples_ms(p) for p in passes]
    pooled = np.concatenate(passes)
    s = LatencyStats.combine(parts)
    self.assertAllClose([s.median_ms, s.min_ms], [1.05, 0.9])  # fastest pass, fastest run
    self.assertAllClose([s.mean_ms, s.std_ms], [pooled.mean(), pooled.std()])
    self.assertEqual(s.count, 9)
    with self.assertRaisesRegex(ValueError, "at least one"):
      LatencyStats.combine([])

  def test_estimate(self):
    s = LatencyStats(2.0, 2.5, 0.3, 1.5, 10)
    self.assertEqual(s.estimate("median"), 2.0)
    self.assertEqual(s.estimate("min"), 1.5)
    with self.assertRaisesRegex(ValueError, "estimator"):
      s.estimate("mean")

  def test_json_round_trip_and_validation(self):
    s = LatencyStats(1.0, 1.1, 0.1, 0.9, 30)
    self.assertEqual(LatencyStats.from_json(s.to_json()), s)
    with self.assertRaisesRegex(ValueError, "count"):
      LatencyStats(1.0, 1.0, 0.0, 1.0, 0)
    with self.assertRaisesRegex(ValueError, "median_ms"):
      LatencyStats(float("nan"), 1.0, 0.0, 1.0, 1)
    with self.assertRaisesRegex(ValueError, "at least one round"):
      LatencyStats.from_rounds([])


if __name__ == "__main__":
  tf.test.main()
