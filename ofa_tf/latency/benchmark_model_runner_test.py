"""Tests of the benchmark_model / adb / litert-benchmark runners with a fake subprocess."""

import json
import os
import stat
import tempfile

import tensorflow as tf

from ofa_tf.latency import benchmark_model_runner as bmr
from ofa_tf.latency import device_spec as ds
from ofa_tf.latency import measure as measure_lib

TESTDATA = os.path.join(os.path.dirname(__file__), "..", "..", "testdata", "latency")
MODEL = os.path.join(TESTDATA, "tiny_conv_fp32.tflite")


def _read(name):
  with open(os.path.join(TESTDATA, name)) as f:
    return f.read()


class FakeRunner:
  """Records argv; answers from a list of (predicate prefix, CommandResult)."""

  def __init__(self, answers):
    self.answers = answers
    self.calls = []

  def __call__(self, argv):
    self.calls.append(list(argv))
    for prefix, result in self.answers:
      if argv[:len(prefix)] == prefix:
        if callable(result):
          return result(argv)
        return result
    raise AssertionError(f"unexpected command {argv}")


DEVICES = bmr.CommandResult(0, "List of devices attached\nR58M12ABCDE\tdevice\n\n")
NO_DEVICES = bmr.CommandResult(0, "List of devices attached\n\n")


class AdbTest(tf.test.TestCase):

  def _runner(self, answers, **kwargs):
    fake = FakeRunner(answers)
    return bmr.BenchmarkModelRunner("/data/local/tmp/benchmark_model", command_runner=fake,
                                    adb="/bin/sh", **kwargs), fake

  def test_adb_command_lines_gpu_with_taskset(self):
    spec = ds.get_profile("android_gpu", taskset_mask="f0", enable_op_profiling=True)
    output = bmr.CommandResult(0, _read("tensorflow_43541_android_gpu_current.txt"))
    runner, fake = self._runner([(["/bin/sh", "devices"], DEVICES),
                                 (["/bin/sh", "push"], bmr.CommandResult(0, "1 file pushed")),
                                 (["/bin/sh", "shell"], output)])
    stats = runner.measure(MODEL, spec)
    self.assertAllClose(stats.mean_ms, 119.375)
    self.assertEqual(fake.calls, [
        ["/bin/sh", "devices"],
        ["/bin/sh", "push", MODEL, "/data/local/tmp/tiny_conv_fp32.tflite"],
        ["/bin/sh", "shell", "taskset", "f0", "/data/local/tmp/benchmark_model",
         "--graph=/data/local/tmp/tiny_conv_fp32.tflite", "--num_threads=1",
         "--warmup_runs=20", "--num_runs=100", "--use_gpu=true", "--enable_op_profiling=true"],
    ])

  def test_adb_serial_nnapi_hexagon_and_pull(self):
    out_dir = self.get_temp_dir()
    spec = ds.get_profile("hexagon_dsp", adb_serial="R58M12ABCDE", enable_op_profiling=True)
    output = bmr.CommandResult(0, _read("tf_readme_legacy_op_profiling.txt"))
    runner, fake = self._runner([(["/bin/sh", "devices"], DEVICES),
                                 (["/bin/sh", "-s", "R58M12ABCDE", "push"], bmr.CommandResult(0, "")),
                                 (["/bin/sh", "-s", "R58M12ABCDE", "shell"], output),
                                 (["/bin/sh", "-s", "R58M12ABCDE", "pull"], bmr.CommandResult(0, ""))],
                                profiling_csv_dir=out_dir)
    run = runner.run(MODEL, spec)
    self.assertEqual(run.timings.form, "legacy")
    self.assertLen(run.op_tables, 3)
    self.assertEqual(fake.calls[2], [
        "/bin/sh", "-s", "R58M12ABCDE", "shell", "/data/local/tmp/benchmark_model",
        "--graph=/data/local/tmp/tiny_conv_fp32.tflite", "--num_threads=1", "--warmup_runs=20",
        "--num_runs=100", "--use_hexagon=true", "--enable_op_profiling=true",
        "--profiling_output_csv_file=/data/local/tmp/tiny_conv_fp32_profile.csv"])
    self.assertEqual(fake.calls[3], [
        "/bin/sh", "-s", "R58M12ABCDE", "pull", "/data/local/tmp/tiny_conv_fp32_profile.csv",
        os.path.join(out_dir, "tiny_conv_fp32_profile.csv")])
    nnapi = bmr.benchmark_flags(ds.get_profile("android_nnapi"), "/m.tflite")
    self.assertIn("--use_nnapi=true", nnapi)

  def test_no_device(self):
    runner, _ = self._runner([(["/bin/sh", "devices"], NO_DEVICES)])
    with self.assertRaisesRegex(bmr.ToolError, "no Android device on adb"):
      runner.measure(MODEL, ds.get_profile("android_cpu_1t"))

  def test_unknown_serial(self):
    runner, _ = self._runner([(["/bin/sh", "devices"], DEVICES)])
    with self.assertRaisesRegex(bmr.ToolError, "not ready"):
      runner.measure(MODEL, ds.get_profile("android_cpu_1t", adb_serial="other"))

  def test_failed_run_shows_output(self):
    runner, _ = self._runner([
        (["/bin/sh", "devices"], DEVICES), (["/bin/sh", "push"], bmr.CommandResult(0, "")),
        (["/bin/sh", "shell"], bmr.CommandResult(1, "STARTING!\nFailed to apply GPU delegate."))])
    with self.assertRaisesRegex(bmr.ToolError, "exit code 1(.|\n)*Failed to apply GPU delegate"):
      runner.measure(MODEL, ds.get_profile("android_gpu"))

  def test_no_timing_line_shows_output(self):
    runner, _ = self._runner([
        (["/bin/sh", "devices"], DEVICES), (["/bin/sh", "push"], bmr.CommandResult(0, "")),
        (["/bin/sh", "shell"], bmr.CommandResult(0, "STARTING!\nAborted: model too large"))])
    with self.assertRaisesRegex(bmr.ToolError, "no timing line(.|\n)*model too large"):
      runner.measure(MODEL, ds.get_profile("android_cpu_1t"))


