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

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
import numpy as np

from ofa_tf import atomic_files
from ofa_tf.latency import layer_models
from ofa_tf.latency import lut
from ofa_tf.latency.device_spec import DeviceSpec
from ofa_tf.latency.measure import make_runner, measure_many
from ofa_tf.latency.correction import Correction, fit_best_correction, fit_correction
from ofa_tf.latency.predictor import EfficiencyPredictor
from ofa_tf.search_space import SubnetConfig, get_space


@dataclasses.dataclass(frozen=True)
class SubnetMeasurement:
  """One whole subnet timed end to end (ms, the device's estimator) and its .tflite size."""
  config: SubnetConfig
  measured_ms: float
  tflite_bytes: int

  def to_dict(self):
    return {"config": self.config.to_dict(), "measured_ms": self.measured_ms,
            "tflite_bytes": self.tflite_bytes}

  @classmethod
  def from_dict(cls, data):
    return cls(SubnetConfig.from_dict(data["config"]), float(data["measured_ms"]),
               int(data["tflite_bytes"]))


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
  atomic_files.write_bytes(path, data)
  return path


def measure_subnets(space, device: DeviceSpec, configs: Sequence[SubnetConfig], runner=None,
                    progress: Optional[Callable[[int, int, float], None]] = None,
                    workers: int = 1) -> List[SubnetMeasurement]:
  """Converts every subnet (in `workers` processes), then times them in `device.passes`
  interleaved passes (`measure.measure_many`); progress(done, total, elapsed_s) counts timings.

  Returns:
    One record per subnet, in order.
  """
  runner = runner or make_runner(device)
  t0 = time.perf_counter()
  with tempfile.TemporaryDirectory(prefix="ofa_subnets_") as tmp:
    jobs = [(space.name, c.to_json(), device.precision, device.batch,
             os.path.join(tmp, f"subnet_{i}.tflite")) for i, c in enumerate(configs)]
    if workers > 1:
      with multiprocessing.get_context("spawn").Pool(workers) as pool:
        paths = pool.map(_convert_subnet, jobs)
    else:
      paths = [_convert_subnet(j) for j in jobs]
    def report(done, total, elapsed):
      if progress:
        progress(done, total, time.perf_counter() - t0)

    stats = measure_many(paths, device, runner, progress=report)
    return [SubnetMeasurement(config, s.estimate(device.estimator), os.path.getsize(path))
            for config, s, path in zip(configs, stats, paths)]


def calibrate(table: lut.LatencyTable, space, device: DeviceSpec, num_subnets: int = 10,
              seed: int = 1000, runner=None, progress=None,
              workers: int = 1) -> Tuple[Correction, float]:
  """Measures `num_subnets` random subnets, fits the correction and the MACs baseline, and
  stores both in `table.metadata` ('correction', 'macs_baseline_ms_per_mac').

  Returns:
    (correction, ms per MAC of the baseline).
  """
  configs = sample_configs(space, table.resolutions, num_subnets, seed)
  rows = measure_subnets(space, device, configs, runner, progress, workers)
  return calibrate_from_measurements(table, space, rows, seed)


def calibrate_from_measurements(table: lut.LatencyTable, space,
                                rows: Sequence[SubnetMeasurement],
                                seed: Optional[int] = None) -> Tuple[Correction, float]:
  """`calibrate` on subnets already measured (e.g. while the table was being built).

  The correction is the kind with the smallest leave-one-out error on these subnets
  (`correction.fit_best_correction`: a global line unless a resolution- or kernel-dependent
  model does clearly better).
  """
  pred = EfficiencyPredictor(table, space, correction=Correction(), host_check="ignore")
  sums = [pred.table_sum(r.config) for r in rows]
  correction = fit_best_correction(pred.features([r.config for r in rows]),
                                   [r.measured_ms for r in rows])
  c = fit_macs_baseline([pred.macs(r.config) for r in rows], [r.measured_ms for r in rows])
  table.metadata["correction"] = correction.to_dict()
  table.metadata["macs_baseline_ms_per_mac"] = c
  table.metadata["calibration"] = {"seed": seed, "subnets": [
      dict(r.to_dict(), table_sum_ms=t) for r, t in zip(rows, sums)]}
  return correction, c


def refit_correction(table: lut.LatencyTable, space) -> Correction:
  """Refits `metadata['correction']` from the stored calibration measurements (no timing)."""
  rows = [SubnetMeasurement.from_dict(r) for r in table.metadata["calibration"]["subnets"]]
  pred = EfficiencyPredictor(table, space, correction=Correction(), host_check="ignore")
  correction = fit_best_correction(pred.features([r.config for r in rows]),
                                   [r.measured_ms for r in rows])
  table.metadata["correction"] = correction.to_dict()
  return correction


