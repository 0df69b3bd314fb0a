"""Validates a latency table end to end on random subnets and prints the report.

Example:
  python export/validate_latency.py --table=/tmp/lut/w10_cpu1t.json --num_subnets=60
"""

import json

from absl import app
from absl import flags
from absl import logging

from ofa_tf.latency import device_spec
from ofa_tf.latency import lut
from ofa_tf.latency import validation
from ofa_tf.search_space import get_space

_TABLE = flags.DEFINE_string("table", None, "Table file built by build_latency_table.",
                             required=True)
_NUM = flags.DEFINE_integer("num_subnets", 50, "Random subnets to measure.")
_SEED = flags.DEFINE_integer("seed", 2000, "Sampling seed (use one unlike the calibration's).")
_WORKERS = flags.DEFINE_integer("workers", 1, "Subnet conversion processes.")
_REPORT = flags.DEFINE_string("report_json", "", "Write the full report here.")


def main(argv):
  del argv
  table = lut.load_table(_TABLE.value)
  device = device_spec.DeviceSpec.from_dict(table.metadata["device"])
  report = validation.validation_report(
      table, get_space(table.metadata["space"]), device, _NUM.value, _SEED.value,
      progress=lambda i, n, s: logging.info("subnet %d/%d (%.0f s)", i, n, s),
      workers=_WORKERS.value)
  if _REPORT.value:
    lut.atomic_write_text(_REPORT.value, json.dumps(report, indent=1) + "\n")
  for name in ("table", "table_raw_sum", "macs_baseline"):
    m = report[name]
    print(f"{name:14s} n={m['n']} RMSE={m['rmse_ms']:.3f} ms MAPE={m['mape']:.2f}% "
          f"within5%={m['within_5']:.1f}% within10%={m['within_10']:.1f}%")
  print(f"tflite size estimate MAPE={report['tflite_size_mape']:.1f}%")


if __name__ == "__main__":
  app.run(main)
