"""Runs the TFLite `benchmark_model` binary (locally or on Android through adb) and the
`litert-benchmark` console script, and parses their output.

Subprocess plumbing is injectable: a `CommandRunner` is any callable
`(argv: list[str]) -> CommandResult`. Tests pass a fake that records argv and returns recorded
stdout. The default runs `subprocess.run` without a shell.

adb sequence (`adb [-s SERIAL]` prefix on each):
  1. `adb devices`                              -> at least one device in state `device`
  2. `adb push MODEL REMOTE_DIR/NAME.tflite`
  3. `adb shell [taskset MASK] BINARY --graph=REMOTE ... flags`
  4. with a profiling CSV: `adb pull REMOTE_CSV LOCAL_CSV`
"""

import dataclasses
import json
import os
import shlex
import shutil
import subprocess
import tempfile
from typing import Callable, List, Optional, Sequence, Union

from ofa_tf.latency import benchmark_output
from ofa_tf.latency.device_spec import DeviceSpec
from ofa_tf.latency.stats import LatencyStats


class ToolError(RuntimeError):
  """A benchmark tool is missing, failed, or no device is attached; the message says which."""


@dataclasses.dataclass(frozen=True)
class CommandResult:
  returncode: int
  stdout: str
  stderr: str = ""


CommandRunner = Callable[[List[str]], CommandResult]


def subprocess_runner(timeout_s: float = 600.0) -> CommandRunner:
  """The default CommandRunner: `subprocess.run(argv)` with captured text output."""
  def run(argv: List[str]) -> CommandResult:
    try:
      proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s, check=False)
    except FileNotFoundError as e:
      raise ToolError(f"cannot run {argv[0]!r}: {e}") from e
    except subprocess.TimeoutExpired as e:
      raise ToolError(f"{' '.join(argv)} timed out after {timeout_s} s; output:\n"
                      f"{e.stdout or ''}{e.stderr or ''}") from e
    return CommandResult(proc.returncode, proc.stdout, proc.stderr)
  return run


def _bool(value: bool) -> str:
  return "true" if value else "false"


def benchmark_flags(spec: DeviceSpec, graph: str, profiling_csv: str = "") -> List[str]:
  """benchmark_model flags for `spec` (without the binary), in a fixed order."""
  flags = [f"--graph={graph}", f"--num_threads={spec.num_threads}",
           f"--warmup_runs={spec.warmup_runs}", f"--num_runs={spec.num_runs}"]
  if spec.delegate == "none":
    flags.append(f"--use_xnnpack={_bool(spec.use_xnnpack)}")
  elif spec.delegate == "gpu":
    flags.append("--use_gpu=true")
  elif spec.delegate == "nnapi":
    flags.append("--use_nnapi=true")
  elif spec.delegate == "hexagon":
    flags.append("--use_hexagon=true")
  elif spec.delegate == "external":
    flags.append(f"--external_delegate_path={spec.external_delegate_path}")
    if spec.external_delegate_options:
      options = ";".join(f"{k}:{v}" for k, v in spec.external_delegate_options)
      flags.append(f"--external_delegate_options={options}")
  if spec.enable_op_profiling:
    flags.append("--enable_op_profiling=true")
    if profiling_csv:
      flags.append(f"--profiling_output_csv_file={profiling_csv}")
  flags.extend(spec.extra_flags)
  return flags


@dataclasses.dataclass(frozen=True)
class BenchmarkRun:
  """One benchmark_model run: its stats, parsed timings, op tables and raw output."""
  stats: LatencyStats
  timings: benchmark_output.BenchmarkTimings
  op_tables: tuple
  stdout: str


def _check_result(argv: Sequence[str], result: CommandResult) -> None:
  if result.returncode != 0:
    raise ToolError(f"command failed with exit code {result.returncode}: "
                    f"{' '.join(shlex.quote(a) for a in argv)}\nstdout:\n{result.stdout}\n"
                    f"stderr:\n{result.stderr}")


def _parse(argv, result: CommandResult) -> BenchmarkRun:
  _check_result(argv, result)
  text = result.stdout + ("\n" + result.stderr if result.stderr else "")
  try:
    timings = benchmark_output.parse_benchmark_timings(text)
  except benchmark_output.BenchmarkOutputError as e:
    raise ToolError(f"{' '.join(argv)} printed no timing line.\n{e}") from e
  return BenchmarkRun(timings.to_stats(), timings, benchmark_output.parse_op_profiling(text),
                      text)


class _ModelFile:
  """A path for `model`: the path itself, or a temporary file holding the bytes."""

  def __init__(self, model: Union[str, bytes]):
    self._tmp = None
    if isinstance(model, (bytes, bytearray)):
      fd, self.path = tempfile.mkstemp(suffix=".tflite")
      with os.fdopen(fd, "wb") as f:
        f.write(model)
      self._tmp = self.path
    elif isinstance(model, str):
      if not os.path.isfile(model):
        raise FileNotFoundError(f"model file not found: {model}")
      self.path = model
    else:
      raise TypeError(f"model must be a .tflite path (str) or bytes, got {type(model).__name__}")

  def __enter__(self):
    return self.path

  def __exit__(self, *exc):
    if self._tmp:
      os.remove(self._tmp)


