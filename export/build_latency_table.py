"""Builds (or resumes) a per-layer latency lookup table, then calibrates its correction.

Example (the w1.0 CPU table of the README):
  python export/build_latency_table.py --space=ofa_mbv3_w1.0 --profile=cpu_xnnpack_1t \
    --resolutions=128:224:16 --output=/tmp/lut/w10_cpu1t.json --workers=2
"""

import json
import time

from absl import flags
from absl import logging

from ofa_tf import cli
from ofa_tf.latency import lut
from ofa_tf.latency import device_spec
from ofa_tf.latency import table_builder
from ofa_tf.latency import validation
from ofa_tf.search_space import get_space

_SPACE = flags.DEFINE_string("space", "ofa_mbv3_w1.0", "Registered search space.")
_PROFILE = flags.DEFINE_string("profile", "cpu_xnnpack_1t",
                               f"Device profile: {sorted(device_spec.PROFILES)}.")
_RESOLUTIONS = flags.DEFINE_string(
    "resolutions", "", "Comma list (160,224) or range start:stop:step (inclusive); "
    "empty = every resolution of the space.")
_OUTPUT = flags.DEFINE_string("output", None, "Table file (.json or .yaml).", required=True)
_CACHE_DIR = flags.DEFINE_string("cache_dir", "", "Converted-model cache (default "
                                 "<output>.models).")
_WORKERS = flags.DEFINE_integer("workers", 1, "Conversion processes.")
_BENCHMARK_BINARY = flags.DEFINE_string("benchmark_binary", "",
                                        "benchmark_model path (benchmark_model profiles).")
_CALIBRATION = flags.DEFINE_integer("calibration_subnets", 10,
                                    "Whole subnets measured to fit the correction (0 = none).")
_RECALIBRATE = flags.DEFINE_bool("recalibrate", False,
                                  "Refit the correction even if the table has one.")
_REFIT_ONLY = flags.DEFINE_bool("refit_only", False, "Only refit the correction from the "
                                "table's stored calibration measurements, then exit.")
_CALIBRATION_MEASUREMENTS = flags.DEFINE_string(
    "calibration_measurements", "", "Calibrate from this measurements file (written by "
    "validate_latency --measurements_json in measure-only mode) instead of measuring.")
_CALIBRATION_SEED = flags.DEFINE_integer("calibration_seed", 1000, "Seed of those subnets.")
_NUM_RUNS = flags.DEFINE_integer("num_runs", None, "Override the profile's runs per round.")
_ROUNDS = flags.DEFINE_integer("rounds", None, "Override the profile's rounds.")
_WARMUP = flags.DEFINE_integer("warmup_runs", None, "Override the profile's warm-up runs.")
_PASSES = flags.DEFINE_integer("passes", None, "Override the profile's interleaved passes.")


def parse_resolutions(text: str):
  if not text:
    return ()
  if ":" in text:
    start, stop, step = (int(v) for v in text.split(":"))
    return tuple(range(start, stop + 1, step))
  return tuple(int(v) for v in text.split(","))


def config_from_flags() -> table_builder.TableBuildConfig:
  overrides = {k: v for k, v in (("num_runs", _NUM_RUNS.value), ("rounds", _ROUNDS.value),
                                 ("warmup_runs", _WARMUP.value), ("passes", _PASSES.value))
               if v is not None}
  return table_builder.TableBuildConfig(
      space=_SPACE.value, device=device_spec.get_profile(_PROFILE.value, **overrides),
      output=_OUTPUT.value, resolutions=parse_resolutions(_RESOLUTIONS.value),
      cache_dir=_CACHE_DIR.value, workers=_WORKERS.value,
      benchmark_binary=_BENCHMARK_BINARY.value)


def _log_progress(p: table_builder.Progress) -> None:
  if p.done == p.total or p.done % 100 == 0:
    logging.info("%s %d/%d  elapsed %.0f s  ETA %.0f s  (%s)", p.phase, p.done, p.total,
                 p.elapsed_s, p.eta_s, p.key)


def main(argv):
  del argv
  cli.run_from_invocation_directory()
  config = config_from_flags()
  if _REFIT_ONLY.value:
    table = lut.load_table(config.output)
    if _CALIBRATION_MEASUREMENTS.value:
      with open(_CALIBRATION_MEASUREMENTS.value) as f:
        data = json.load(f)
      rows = [validation.SubnetMeasurement.from_dict(d) for d in data["subnets"]]
      correction, _ = validation.calibrate_from_measurements(
          table, get_space(config.space), rows, data.get("seed"))
    else:
      correction = validation.refit_correction(table, get_space(config.space))
    lut.save_table(table, config.output)
    logging.info("refit correction: %s; wrote %s", correction, config.output)
    return
  t0 = time.perf_counter()
  table = table_builder.build_table(config, progress=_log_progress)
  build_s = time.perf_counter() - t0
  logging.info("table: %d entries, %d distinct layers, built in %.1f s (this run) %s",
               len(table), table.metadata["num_layers"], build_s,
               table.metadata["build_seconds"])
  if _CALIBRATION.value and (_RECALIBRATE.value or "correction" not in table.metadata):
    t1 = time.perf_counter()
    correction, c = validation.calibrate(
        table, get_space(config.space), config.device, _CALIBRATION.value,
        _CALIBRATION_SEED.value, progress=lambda i, n, s: logging.info(
            "calibration subnet %d/%d (%.0f s)", i, n, s), workers=config.workers)
    table.metadata["build_seconds"]["calibration"] = time.perf_counter() - t1
    lut.save_table(table, config.output)
    logging.info("correction: %s; MACs baseline %.3g ms/MMAC", correction, c * 1e6)
  logging.info("wrote %s", config.output)


if __name__ == "__main__":
  cli.run(main)
