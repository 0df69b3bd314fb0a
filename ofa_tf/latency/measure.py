"""One entry point for every runner: `measure(model, device_spec) -> LatencyStats`."""

import time
from typing import Callable, List, Optional, Sequence, Union

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


def measure_many(models: Sequence[Union[str, bytes]], spec: DeviceSpec, runner=None,
                 benchmark_binary: str = "",
                 progress: Optional[Callable[[int, int, float], None]] = None
                 ) -> List[LatencyStats]:
  """Latencies of many models, timed in `spec.passes` interleaved passes.

  Pass 0 times models 0, 1, ..., n-1 once each (`runner.measure`, a fresh interpreter or tool
  run every time), every later pass all of them in its own seeded random order; the results
  are combined per model with `LatencyStats.combine`. Interference that comes and goes in
  phases (another tenant of the host, frequency changes) then hits every model alike instead
  of whole stretches of a table, and the minimum over passes finds the undisturbed speed.
  The order is shuffled because a fixed order was not enough: in one int8 validation run 3
  of 60 subnets measured 1.34-1.47x their re-measured latency in all 5 passes, each run at
  the same position in a repeated sequence of interpreter creations.

  Args:
    models: .tflite paths or flatbuffer bytes.
    spec: device spec; `passes` passes of `rounds` x `num_runs` timed runs per model.
    runner, benchmark_binary: see `measure`.
    progress: called as progress(done, total, elapsed_s) after each timing, with
      total = passes x len(models).

  Returns:
    One LatencyStats (ms) per model, in order.
  """
  runner = runner or make_runner(spec, benchmark_binary)
  parts: List[List[LatencyStats]] = [[] for _ in models]
  total, t0 = spec.passes * len(models), time.perf_counter()
  for p in range(spec.passes):
    order = np.arange(len(models))
    if p:  # Other neighbours in time and other allocation histories in every pass.
      np.random.default_rng(p).shuffle(order)
    for j, i in enumerate(order):
      parts[i].append(runner.measure(models[i], spec))
      if progress:
        progress(p * len(models) + j + 1, total, time.perf_counter() - t0)
  return [LatencyStats.combine(x) for x in parts]
