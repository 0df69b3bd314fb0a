"""Support for the command-line binaries in trainers/ and export/."""

import os


def run_from_invocation_directory() -> None:
  """Makes relative paths on the command line mean what the user meant under `bazel run`.

  `bazel run` starts a binary in its runfiles tree and records the user's directory in
  BUILD_WORKING_DIRECTORY; this changes into that directory (no-op outside Bazel). Imports are
  unaffected: Bazel puts absolute runfiles paths on sys.path.
  """
  directory = os.environ.get("BUILD_WORKING_DIRECTORY")
  if directory:
    os.chdir(directory)