def validation_report(table: lut.LatencyTable, space, device: DeviceSpec, num_subnets: int = 50,
                      seed: int = 2000, runner=None, progress=None,
                      workers: int = 1) -> Dict[str, object]:
  """Measures `num_subnets` fresh random subnets and scores them (see `score`)."""
  configs = sample_configs(space, table.resolutions, num_subnets, seed)
  report = score(table, space, measure_subnets(space, device, configs, runner, progress, workers))
  report["seed"] = seed
  return report


def score(table: lut.LatencyTable, space, rows: Sequence[SubnetMeasurement]) -> Dict[str, object]:
  """Scores the table predictor and the MACs baseline against measured subnets.

  Returns:
    {'table': metrics (the table's correction), 'table_linear': metrics (a global line
     fitted on the same calibration subnets, for comparison; absent without them),
     'table_raw_sum': metrics, 'macs_baseline': metrics, 'tflite_size_mape': %,
     'correction': {...}, 'macs_baseline_ms_per_mac': float, 'host': the table's host
     fingerprint, 'subnets': [...]}.

  Raises:
    ValueError: the table has no calibration (run `calibrate` first).
  """
  if "macs_baseline_ms_per_mac" not in table.metadata:
    raise ValueError("table has no calibration (metadata 'macs_baseline_ms_per_mac'); build it "
                     "with calibration subnets first")
  pred = EfficiencyPredictor(table, space)
  configs = [r.config for r in rows]
  measured = [r.measured_ms for r in rows]
  sums = [pred.table_sum(config) for config in configs]
  macs = [pred.macs(config) for config in configs]
  estimated = [pred.tflite_bytes(config) for config in configs]
  c = float(table.metadata["macs_baseline_ms_per_mac"])
  predicted = pred.latency_batch(configs)
  size_err = [abs(e - r.tflite_bytes) / r.tflite_bytes for e, r in zip(estimated, rows)]
  extra = {}
  calibration = table.metadata.get("calibration", {}).get("subnets", [])
  if len(calibration) >= 2:
    line = fit_correction([r["table_sum_ms"] for r in calibration],
                          [r["measured_ms"] for r in calibration])
    extra["table_linear"] = error_metrics(line.apply(sums), measured)
  return {
      "table": error_metrics(predicted, measured),
      **extra,
      "table_raw_sum": error_metrics(sums, measured),
      "macs_baseline": error_metrics([c * m for m in macs], measured),
      "tflite_size_mape": float(100 * np.mean(size_err)),
      "correction": pred.correction.to_dict(),
      "macs_baseline_ms_per_mac": c,
      "host": table.metadata.get("host", {}),
      "subnets": [dict(r.to_dict(), predicted_ms=float(p), table_sum_ms=t, macs=m,
                       estimated_bytes=e)
                  for r, p, t, m, e in zip(rows, predicted, sums, macs, estimated)],
  }


def plot_report(report: Dict[str, object], path: str, title: str = "") -> None:
  """Writes a PNG (atomically): predicted vs. measured latency of every validated subnet, for
  the table predictor and the MACs-proportional baseline, with the ±10% band.

  Args:
    report: a `score` / `validation_report` result.
    path: output .png path (replaced if it exists).
    title: figure title.
  """
  rows = report["subnets"]
  measured = np.array([r["measured_ms"] for r in rows])
  table = np.array([r["predicted_ms"] for r in rows])
  macs = report["macs_baseline_ms_per_mac"] * np.array([r["macs"] for r in rows], np.float64)
  fig = Figure(figsize=(5.5, 5), dpi=120)
  FigureCanvasAgg(fig)
  ax = fig.add_subplot(1, 1, 1)
  top = 1.1 * max(measured.max(), table.max(), macs.max())
  line = np.array([0.0, top])
  ax.fill_between(line, 0.9 * line, 1.1 * line, color="0.9", label="±10%")
  ax.plot(line, line, color="0.5", linewidth=1)
  t, m = report["table"], report["macs_baseline"]
  ax.scatter(measured, macs, s=12, c="tab:orange", marker="x",
             label=f"MACs-proportional: {m['within_10']:.0f}% within ±10%")
  ax.scatter(measured, table, s=14, c="tab:blue",
             label=f"lookup table + correction: {t['within_10']:.0f}% within ±10%")
  ax.set_xlim(0, top)
  ax.set_ylim(0, top)
  ax.set_xlabel("measured latency (ms)")
  ax.set_ylabel("predicted latency (ms)")
  ax.set_title(title or f"{len(rows)} random subnets")
  ax.grid(True, alpha=0.3)
  ax.legend(loc="upper left", fontsize=8)
  atomic_files.write_png(path, fig)
