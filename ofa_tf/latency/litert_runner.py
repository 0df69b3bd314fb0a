"""In-process timing with the LiteRT interpreter (`ai_edge_litert.interpreter`).

Timing method (robust on a shared, noisy machine): `warmup_runs` untimed invokes, then
`rounds` bursts of `num_runs` back-to-back `invoke()` calls; the reported median is the minimum over rounds of the per-round median
(`LatencyStats.from_rounds`). Inputs are random but fixed (seeded), so data-dependent paths
are identical across rounds. Only `invoke()` is timed: input copies are outside the timed call.

Clock (`DeviceSpec.clock`): wall time (`time.perf_counter_ns`) or, for single-thread
profiles by default, the CPU time of the calling thread (`time.thread_time_ns`). With one
thread LiteRT and XNNPACK run the whole inference on the calling thread, so its CPU time is
the latency minus the time other processes held the core: on this shared 2-core machine
(load average 5-7 while other jobs ran) wall-clock medians of one layer varied 3x between
runs while thread-CPU medians varied by a few percent. On a quiet machine both agree.
"""

import time
from typing import Optional, Union

import numpy as np

from ofa_tf.latency.device_spec import DeviceSpec
from ofa_tf.latency.stats import LatencyStats


def _load_bytes(model: Union[str, bytes]) -> bytes:
  if isinstance(model, (bytes, bytearray)):
    return bytes(model)
  if isinstance(model, str):
    with open(model, "rb") as f:
      return f.read()
  raise TypeError(f"model must be a .tflite path (str) or bytes, got {type(model).__name__}")


def make_interpreter(model: Union[str, bytes], num_threads: int = 1, use_xnnpack: bool = True):
  """A LiteRT interpreter with tensors allocated.

  Args:
    model: .tflite path or flatbuffer bytes.
    num_threads: CPU threads.
    use_xnnpack: keep the default XNNPACK delegate (False: builtin kernels only).
  """
  from ai_edge_litert import interpreter as litert  # pylint: disable=g-import-not-at-top
  resolver = (litert.OpResolverType.AUTO if use_xnnpack
              else litert.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
  interp = litert.Interpreter(model_content=_load_bytes(model), num_threads=num_threads,
                              experimental_op_resolver_type=resolver)
  interp.allocate_tensors()
  return interp


def fill_random_inputs(interp, rng: np.random.Generator) -> None:
  """Sets every input tensor to random values of its dtype (uniform in [-1, 1] for floats)."""
  for detail in interp.get_input_details():
    shape, dtype = tuple(detail["shape"]), detail["dtype"]
    if np.issubdtype(dtype, np.floating):
      value = rng.uniform(-1.0, 1.0, size=shape).astype(dtype)
    else:
      info = np.iinfo(dtype)
      value = rng.integers(max(info.min, -128), min(info.max, 127) + 1, size=shape).astype(dtype)
    interp.set_tensor(detail["index"], value)


def time_interpreter(interp, warmup_runs: int, num_runs: int, rounds: int,
                     cpu_clock: bool = False, max_round_ms: float = 0.0) -> LatencyStats:
  """Times `interp.invoke()`; see the module docstring for the method and the clocks.

  Args:
    interp: an interpreter with inputs set.
    warmup_runs: untimed invokes first.
    num_runs: timed invokes per round.
    rounds: rounds (min-of-medians).
    cpu_clock: time with the calling thread's CPU clock instead of wall time.
    max_round_ms: soft time budget of one round (0 = none): a model whose fastest warm-up
      invoke takes t ms gets max(3, min(num_runs, max_round_ms // t)) timed runs per round,
      and its warm-up stops after the first invoke once the warm-up has used the budget. Slow
      models (whole subnets, or kernel-7 layers on hosts where XNNPACK runs them 20-70x
      slower, issue 17) then cost a few runs per pass, not `num_runs`: their timings are far
      above the clock's resolution, and interference is handled by the passes.
  """
  clock = time.thread_time_ns if cpu_clock else time.perf_counter_ns
  invoke = interp.invoke
  fastest_warmup_ms, spent_ms = float("inf"), 0.0
  for _ in range(warmup_runs):
    t0 = clock()
    invoke()
    elapsed = (clock() - t0) / 1e6
    fastest_warmup_ms, spent_ms = min(fastest_warmup_ms, elapsed), spent_ms + elapsed
    if max_round_ms and spent_ms >= max_round_ms:
      break
  if max_round_ms and warmup_runs:
    num_runs = max(3, min(num_runs, int(max_round_ms // max(fastest_warmup_ms, 1e-3))))
  all_rounds = []
  for _ in range(rounds):
    samples = np.empty(num_runs, dtype=np.float64)
    for i in range(num_runs):
      t0 = clock()
      invoke()
      samples[i] = clock() - t0
    all_rounds.append(samples / 1e6)
  return LatencyStats.from_rounds(all_rounds)


class LiteRTRunner:
  """Measures a model in this process with LiteRT (thread count and XNNPACK from the spec)."""

  def __init__(self, seed: int = 0):
    self._seed = seed

  def measure(self, model: Union[str, bytes], spec: DeviceSpec) -> LatencyStats:
    """Times one model.

    Args:
      model: .tflite path or bytes.
      spec: uses num_threads, use_xnnpack, warmup_runs, num_runs, rounds, clock,
        max_round_ms.

    Returns:
      LatencyStats in ms.
    """
    interp = make_interpreter(model, spec.num_threads, spec.use_xnnpack)
    fill_random_inputs(interp, np.random.default_rng(self._seed))
    return time_interpreter(interp, spec.warmup_runs, spec.num_runs, spec.rounds,
                            spec.uses_cpu_clock, spec.max_round_ms)
