"""Tests of the validation metrics and of an end-to-end calibrate/validate run."""

import os

import numpy as np
import pytest
import tensorflow as tf

from ofa_tf.latency import device_spec as ds
from ofa_tf.latency import table_builder as tb
from ofa_tf.latency import validation as val
from ofa_tf.search_space import get_space


class MetricsTest(tf.test.TestCase):

  def test_error_metrics(self):
    m = val.error_metrics([10.4, 9.0, 21.0, 40.0], [10.0, 10.0, 20.0, 40.0])
    self.assertEqual(m["n"], 4)
    self.assertAllClose(m["mape"], 100 * np.mean([0.04, 0.1, 0.05, 0.0]))
    self.assertAllClose(m["within_5"], 75.0)
    self.assertAllClose(m["within_10"], 100.0)
    self.assertAllClose(m["rmse_ms"], np.sqrt(np.mean([0.16, 1.0, 1.0, 0.0])))

  def test_macs_baseline_is_exact_on_proportional_data(self):
    self.assertAllClose(val.fit_macs_baseline([1e6, 2e6, 5e6], [1.0, 2.0, 5.0]), 1e-6)

  def test_plot_report_writes_png(self):
    measured = [10.0, 20.0, 30.0]
    rows = [{"measured_ms": m, "predicted_ms": 1.05 * m, "macs": 1e6 * m} for m in measured]
    report = {"subnets": rows, "macs_baseline_ms_per_mac": 1e-6,
              "table": val.error_metrics([r["predicted_ms"] for r in rows], measured),
              "macs_baseline": val.error_metrics(measured, measured)}
    path = os.path.join(self.get_temp_dir(), "sub", "val.png")
    val.plot_report(report, path)
    with open(path, "rb") as f:
      self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
    self.assertEqual(report["table"]["within_10"], 100.0)

  @pytest.mark.slow
  def test_tiny_space_end_to_end(self):
    out = os.path.join(self.get_temp_dir(), "tiny.json")
    device = ds.get_profile("cpu_xnnpack_1t")
    config = tb.TableBuildConfig(space="ofa_mbv3_tiny", device=device, output=out,
                                 resolutions=(32,))
    table = tb.build_table(config)
    space = get_space("ofa_mbv3_tiny")
    val.calibrate(table, space, device, num_subnets=4, seed=1)
    report = val.validation_report(table, space, device, num_subnets=4, seed=2)
    self.assertEqual(report["table"]["n"], 4)
    self.assertLess(report["table"]["mape"], 50.0)


if __name__ == "__main__":
  tf.test.main()
