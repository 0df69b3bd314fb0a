"""Tests of the corrections and their selection, on synthetic calibration data."""

import numpy as np
import tensorflow as tf

from ofa_tf.latency import correction as cl

KERNELS = (3, 5, 7)


def synthetic(n, seed, noise=0.01):
  """Random subnets' features: fixed layers 2-6 ms, kernel sums 0-30 ms, r in 128..224."""
  rng = np.random.default_rng(seed)
  kernel_sums = rng.uniform(0.0, 30.0, size=(n, 3)) * (rng.random((n, 3)) < 0.8)
  fixed = rng.uniform(2.0, 6.0, size=n)
  r = rng.choice(np.arange(128, 225, 16), size=n)
  features = cl.CorrectionFeatures(fixed + kernel_sums.sum(axis=1), r, kernel_sums, KERNELS)
  return features, fixed, rng.normal(1.0, noise, size=n)


class FitTest(tf.test.TestCase):

  def test_a_line_stays_a_line(self):
    f, _, noise = synthetic(30, 0)
    measured = (1.0 + 1.05 * f.sum_ms) * noise
    c = cl.fit_best_correction(f, measured)
    self.assertEqual(c.kind, "linear")
    self.assertAllClose([c.intercept_ms, c.slope], [1.0, 1.05], rtol=0.05, atol=0.3)
    self.assertEqual(set(dict(c.loo_mape)), {"linear", "resolution", "kernel"})

  def test_resolution_dependent_overhead_and_slope(self):
    def truth(f):  # Small inputs pay relatively more (the fp32 shipped table's pattern).
      d = f.resolution / 176.0 - 1.0
      return 3.0 - 2.0 * d + (1.05 - 0.3 * d) * f.sum_ms

    f, _, noise = synthetic(30, 1, noise=0.005)
    c = cl.fit_best_correction(f, truth(f) * noise)
    self.assertEqual(c.kind, "resolution")
    loo = dict(c.loo_mape)
    self.assertLess(loo["resolution"], 0.85 * loo["linear"])
    fresh, _, _ = synthetic(200, 2)
    line = cl.fit_correction(f.sum_ms, truth(f) * noise)
    err = lambda p: np.mean(np.abs(p - truth(fresh)) / truth(fresh))
    self.assertLess(err(c.apply(fresh)), 0.01)
    self.assertLess(err(c.apply(fresh)), 0.5 * err(line.apply(fresh.sum_ms)))

  def test_kernel7_entries_that_do_not_carry_over(self):
    # Issue 17: kernel-7 layers timed alone were unstable; in whole models they cost 1.6x.
    def truth(f, fixed):
      return 0.5 + 1.1 * fixed + f.kernel_sums_ms @ np.array([1.0, 1.0, 1.6])

    f, fixed, noise = synthetic(30, 3)
    c = cl.fit_best_correction(f, truth(f, fixed) * noise)
    self.assertEqual(c.kind, "kernel")
    self.assertEqual(c.kernel_sizes, KERNELS)
    self.assertAllClose(c.coef[2:], [1.0, 1.0, 1.6], rtol=0.05)
    fresh, fresh_fixed, _ = synthetic(100, 4)
    self.assertAllClose(c.apply(fresh), truth(fresh, fresh_fixed), rtol=0.05)

  def test_too_few_subnets_for_richer_kinds(self):
    f, fixed, _ = synthetic(8, 5)
    c = cl.fit_best_correction(f, 1.0 + 1.3 * f.sum_ms)
    self.assertEqual(c.kind, "linear")
    self.assertNotIn("kernel", dict(c.loo_mape))  # 5 parameters need 15 subnets
    self.assertNotIn("resolution", dict(c.loo_mape))  # 4 need 12

  def test_one_disturbed_measurement_is_dropped(self):
    f, _, _ = synthetic(20, 6)
    measured = 1.0 + 1.1 * f.sum_ms
    measured[3] *= 1.4  # a co-running job during one end-to-end timing
    c = cl.fit_best_correction(f, measured, kinds=("linear",))
    self.assertAllClose([c.intercept_ms, c.slope], [1.0, 1.1], rtol=1e-6)
    self.assertEqual(c.num_subnets, 19)
    line = cl.fit_correction(f.sum_ms, measured)
    self.assertAllClose([line.intercept_ms, line.slope], [1.0, 1.1], rtol=1e-6)

  def test_round_trip_and_old_format(self):
    f, fixed, noise = synthetic(30, 3)
    c = cl.fit_best_correction(f, (0.5 + 1.1 * fixed + f.kernel_sums_ms @ [1.0, 1.0, 1.6]))
    again = cl.Correction.from_dict(c.to_dict())
    self.assertEqual(again, c)
    self.assertAllClose(again.apply(f), c.apply(f))
    old = cl.Correction.from_dict({"intercept_ms": 1.0, "slope": 2.0, "num_subnets": 10})
    self.assertEqual(old.kind, "linear")
    self.assertAllClose(old.apply([1.0, 2.0]), [3.0, 5.0])
    self.assertAllClose(old.apply(f), 1.0 + 2.0 * f.sum_ms)

  def test_errors(self):
    f, _, _ = synthetic(30, 3)
    c = cl.Correction(kind="kernel", coef=(0.0, 1.0, 1.0, 1.0, 1.0), kernel_sizes=KERNELS)
    with self.assertRaisesRegex(ValueError, "needs CorrectionFeatures"):
      c.apply([1.0])
    with self.assertRaisesRegex(ValueError, "kind must be one of"):
      cl.Correction(kind="cubic")
    with self.assertRaisesRegex(ValueError, "unknown correction kinds"):
      cl.fit_best_correction(f, f.sum_ms, kinds=("cubic",))
    with self.assertRaisesRegex(ValueError, ">= 2 subnets"):
      cl.fit_best_correction(f.subset([0]), [1.0])
    with self.assertRaisesRegex(ValueError, "do not match"):
      cl.CorrectionFeatures(np.zeros(3), np.zeros(2), np.zeros((3, 3)), KERNELS)


if __name__ == "__main__":
  tf.test.main()
