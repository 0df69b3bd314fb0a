"""Device specs: which runner measures, with which flags, on which model precision.

A `DeviceSpec` is data: the table builder, the predictor and the validation report all take
one, and a table file records the spec it was built with. Named profiles are in `PROFILES`.
"""

import dataclasses
import json
from typing import Mapping, Optional, Tuple

RUNNERS = ("litert", "benchmark_model", "litert_benchmark")
PRECISIONS = ("fp32", "fp16", "int8")
DELEGATES = ("none", "gpu", "nnapi", "hexagon", "external")
CLOCKS = ("auto", "wall", "cpu")
ESTIMATORS = ("median", "min")


@dataclasses.dataclass(frozen=True)
class DeviceSpec:
  """How and where a .tflite model is timed.

  Attributes:
    name: profile name, recorded in table files.
    runner: 'litert' (in-process `ai_edge_litert.interpreter`), 'benchmark_model' (the TFLite
      C++ tool, locally or through adb) or 'litert_benchmark' (the `litert-benchmark` console
      script of ai-edge-litert).
    precision: model recipe used when building measured models: 'fp32', 'fp16' (fp16 weights)
      or 'int8' (full-integer post-training quantization, int8 input/output).
    batch: batch size of the measured models.
    num_threads: CPU threads.
    use_xnnpack: apply the XNNPACK delegate (CPU).
    delegate: accelerator delegate for benchmark_model: 'none', 'gpu', 'nnapi', 'hexagon' or
      'external' (needs `external_delegate_path`).
    external_delegate_path: shared library of an external delegate (e.g. libedgetpu.so.1,
      a Qualcomm QNN delegate).
    external_delegate_options: (key, value) pairs passed as `--external_delegate_options`
      ('key:value;key:value').
    adb: run benchmark_model on an Android device through adb.
    adb_serial: device serial for `adb -s`, '' for the only device.
    taskset_mask: CPU affinity mask for `taskset` on the device (e.g. 'f0' = big cores of a
      Pixel 2), '' for none.
    warmup_runs: untimed runs before timing.
    num_runs: timed runs per round.
    rounds: rounds for the min-of-medians estimate (in-process runner); 1 for the tools.
    passes: when many models are timed together (a table's layers, validation subnets),
      each model is timed once per pass, the passes run one after another over all models
      (`measure.measure_many`) and their statistics are combined (`LatencyStats.combine`).
      A model's timings then spread over minutes instead of a second: on this project's
      shared 2-core VM, idle inside, the same whole subnet ran at 12.8 ms or 20-21 ms per
      inference in phases lasting seconds (pinned to one CPU, fresh interpreters), and only
      timings spread in time find the fast phase for every model alike.
    enable_op_profiling: pass `--enable_op_profiling=true` to benchmark_model.
    extra_flags: further benchmark_model flags, verbatim.
    clock: in-process runner clock: 'wall' (`time.perf_counter_ns`), 'cpu' (CPU time of the
      calling thread, `time.thread_time_ns`: time spent descheduled by other processes is not
      counted, which makes single-thread timings stable on a loaded machine) or 'auto' (cpu
      for num_threads == 1, else wall: worker threads' time is invisible to a thread clock).
    estimator: point estimate stored in tables and used for end-to-end measurements:
      'median' (min-of-medians over rounds) or 'min' (fastest timed run; see
      `LatencyStats.estimate`).
    stable_rse: when many models are timed in passes, a model whose per-pass estimates have a
      relative standard error (std / sqrt(n) / mean) above this after `passes` passes is
      timed in further passes until it falls below it or `max_passes` is reached
      (`measure.measure_until_stable`); 0 = exactly `passes` passes. Issue 17: kernel-7
      layers spread +-30% between passes on one host while others agreed to a few percent.
    max_passes: cap of those passes (0 = `passes`, i.e. no extra passes).
    max_round_ms: in-process runner: soft time budget of one round of timed runs (0 = none);
      slower models get fewer runs, at least 3 (`litert_runner.time_interpreter`).
  """

  name: str
  runner: str = "litert"
  precision: str = "fp32"
  batch: int = 1
  num_threads: int = 1
  use_xnnpack: bool = True
  delegate: str = "none"
  external_delegate_path: str = ""
  external_delegate_options: Tuple[Tuple[str, str], ...] = ()
  adb: bool = False
  adb_serial: str = ""
  taskset_mask: str = ""
  warmup_runs: int = 5
  num_runs: int = 20
  rounds: int = 3
  passes: int = 1
  enable_op_profiling: bool = False
  extra_flags: Tuple[str, ...] = ()
  clock: str = "auto"
  estimator: str = "min"
  stable_rse: float = 0.0
  max_passes: int = 0
  max_round_ms: float = 0.0

  def __post_init__(self):
    if not self.name:
      raise ValueError("DeviceSpec.name must be a non-empty string")
    if self.runner not in RUNNERS:
      raise ValueError(f"DeviceSpec.runner must be one of {RUNNERS}, got {self.runner!r}")
    if self.precision not in PRECISIONS:
      raise ValueError(f"DeviceSpec.precision must be one of {PRECISIONS}, got {self.precision!r}")
    if self.delegate not in DELEGATES:
      raise ValueError(f"DeviceSpec.delegate must be one of {DELEGATES}, got {self.delegate!r}")
    if self.clock not in CLOCKS:
      raise ValueError(f"DeviceSpec.clock must be one of {CLOCKS}, got {self.clock!r}")
    if self.estimator not in ESTIMATORS:
      raise ValueError(f"DeviceSpec.estimator must be one of {ESTIMATORS}, got "
                       f"{self.estimator!r}")
    if self.delegate == "external" and not self.external_delegate_path:
      raise ValueError("DeviceSpec.external_delegate_path is required when delegate='external'")
    if self.delegate != "none" and self.runner != "benchmark_model":
      raise ValueError(f"DeviceSpec.delegate={self.delegate!r} needs runner='benchmark_model', "
                       f"got runner={self.runner!r}")
    if self.adb and self.runner != "benchmark_model":
      raise ValueError("DeviceSpec.adb=True needs runner='benchmark_model'")
    for field in ("batch", "num_threads", "num_runs", "rounds", "passes"):
      if getattr(self, field) < 1:
        raise ValueError(f"DeviceSpec.{field} must be >= 1, got {getattr(self, field)!r}")
    if not 0.0 <= self.stable_rse < 1.0:
      raise ValueError(f"DeviceSpec.stable_rse must be in [0, 1), got {self.stable_rse!r}")
    if self.max_passes and self.max_passes < self.passes:
      raise ValueError(f"DeviceSpec.max_passes must be 0 or >= passes ({self.passes}), got "
                       f"{self.max_passes!r}")
    if self.max_round_ms < 0:
      raise ValueError(f"DeviceSpec.max_round_ms must be >= 0, got {self.max_round_ms!r}")
    if self.warmup_runs < 0:
      raise ValueError(f"DeviceSpec.warmup_runs must be >= 0, got {self.warmup_runs!r}")
    if not isinstance(self.external_delegate_options, tuple) or not all(
        isinstance(kv, tuple) and len(kv) == 2 for kv in self.external_delegate_options):
      raise ValueError("DeviceSpec.external_delegate_options must be a tuple of (key, value) "
                       "tuples")
    if not isinstance(self.extra_flags, tuple):
      raise ValueError("DeviceSpec.extra_flags must be a tuple of strings")

  @property
  def pass_limit(self) -> int:
    """Most passes a model is timed in (`passes` unless `stable_rse` asks for more)."""
    return max(self.passes, self.max_passes) if self.stable_rse > 0 else self.passes

  @property
  def uses_cpu_clock(self) -> bool:
    return self.clock == "cpu" or (self.clock == "auto" and self.num_threads == 1)

  def replace(self, **changes) -> "DeviceSpec":
    return dataclasses.replace(self, **changes)

  def to_json(self) -> str:
    return json.dumps(dataclasses.asdict(self), sort_keys=True)

  @classmethod
  def from_dict(cls, data: Mapping) -> "DeviceSpec":
    data = dict(data)
    data["external_delegate_options"] = tuple(
        tuple(kv) for kv in data.get("external_delegate_options", ()))
    data["extra_flags"] = tuple(data.get("extra_flags", ()))
    return cls(**data)

  @classmethod
  def from_json(cls, text: str) -> "DeviceSpec":
    return cls.from_dict(json.loads(text))


