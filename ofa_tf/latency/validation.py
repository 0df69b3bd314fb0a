"""End-to-end checks of a lookup table: calibrate its correction, validate its predictions.

Both measure whole random subnets with the same runner and precision recipe as the table
(`layer_models.subnet_tflite`), then compare with the predictor. The validation report gives,
for the table predictor and for a MACs-proportional baseline (latency = c * MACs, c fitted on
the calibration subnets), the RMSE (ms), the mean absolute percentage error and the share of
subnets predicted within +-5% and +-10% of the measured latency (the nn-Meter figure,
Zhang et al., MobiSys 2021).
"""

import dataclasses
import multiprocessing
import os
import tempfile
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ofa_tf.latency import layer_models
from ofa_tf.latency import lut
from ofa_tf.latency.device_spec import DeviceSpec
from ofa_tf.latency.measure import make_runner
from ofa_tf.latency.predictor import Correction, EfficiencyPredictor, fit_correction
from ofa_tf.search_space import SubnetConfig, get_space


@dataclasses.dataclass(frozen=True)
class SubnetMeasurement:
  config: SubnetConfig
  measured_ms: float
  table_sum_ms: float
  macs: int
  tflite_bytes: int
  estimated_bytes: int


def error_metrics(predicted_ms, measured_ms) -> Dict[str, float]:
  """rmse_ms, mape (%), within_5 and within_10 (% of subnets), n."""
  p = np.asarray(predicted_ms, dtype=np.float64)
  m = np.asarray(measured_ms, dtype=np.float64)
  rel = np.abs(p - m) / m
  return {"n": int(m.size), "rmse_ms": float(np.sqrt(np.mean((p - m) ** 2))),
          "mape": float(100 * rel.mean()), "within_5": float(100 * np.mean(rel <= 0.05)),
          "within_10": float(100 * np.mean(rel <= 0.10))}


def fit_macs_baseline(macs: Sequence[int], measured_ms: Sequence[float]) -> float:
  """ms per MAC of latency = c * MACs, minimizing the squared relative error."""
  x = np.asarray(macs, dtype=np.float64)
  y = np.asarray(measured_ms, dtype=np.float64)
  return float(np.sum(x / y) / np.sum((x / y) ** 2))


def sample_configs(space, resolutions: Sequence[int], n: int, seed: int) -> List[SubnetConfig]:
  rng = np.random.default_rng(seed)
  return [space.sample(rng, resolutions=tuple(resolutions)) for _ in range(n)]


def _convert_subnet(args) -> str:
  """Worker: converts one subnet to `path`; returns the path."""
  space_name, config_json, precision, batch, path = args
  space = get_space(space_name)
  data = layer_models.subnet_tflite(space.network_spec(SubnetConfig.from_json(config_json)),
                                    precision, batch)
  tmp = f"{path}.tmp{os.getpid()}"
  with open(tmp, "wb") as f:
    f.write(data)
  os.replace(tmp, path)
  return path


def measure_subnets(predictor: EfficiencyPredictor, device: DeviceSpec,
                    configs: Sequence[SubnetConfig], runner=None,
                    progress: Optional[Callable[[int, int, float], None]] = None,
                    workers: int = 1) -> List[SubnetMeasurement]:
  """Converts every subnet (in `workers` processes), then times them one after another.

  Returns:
    One record per subnet, in order.
  """
  runner = runner or make_runner(device)
  t0 = time.perf_counter()
  with tempfile.TemporaryDirectory(prefix="ofa_subnets_") as tmp:
    jobs = [(predictor.space.name, c.to_json(), device.precision, device.batch,
             os.path.join(tmp, f"subnet_{i}.tflite")) for i, c in enumerate(configs)]
    if workers > 1:
      with multiprocessing.get_context("spawn").Pool(workers) as pool:
        paths = pool.map(_convert_subnet, jobs)
    else:
      paths = [_convert_subnet(j) for j in jobs]
    out = []
    for i, (config, path) in enumerate(zip(configs, paths)):
      with open(path, "rb") as f:
        data = f.read()
      stats = runner.measure(data, device)
      out.append(SubnetMeasurement(config, stats.estimate(device.estimator),
                                   predictor.table_sum(config),
                                   predictor.macs(config), len(data),
                                   predictor.tflite_bytes(config)))
      if progress:
        progress(i + 1, len(configs), time.perf_counter() - t0)
  return out


def calibrate(table: lut.LatencyTable, space, device: DeviceSpec, num_subnets: int = 10,
              seed: int = 1000, runner=None, progress=None,
              workers: int = 1) -> Tuple[Correction, float]:
  """Measures `num_subnets` random subnets, fits the correction and the MACs baseline, and
  stores both in `table.metadata` ('correction', 'macs_baseline_ms_per_mac').

  Returns:
    (correction, ms per MAC of the baseline).
  """
  pred = EfficiencyPredictor(table, space, correction=Correction())
  configs = sample_configs(space, table.resolutions, num_subnets, seed)
  rows = measure_subnets(pred, device, configs, runner, progress, workers)
  correction = fit_correction([r.table_sum_ms for r in rows], [r.measured_ms for r in rows])
  c = fit_macs_baseline([r.macs for r in rows], [r.measured_ms for r in rows])
  table.metadata["correction"] = correction.to_dict()
  table.metadata["macs_baseline_ms_per_mac"] = c
  table.metadata["calibration"] = {"seed": seed, "subnets": [
      {"config": r.config.to_dict(), "measured_ms": r.measured_ms, "table_sum_ms": r.table_sum_ms}
      for r in rows]}
  return correction, c


def validation_report(table: lut.LatencyTable, space, device: DeviceSpec, num_subnets: int = 50,
                      seed: int = 2000, runner=None, progress=None,
                      workers: int = 1) -> Dict[str, object]:
  """Measures `num_subnets` fresh random subnets and scores the predictor and the baseline.

  Returns:
    {'table': metrics, 'table_raw_sum': metrics, 'macs_baseline': metrics,
     'tflite_size_mape': %, 'subnets': [...], 'correction': {...}}.

  Raises:
    ValueError: the table has no MACs baseline (run `calibrate` first).
  """
  if "macs_baseline_ms_per_mac" not in table.metadata:
    raise ValueError("table has no calibration (metadata 'macs_baseline_ms_per_mac'); build it "
                     "with calibration subnets first")
  pred = EfficiencyPredictor(table, space)
  configs = sample_configs(space, table.resolutions, num_subnets, seed)
  rows = measure_subnets(pred, device, configs, runner, progress, workers)
  measured = [r.measured_ms for r in rows]
  c = float(table.metadata["macs_baseline_ms_per_mac"])
  predicted = pred.correction.apply([r.table_sum_ms for r in rows])
  size_err = [abs(r.estimated_bytes - r.tflite_bytes) / r.tflite_bytes for r in rows]
  return {
      "table": error_metrics(predicted, measured),
      "table_raw_sum": error_metrics([r.table_sum_ms for r in rows], measured),
      "macs_baseline": error_metrics([c * r.macs for r in rows], measured),
      "tflite_size_mape": float(100 * np.mean(size_err)),
      "correction": pred.correction.to_dict(),
      "seed": seed,
      "subnets": [{"config": r.config.to_dict(), "measured_ms": r.measured_ms,
                   "predicted_ms": float(p), "table_sum_ms": r.table_sum_ms, "macs": r.macs,
                   "tflite_bytes": r.tflite_bytes, "estimated_bytes": r.estimated_bytes}
                  for r, p in zip(rows, predicted)],
  }
