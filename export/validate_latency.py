"""Validates a latency table end to end on random subnets and prints the report.

Examples:
  # measure and score in one go, with the predicted-vs-measured plot
  python export/validate_latency.py --table=/tmp/lut/w10_cpu1t.json --num_subnets=60 \
      --workers=2 --plot=/tmp/lut/val_cpu1t.png
  # measure while the table is still being built, score later
  python export/validate_latency.py --space=ofa_mbv3_w1.0 --profile=cpu_xnnpack_1t \
      --resolutions=128:224:16 --num_subnets=60 --measurements_json=/tmp/lut/val.json
  python export/validate_latency.py --table=/tmp/lut/w10_cpu1t.json \
      --measurements_json=/tmp/lut/val.json
"""

import json
import os

from absl import flags
from absl import logging

from ofa_tf import cli
from ofa_tf.latency import device_spec
from ofa_tf.latency import lut
from ofa_tf.latency import validation
from ofa_tf.search_space import get_space

_TABLE = flags.DEFINE_string("table", "", "Table file built by build_latency_table.")
_SPACE = flags.DEFINE_string("space", "", "Space (measure-only mode, without --table).")
_PROFILE = flags.DEFINE_string("profile", "", "Device profile (measure-only mode).")
_RESOLUTIONS = flags.DEFINE_string("resolutions", "", "start:stop:step or comma list "
                                   "(measure-only mode).")
_NUM = flags.DEFINE_integer("num_subnets", 50, "Random subnets to measure.")
_SEED = flags.DEFINE_integer("seed", 2000, "Sampling seed (use one unlike the calibration's).")
_WORKERS = flags.DEFINE_integer("workers", 1, "Subnet conversion processes.")
_MEASUREMENTS = flags.DEFINE_string(
    "measurements_json", "", "Measurements file: written after measuring; if it exists and "
    "--table is given, scored without measuring again.")
_REPORT = flags.DEFINE_string("report_json", "", "Write the full report here.")
_PLOT = flags.DEFINE_string("plot", "", "Write a PNG of predicted vs. measured latency here.")


def _resolutions(text):
  if ":" in text:
    a, b, c = (int(v) for v in text.split(":"))
    return tuple(range(a, b + 1, c))
  return tuple(int(v) for v in text.split(",")) if text else ()


def main(argv):
  del argv
  cli.run_from_invocation_directory()
  table = lut.load_table(_TABLE.value) if _TABLE.value else None
  if table is not None:
    space = get_space(table.metadata["space"])
    device = device_spec.DeviceSpec.from_dict(table.metadata["device"])
    resolutions = table.resolutions
  else:
    space, device = get_space(_SPACE.value), device_spec.get_profile(_PROFILE.value)
    resolutions = _resolutions(_RESOLUTIONS.value) or space.resolutions
  if _MEASUREMENTS.value and os.path.exists(_MEASUREMENTS.value):
    with open(_MEASUREMENTS.value) as f:
      data = json.load(f)
    rows = [validation.SubnetMeasurement.from_dict(d) for d in data["subnets"]]
    seed = data.get("seed")
    logging.info("loaded %d measurements from %s", len(rows), _MEASUREMENTS.value)
  else:
    seed = _SEED.value
    configs = validation.sample_configs(space, resolutions, _NUM.value, seed)
    rows = validation.measure_subnets(
        space, device, configs, workers=_WORKERS.value,
        progress=lambda i, n, s: logging.info("timing %d/%d (%.0f s)", i, n, s))
    if _MEASUREMENTS.value:
      lut.atomic_write_text(_MEASUREMENTS.value, json.dumps(
          {"space": space.name, "device": device.name, "seed": _SEED.value,
           "subnets": [r.to_dict() for r in rows]}, indent=1) + "\n")
  if table is None:
    logging.info("measured %d subnets; score them later with --table", len(rows))
    return
  calibration_seed = table.metadata.get("calibration", {}).get("seed")
  if seed is not None and seed == calibration_seed:
    logging.warning("validation seed %d is the table's calibration seed: these subnets fitted "
                    "the correction; pass another --seed for an honest figure", seed)
  report = dict(validation.score(table, space, rows), seed=seed)
  if _REPORT.value:
    lut.atomic_write_text(_REPORT.value, json.dumps(report, indent=1) + "\n")
  if _PLOT.value:
    validation.plot_report(report, _PLOT.value, f"{space.name}, {device.name}: "
                           f"{len(rows)} random subnets")
  for name in ("table", "table_linear", "table_raw_sum", "macs_baseline"):
    if name not in report:
      continue
    m = report[name]
    print(f"{name:14s} n={m['n']} RMSE={m['rmse_ms']:.3f} ms MAPE={m['mape']:.2f}% "
          f"within5%={m['within_5']:.1f}% within10%={m['within_10']:.1f}%")
  print(f"tflite size estimate MAPE={report['tflite_size_mape']:.1f}%")


if __name__ == "__main__":
  cli.run(main)