# Timing of the single-thread CPU profiles: 5 interleaved passes of 3 warm-up + 10 timed
# runs (fewer for models above 30 ms: a 300 ms budget per pass, at least 3 runs), fastest
# run; models whose fastest passes still disagree (relative standard error above 2%) get up
# to 12 passes.
_STABLE_1T = dict(warmup_runs=3, num_runs=10, rounds=1, passes=5, stable_rse=0.02,
                  max_passes=12, max_round_ms=300.0)

PROFILES = {
    "cpu_xnnpack_1t": DeviceSpec("cpu_xnnpack_1t", runner="litert", num_threads=1,
                                 **_STABLE_1T),
    "cpu_xnnpack_1t_int8": DeviceSpec("cpu_xnnpack_1t_int8", runner="litert", precision="int8",
                                      num_threads=1, **_STABLE_1T),
    # The same CPU without the XNNPACK delegate: LiteRT's builtin optimized kernels. A
    # deployment choice (the app picks the op resolver): on CPUs where XNNPACK runs 7x7
    # depthwise convolutions through its slow per-channel GEMM path (README, issue 17) the
    # builtin kernels run subnets with 7x7 blocks several times faster.
    "cpu_builtin_1t": DeviceSpec("cpu_builtin_1t", runner="litert", num_threads=1,
                                 use_xnnpack=False, **_STABLE_1T),
    "cpu_builtin_1t_int8": DeviceSpec("cpu_builtin_1t_int8", runner="litert", precision="int8",
                                      num_threads=1, use_xnnpack=False, **_STABLE_1T),
    "cpu_xnnpack_4t": DeviceSpec("cpu_xnnpack_4t", runner="litert", num_threads=4,
                                 estimator="median"),
    "android_cpu_1t": DeviceSpec("android_cpu_1t", runner="benchmark_model", adb=True,
                                 taskset_mask="f0", warmup_runs=20, num_runs=100, rounds=1,
                              estimator="median"),
    "android_gpu": DeviceSpec("android_gpu", runner="benchmark_model", precision="fp16",
                              delegate="gpu", adb=True, warmup_runs=20, num_runs=100, rounds=1,
                              estimator="median"),
    "android_nnapi": DeviceSpec("android_nnapi", runner="benchmark_model", precision="int8",
                                delegate="nnapi", adb=True, warmup_runs=20, num_runs=100,
                                rounds=1, estimator="median"),
    "hexagon_dsp": DeviceSpec("hexagon_dsp", runner="benchmark_model", precision="int8",
                              delegate="hexagon", adb=True, warmup_runs=20, num_runs=100,
                              rounds=1),
    "edgetpu_usb": DeviceSpec("edgetpu_usb", runner="benchmark_model", precision="int8",
                              delegate="external", external_delegate_path="libedgetpu.so.1",
                              external_delegate_options=(("device", "usb"),), warmup_runs=20,
                              num_runs=100, rounds=1, estimator="median"),
}


def get_profile(name: str, **overrides) -> DeviceSpec:
  """Returns the named profile, optionally with fields replaced.

  Raises:
    ValueError: unknown profile name (the message lists the known ones).
  """
  if name not in PROFILES:
    raise ValueError(f"unknown device profile {name!r}; known profiles: {sorted(PROFILES)}")
  spec = PROFILES[name]
  return spec.replace(**overrides) if overrides else spec
