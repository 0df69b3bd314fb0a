"""One entry point for every runner: `measure(model, device_spec) -> LatencyStats`."""

import dataclasses
import time
from typing import Callable, List, Optional, Sequence, Tuple, Union

import numpy as np

from ofa_tf.latency.benchmark_model_runner import BenchmarkModelRunner, LiteRTBenchmarkRunner
from ofa_tf.latency.device_spec import DeviceSpec
from ofa_tf.latency.litert_runner import LiteRTRunner
from ofa_tf.latency.stats import LatencyStats


def make_runner(spec: DeviceSpec, benchmark_binary: str = "", **kwargs):
  """The runner object for `spec.runner`.

  Args:
    spec: the device spec.
    benchmark_binary: path of benchmark_model (runner 'benchmark_model'; on the device with
      adb), or of the litert-benchmark script (runner 'litert_benchmark', default on PATH).
    **kwargs: passed to the runner constructor (e.g. `command_runner` for tests).

  Raises:
    ValueError: runner 'benchmark_model' without a binary path.
  """
  if spec.runner == "litert":
    return LiteRTRunner(**kwargs)
  if spec.runner == "benchmark_model":
    if not benchmark_binary:
      raise ValueError(f"profile {spec.name!r} uses benchmark_model: pass its path "
                       "(benchmark_binary=...)")
    return BenchmarkModelRunner(benchmark_binary, **kwargs)
  return LiteRTBenchmarkRunner(benchmark_binary or "litert-benchmark", **kwargs)


def measure(model: Union[str, bytes], spec: DeviceSpec, runner=None,
            benchmark_binary: str = "") -> LatencyStats:
  """Latency of one .tflite model (path or bytes) on the device described by `spec`.

  Args:
    model: .tflite file path or flatbuffer bytes.
    spec: device spec (runner, threads, delegate, warm-up and repeat counts).
    runner: an object with `measure(model, spec)`; built from `spec` when None.
    benchmark_binary: see `make_runner`.

  Returns:
    LatencyStats (ms).
  """
  runner = runner or make_runner(spec, benchmark_binary)
  return runner.measure(model, spec)


@dataclasses.dataclass(frozen=True)
class PassedMeasurement:
  """One model timed in several interleaved passes.

  Attributes:
    stats: the passes combined (`LatencyStats.combine`).
    pass_estimates_ms: the device estimator applied to each pass, in pass order (ms).
    rse: relative standard error of the fastest half of those estimates (`fast_half_rse`;
      0 for one pass).
    stable: rse <= the spec's `stable_rse` (always True when that is 0).
  """
  stats: LatencyStats
  pass_estimates_ms: Tuple[float, ...]
  rse: float
  stable: bool

  @property
  def passes(self) -> int:
    return len(self.pass_estimates_ms)


def relative_standard_error(values: Sequence[float]) -> float:
  """std (ddof=1) / sqrt(n) / mean of `values`; 0 for fewer than 2 values or a zero mean."""
  v = np.asarray(values, dtype=np.float64)
  if v.size < 2 or v.mean() <= 0:
    return 0.0
  return float(v.std(ddof=1) / np.sqrt(v.size) / v.mean())


def fast_half_rse(values: Sequence[float]) -> float:
  """`relative_standard_error` of the fastest half (at least 2) of `values`.

  Interference only adds time and the stored estimate is the fastest pass
  (`LatencyStats.combine`), so what must be reproducible is the fast end: one disturbed pass
  among agreeing ones does not make an estimate unstable, fast passes that disagree do.
  """
  v = np.sort(np.asarray(values, dtype=np.float64))
  return relative_standard_error(v[:max(2, (v.size + 1) // 2)])


def measure_until_stable(models: Sequence[Union[str, bytes]], spec: DeviceSpec, runner=None,
                         benchmark_binary: str = "",
                         progress: Optional[Callable[[int, int, float], None]] = None
                         ) -> List[PassedMeasurement]:
  """Times many models in interleaved passes, adding passes for those not yet stable.

  Pass 0 times models 0, 1, ..., n-1 once each (`runner.measure`, a fresh interpreter or tool
  run every time), every later pass the models still being timed in its own seeded random
  order. Interference that comes and goes in phases (another tenant of the host, frequency
  changes) then hits every model alike instead of whole stretches of a table, and the
  minimum over passes finds the undisturbed speed. The order is shuffled because a fixed
  order was not enough: in one int8 validation run 3 of 60 subnets measured 1.34-1.47x their
  re-measured latency in all 5 passes, each run at the same position in a repeated sequence
  of interpreter creations.

  After `spec.passes` passes, a model whose per-pass estimates (`spec.estimator` of each
  pass) have a fast-half relative standard error (`fast_half_rse`) above `spec.stable_rse`
  stays in the next pass, up to
  `spec.pass_limit` passes; models still above it are returned with `stable=False` so that
  callers can report them. With `stable_rse=0` every model gets exactly `spec.passes`.

  Args:
    models: .tflite paths or flatbuffer bytes.
    spec: device spec (passes, stable_rse, max_passes; `rounds` x `num_runs` runs per pass).
    runner, benchmark_binary: see `measure`.
    progress: called as progress(done, total, elapsed_s) after each timing; total is the
      timings planned so far (it grows when models need more passes).

  Returns:
    One `PassedMeasurement` per model, in order.
  """
  runner = runner or make_runner(spec, benchmark_binary)
  parts: List[List[LatencyStats]] = [[] for _ in models]
  active = list(range(len(models)))
  done, total, t0 = 0, spec.passes * len(models), time.perf_counter()
  for p in range(spec.pass_limit):
    order = np.asarray(active)
    if p:  # Other neighbours in time and other allocation histories in every pass.
      np.random.default_rng(p).shuffle(order)
    for i in order:
      parts[i].append(runner.measure(models[i], spec))
      done += 1
      if progress:
        progress(done, total, time.perf_counter() - t0)
    if p + 1 >= spec.passes:
      active = [i for i in active if _rse(parts[i], spec) > spec.stable_rse]
      if not active or p + 1 == spec.pass_limit:
        break
      total += len(active)
  results = []
  for x in parts:
    estimates = tuple(s.estimate(spec.estimator) for s in x)
    rse = fast_half_rse(estimates)
    results.append(PassedMeasurement(LatencyStats.combine(x), estimates, rse,
                                     spec.stable_rse == 0 or rse <= spec.stable_rse))
  return results


def _rse(parts: Sequence[LatencyStats], spec: DeviceSpec) -> float:
  return fast_half_rse([s.estimate(spec.estimator) for s in parts])


def measure_many(models: Sequence[Union[str, bytes]], spec: DeviceSpec, runner=None,
                 benchmark_binary: str = "",
                 progress: Optional[Callable[[int, int, float], None]] = None
                 ) -> List[LatencyStats]:
  """Latencies of many models, timed in interleaved passes (`measure_until_stable`).

  Returns:
    One LatencyStats (ms) per model, in order.
  """
  return [m.stats for m in measure_until_stable(models, spec, runner, benchmark_binary,
                                                progress)]
