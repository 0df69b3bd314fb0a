"""Tests of the binaries' support code."""

import contextlib
import io
import os
from unittest import mock

from absl import app
from absl import flags
import tensorflow as tf

from ofa_tf import atomic_files
from ofa_tf import cli

_COUNT = flags.DEFINE_integer("cli_test_count", 1, "A flag of this test.")


def _exit_status_and_stderr(fn, *args):
  stderr = io.StringIO()
  with contextlib.redirect_stderr(stderr):
    try:
      fn(*args)
    except SystemExit as e:
      return e.code, stderr.getvalue()
  return None, stderr.getvalue()


class RunFromInvocationDirectoryTest(tf.test.TestCase):

  def test_changes_into_bazel_working_directory_only_under_bazel(self):
    start = os.getcwd()
    target = self.get_temp_dir()
    try:
      with mock.patch.dict(os.environ, {}, clear=False):
        os.environ.pop("BUILD_WORKING_DIRECTORY", None)
        cli.run_from_invocation_directory()
        self.assertEqual(os.getcwd(), start)
        os.environ["BUILD_WORKING_DIRECTORY"] = target
        cli.run_from_invocation_directory()
        self.assertEqual(os.path.realpath(os.getcwd()), os.path.realpath(target))
    finally:
      os.chdir(start)


class ExitStatusTest(tf.test.TestCase):

  def test_errors_become_one_line_and_a_status(self):
    cases = [
        (ValueError("TrainConfig.seed must be an int\n  got 'x'"), 2,
         "error: TrainConfig.seed must be an int | got 'x'\n"),
        (app.UsageError("give --a or --b"), 2, "error: give --a or --b\n"),
        (atomic_files.OutputExistsError("/tmp/m.tflite"), 2,
         "error: /tmp/m.tflite exists; pass --overwrite to replace it\n"),
        (FileNotFoundError("no such work directory"), 2, "error: no such work directory\n"),
        (ConnectionError("tfds:x must be downloaded"), 1, "error: tfds:x must be downloaded\n"),
        (KeyboardInterrupt(), 130, "error: interrupted\n"),
    ]
    for error, status, line in cases:
      with self.subTest(type(error).__name__):

        def main(argv, error=error):
          del argv
          raise error

        code, stderr = _exit_status_and_stderr(cli.handle_bad_input(main), ["prog"])
        self.assertEqual(code, status)
        self.assertEndsWith(stderr, line)
        self.assertLen(stderr.splitlines(), 1)

  def test_other_errors_and_results_pass_through(self):
    with self.assertRaises(RuntimeError):
      cli.handle_bad_input(lambda argv: (_ for _ in ()).throw(RuntimeError("bug")))(["p"])
    self.assertEqual(cli.handle_bad_input(lambda argv: 1)(["p"]), 1)

  def test_flag_errors_exit_2_with_one_line(self):
    for argv, regex in ((["p", "--cli_test_count=many"], "cli_test_count"),
                        (["p", "--no_such_flag=1"], "Unknown command line flag 'no_such_flag'")):
      code, stderr = _exit_status_and_stderr(cli.parse_flags, argv)
      self.assertEqual(code, 2)
      self.assertLen(stderr.splitlines(), 1)
      self.assertRegex(stderr, "error: .*" + regex)
    self.assertEqual(cli.parse_flags(["p", "--cli_test_count=3", "rest"]), ["p", "rest"])
    self.assertEqual(_COUNT.value, 3)


if __name__ == "__main__":
  tf.test.main()