class LocalTest(tf.test.TestCase):

  def _binary(self, mode):
    path = os.path.join(self.get_temp_dir(), f"benchmark_model_{mode:o}")
    with open(path, "w") as f:
      f.write("#!/bin/sh\n")
    os.chmod(path, mode)
    return path

  def test_local_external_delegate_command_line(self):
    binary = self._binary(0o755)
    fake = FakeRunner([([binary], bmr.CommandResult(0, _read("xnnpack_999_rpi_int8_current.txt")))])
    runner = bmr.BenchmarkModelRunner(binary, command_runner=fake)
    stats = runner.measure(MODEL, ds.get_profile("edgetpu_usb"))
    self.assertAllClose(stats.mean_ms, 55.0432)
    self.assertEqual(fake.calls, [[
        binary, f"--graph={MODEL}", "--num_threads=1", "--warmup_runs=20", "--num_runs=100",
        "--external_delegate_path=libedgetpu.so.1", "--external_delegate_options=device:usb"]])

  def test_bytes_model_uses_temporary_file(self):
    binary = self._binary(0o755)
    seen = []

    def answer(argv):
      graph = argv[1][len("--graph="):]
      with open(graph, "rb") as f:
        seen.append(f.read())
      return bmr.CommandResult(0, _read("google_research_802_current.txt"))

    runner = bmr.BenchmarkModelRunner(binary, command_runner=FakeRunner([([binary], answer)]))
    spec = ds.DeviceSpec("local", runner="benchmark_model", use_xnnpack=False)
    self.assertAllClose(runner.measure(b"TFL3fake", spec).mean_ms, 1.03966)
    self.assertEqual(seen, [b"TFL3fake"])

  def test_missing_binary(self):
    runner = bmr.BenchmarkModelRunner("/nonexistent/benchmark_model",
                                      command_runner=FakeRunner([]))
    with self.assertRaisesRegex(bmr.ToolError, "not found"):
      runner.measure(MODEL, ds.DeviceSpec("local", runner="benchmark_model"))

  def test_non_executable_binary(self):
    runner = bmr.BenchmarkModelRunner(self._binary(0o644), command_runner=FakeRunner([]))
    with self.assertRaisesRegex(bmr.ToolError, "not executable"):
      runner.measure(MODEL, ds.DeviceSpec("local", runner="benchmark_model"))

  def test_measure_needs_binary_path(self):
    with self.assertRaisesRegex(ValueError, "benchmark_binary"):
      measure_lib.measure(MODEL, ds.get_profile("android_gpu"))


class LiteRTBenchmarkTest(tf.test.TestCase):

  def test_result_json_path(self):
    recorded = _read("litert_benchmark_result.json")

    def answer(argv):
      with open(argv[argv.index("--result_json") + 1], "w") as f:
        f.write(recorded)
      return bmr.CommandResult(0, _read("litert_benchmark_stdout.txt"))

    fake = FakeRunner([(["/bin/sh"], answer)])
    runner = bmr.LiteRTBenchmarkRunner("/bin/sh", command_runner=fake)
    spec = ds.DeviceSpec("lb", runner="litert_benchmark", warmup_runs=3, num_runs=20)
    stats = runner.measure(MODEL, spec)
    self.assertEqual(stats.count, 20)
    argv = fake.calls[0]
    self.assertEqual(argv[:9], ["/bin/sh", "--model", MODEL, "--num_runs", "20", "--warmup_runs",
                                "3", "--num_threads", "1"])

  def test_stdout_fallback_and_error(self):
    fake = FakeRunner([(["/bin/sh"], bmr.CommandResult(0, _read("litert_benchmark_stdout.txt")))])
    spec = ds.DeviceSpec("lb", runner="litert_benchmark")
    self.assertEqual(bmr.LiteRTBenchmarkRunner("/bin/sh", command_runner=fake)
                     .measure(MODEL, spec).count, 20)
    fake = FakeRunner([(["/bin/sh"], bmr.CommandResult(0, "nothing useful"))])
    with self.assertRaisesRegex(bmr.ToolError, "nothing useful"):
      bmr.LiteRTBenchmarkRunner("/bin/sh", command_runner=fake).measure(MODEL, spec)


if __name__ == "__main__":
  tf.test.main()