class BenchmarkModelRunner:
  """benchmark_model, run locally or on an Android device through adb.

  Args:
    binary: path of benchmark_model. Locally it must be an executable file; with adb it is the
      path on the device (e.g. /data/local/tmp/benchmark_model).
    command_runner: subprocess plumbing (default `subprocess_runner()`).
    adb: adb executable (with spec.adb).
    remote_dir: device directory models are pushed to.
    profiling_csv_dir: if set and spec.enable_op_profiling, the CSV profile is written there
      (pulled from the device with adb).
  """

  def __init__(self, binary: str, command_runner: Optional[CommandRunner] = None,
               adb: str = "adb", remote_dir: str = "/data/local/tmp", profiling_csv_dir: str = ""):
    self.binary = binary
    self.adb = adb
    self.remote_dir = remote_dir.rstrip("/")
    self.profiling_csv_dir = profiling_csv_dir
    self._run = command_runner or subprocess_runner()
    self.last_run: Optional[BenchmarkRun] = None

  def _adb(self, spec: DeviceSpec, *args: str) -> List[str]:
    prefix = [self.adb] + (["-s", spec.adb_serial] if spec.adb_serial else [])
    return prefix + list(args)

  def check_device(self, spec: DeviceSpec) -> None:
    """Raises ToolError unless `adb devices` lists a ready device (the serial, if given)."""
    argv = [self.adb, "devices"]
    result = self._run(argv)
    _check_result(argv, result)
    ready = []
    for line in result.stdout.splitlines()[1:]:
      parts = line.split()
      if len(parts) >= 2 and parts[1] == "device":
        ready.append(parts[0])
    if not ready:
      raise ToolError(f"no Android device on adb ('adb devices' lists none ready); output:\n"
                      f"{result.stdout}{result.stderr}")
    if spec.adb_serial and spec.adb_serial not in ready:
      raise ToolError(f"device {spec.adb_serial!r} not ready on adb; ready: {ready}")

  def measure(self, model: Union[str, bytes], spec: DeviceSpec) -> LatencyStats:
    return self.run(model, spec).stats

  def run(self, model: Union[str, bytes], spec: DeviceSpec) -> BenchmarkRun:
    """Runs the tool once and parses its output (also kept in `last_run`).

    Raises:
      ToolError: missing or non-executable binary, no adb device, a failing command, or
        output without a timing line (the output is included).
    """
    if spec.adb:
      run = self._run_adb(model, spec)
    else:
      run = self._run_local(model, spec)
    self.last_run = run
    return run

  def _run_local(self, model, spec: DeviceSpec) -> BenchmarkRun:
    if not os.path.isfile(self.binary):
      raise ToolError(f"benchmark_model binary not found: {self.binary!r} (build it with "
                      "`bazel build -c opt //tensorflow/lite/tools/benchmark:benchmark_model` "
                      "or download a nightly build)")
    if not os.access(self.binary, os.X_OK):
      raise ToolError(f"benchmark_model binary is not executable: {self.binary!r} "
                      f"(chmod +x {self.binary})")
    with _ModelFile(model) as path:
      csv = ""
      if spec.enable_op_profiling and self.profiling_csv_dir:
        csv = os.path.join(self.profiling_csv_dir,
                           os.path.splitext(os.path.basename(path))[0] + "_profile.csv")
      argv = [self.binary] + benchmark_flags(spec, path, csv)
      return _parse(argv, self._run(argv))

  def _run_adb(self, model, spec: DeviceSpec) -> BenchmarkRun:
    if shutil.which(self.adb) is None and not os.path.isfile(self.adb):
      raise ToolError(f"adb not found: {self.adb!r}")
    self.check_device(spec)
    with _ModelFile(model) as path:
      name = os.path.basename(path)
      remote = f"{self.remote_dir}/{name}"
      argv = self._adb(spec, "push", path, remote)
      _check_result(argv, self._run(argv))
      csv_remote = ""
      if spec.enable_op_profiling and self.profiling_csv_dir:
        csv_remote = f"{self.remote_dir}/{os.path.splitext(name)[0]}_profile.csv"
      shell = (["taskset", spec.taskset_mask] if spec.taskset_mask else []) + [self.binary]
      argv = self._adb(spec, "shell", *shell, *benchmark_flags(spec, remote, csv_remote))
      run = _parse(argv, self._run(argv))
      if csv_remote:
        local = os.path.join(self.profiling_csv_dir, os.path.basename(csv_remote))
        argv = self._adb(spec, "pull", csv_remote, local)
        _check_result(argv, self._run(argv))
      return run


class LiteRTBenchmarkRunner:
  """The `litert-benchmark` console script of ai-edge-litert (CPU; --use_gpu/--use_npu).

  It is timed through `--result_json` (its stdout prints 10 us resolution only).
  """

  def __init__(self, executable: str = "litert-benchmark",
               command_runner: Optional[CommandRunner] = None):
    self.executable = executable
    self._run = command_runner or subprocess_runner()

  def measure(self, model: Union[str, bytes], spec: DeviceSpec) -> LatencyStats:
    if shutil.which(self.executable) is None and not os.path.isfile(self.executable):
      raise ToolError(f"litert-benchmark not found: {self.executable!r} (pip install "
                      "ai-edge-litert, or pass the path of its console script)")
    with _ModelFile(model) as path, tempfile.TemporaryDirectory() as tmp:
      result_json = os.path.join(tmp, "result.json")
      argv = [self.executable, "--model", path, "--num_runs", str(spec.num_runs),
              "--warmup_runs", str(spec.warmup_runs), "--num_threads", str(spec.num_threads),
              "--result_json", result_json]
      result = self._run(argv)
      _check_result(argv, result)
      if os.path.isfile(result_json):
        with open(result_json) as f:
          return benchmark_output.litert_result_json_to_stats(json.load(f))
      try:
        return benchmark_output.parse_litert_benchmark(result.stdout)
      except benchmark_output.BenchmarkOutputError as e:
        raise ToolError(f"{' '.join(argv)} printed no timing line.\n{e}\nstderr:\n"
                        f"{result.stderr}") from e
