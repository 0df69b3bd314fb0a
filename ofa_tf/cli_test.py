"""Tests of the binaries' support code."""

import os
from unittest import mock

import tensorflow as tf

from ofa_tf import cli


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


if __name__ == "__main__":
  tf.test.main()
