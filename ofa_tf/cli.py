"""Support for the command-line binaries in trainers/ and export/.

Every binary ends with `cli.run(main)` instead of `app.run(main)`. Exit status:
  0  success;
  1  the job ran and its answer is "no" (e.g. `analyze_edgetpu`: the model does not map
     fully to the EdgeTPU), a resource is unavailable (`ConnectionError`, e.g. a TFDS
     download offline; one line), or an unexpected failure (with its traceback);
  2  bad input: a flag parsing error, an `app.UsageError`, or a `ValueError` / file error
     raised by the library for what the user passed. Printed as one line,
     `<program>: error: <message>`, on stderr, without traceback or help text (`--helpshort`
     prints the help). `--verbosity=1` adds the traceback.
"""

from __future__ import annotations

import functools
import os
import sys
import traceback
from typing import Callable, NoReturn, Sequence

from absl import app
from absl import flags
from absl import logging

from ofa_tf import atomic_files

EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130

# What the library raises for bad input (see CONTRIBUTING: "a clear error naming the problem").
BAD_INPUT_ERRORS = (app.UsageError, ValueError, FileNotFoundError, FileExistsError,
                    NotADirectoryError, IsADirectoryError, PermissionError)
# Not the input's fault, but known and explained in one line (no network for a download).
UNAVAILABLE_ERRORS = (ConnectionError,)


def run_from_invocation_directory() -> None:
  """Makes relative paths on the command line mean what the user meant under `bazel run`.

  `bazel run` starts a binary in its runfiles tree and records the user's directory in
  BUILD_WORKING_DIRECTORY; this changes into that directory (no-op outside Bazel). Imports are
  unaffected: Bazel puts absolute runfiles paths on sys.path.
  """
  directory = os.environ.get("BUILD_WORKING_DIRECTORY")
  if directory:
    os.chdir(directory)


def error_message(error: BaseException) -> str:
  """The one-line message of a bad-input error, in command-line terms.

  `atomic_files.OutputExistsError` becomes "PATH exists; pass --overwrite to replace it";
  a multi-line message is joined with " | ".
  """
  if isinstance(error, atomic_files.OutputExistsError):
    return f"{error.path} exists; pass --overwrite to replace it"
  if isinstance(error, KeyError) and error.args:
    text = str(error.args[0])
  else:
    text = str(error) or type(error).__name__
  return " | ".join(line.strip() for line in text.splitlines() if line.strip())


def fail(message: str, status: int = EXIT_BAD_INPUT) -> NoReturn:
  """Prints `<program>: error: <message>` (one line) on stderr and exits with `status`."""
  program = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "ofa_tf"
  if program in ("__main__.py", "-c", "-m"):
    program = "ofa_tf"
  sys.stderr.write(f"{program.removesuffix('.py')}: error: {message}\n")
  sys.stderr.flush()
  sys.exit(status)


def handle_bad_input(main: Callable[[Sequence[str]], int | None]):
  """Wraps an absl `main(argv)`: bad input (`BAD_INPUT_ERRORS`) exits 2 with one line,
  `UNAVAILABLE_ERRORS` exit 1 with one line, Ctrl-C exits 130 with one line; other errors
  propagate (traceback, exit 1)."""

  @functools.wraps(main)
  def wrapped(argv):
    try:
      return main(argv)
    except BAD_INPUT_ERRORS as e:
      if logging.vlog_is_on(1):
        traceback.print_exc()
      fail(error_message(e))
    except UNAVAILABLE_ERRORS as e:
      if logging.vlog_is_on(1):
        traceback.print_exc()
      fail(error_message(e), EXIT_FAILURE)
    except KeyboardInterrupt:
      fail("interrupted", EXIT_INTERRUPTED)

  return wrapped


def parse_flags(argv: Sequence[str]) -> list[str]:
  """absl flag parsing whose errors (unknown flag, bad value, missing required flag) print
  one line and exit 2 (absl's default prints two and exits 1)."""
  try:
    return flags.FLAGS(argv)
  except flags.Error as e:
    fail(error_message(e))


def run(main: Callable[[Sequence[str]], int | None], argv: Sequence[str] | None = None):
  """`app.run(main)` with the exit statuses of the module doc."""
  app.run(handle_bad_input(main), argv=argv, flags_parser=parse_flags)
