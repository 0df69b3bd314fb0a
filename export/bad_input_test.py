"""Bad input to every binary of export/: one error line, no traceback, no help text, exit
status 2 (`ofa_tf.cli`); analyze_edgetpu's "does not map fully" is status 1."""

import os

import tensorflow as tf

from ofa_tf.cli_test_util import assert_error_line, run_binary

_TESTDATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                         "testdata")


class AnalyzeEdgetpuTest(tf.test.TestCase):

  def test_exit_status_tells_bad_input_from_not_mappable(self):
    not_tflite = os.path.join(self.get_temp_dir(), "notes.tflite")
    with open(not_tflite, "w") as f:
      f.write("not a model")
    run = run_binary("export.analyze_edgetpu", f"--tflite={not_tflite}")
    assert_error_line(self, run, 2, f"analyze_edgetpu: error: {not_tflite} is not a TFLite")
    run = run_binary("export.analyze_edgetpu", f"--compiler_log={not_tflite}")
    assert_error_line(self, run, 2, f"{not_tflite}: not edgetpu_compiler output")
    run = run_binary("export.analyze_edgetpu")
    assert_error_line(self, run, 2, "exactly one of --tflite and --compiler_log")
    # Recorded compiler logs (testdata/export/SOURCES.md): one maps fully, one does not.
    run = run_binary("export.analyze_edgetpu",
                     f"--compiler_log={_TESTDATA}/export/tiny_yolo_edgetpu.log")
    self.assertEqual(run.returncode, 1, run.stderr[-2000:])
    self.assertIn("More than one subgraph is not supported", run.stdout)
    self.assertNotIn(": error: ", run.stderr)
    run = run_binary("export.analyze_edgetpu",
                     f"--compiler_log={_TESTDATA}/export/mnist9_edgetpu.log")
    self.assertEqual(run.returncode, 0, run.stderr[-2000:])


class ExportTfliteTest(tf.test.TestCase):

  def test_outputs_are_checked_first_and_name_the_flag(self):
    existing = os.path.join(self.get_temp_dir(), "m.tflite")
    with open(existing, "wb") as f:
      f.write(b"old")
    run = run_binary("export.export_tflite", "--toy", f"--output={existing}")
    assert_error_line(self, run, 2, f"export_tflite: error: {existing} exists; pass "
                      "--overwrite to replace it")
    run = run_binary("export.export_tflite", "--toy", f"--output={existing}/sub/m.tflite")
    assert_error_line(self, run, 2, f"{existing} is a file, not a directory")
    run = run_binary("export.export_tflite", "--toy", "--target=tpu_int3")
    assert_error_line(self, run, 2, "unknown target 'tpu_int3'")


class OtherExportBinariesTest(tf.test.TestCase):

  def test_bad_input(self):
    out = os.path.join(self.get_temp_dir(), "x.json")
    assert_error_line(self, run_binary("export.import_ofa_checkpoint"), 2,
                      "--checkpoint and --arch are required")
    assert_error_line(self, run_binary("export.build_latency_table", "--space=nope",
                                       f"--output={out}"), 2, "unknown search space 'nope'")
    assert_error_line(self, run_binary("export.validate_latency", "--space=nope",
                                       "--profile=cpu_xnnpack_1t"), 2,
                      "unknown search space 'nope'")
    assert_error_line(self, run_binary("export.demo_export"), 2, "--output_dir")
    missing = os.path.join(self.get_temp_dir(), "no_tables")
    assert_error_line(self, run_binary("export.latency_tables_report", f"--dir={missing}"), 2,
                      "no table .*build it first")


if __name__ == "__main__":
  tf.test.main()
