"""One entry point for every runner: `measure(model, device_spec) -> LatencyStats`."""

from typing import Optional, Union

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
