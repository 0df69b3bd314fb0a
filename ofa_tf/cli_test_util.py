"""Runs a binary of trainers/ or export/ in a subprocess and checks its exit contract
(`ofa_tf.cli`): status, and for errors one `<program>: error: ...` line and no traceback."""

from __future__ import annotations

import os
import subprocess
import sys

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_binary(module: str, *flags: str, timeout: float = 300) -> subprocess.CompletedProcess:
  """`python -m module flags...` from the repository root (TensorFlow's C++ logs off)."""
  env = dict(os.environ, PYTHONPATH=_ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
             TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
  return subprocess.run([sys.executable, "-m", module, *flags], cwd=_ROOT, env=env,
                        capture_output=True, text=True, timeout=timeout)


def assert_error_line(test, run: subprocess.CompletedProcess, status: int, regex: str) -> str:
  """Asserts exit `status`, no traceback, no help text, and exactly one
  "<program>: error: <message>" line on stderr whose message matches `regex`; returns it."""
  output = run.stdout + run.stderr
  test.assertEqual(run.returncode, status, msg=output[-3000:])
  test.assertNotIn("Traceback", output)
  test.assertNotIn("flags:", output)  # absl's help text.
  lines = [l for l in run.stderr.splitlines() if ": error: " in l]
  test.assertLen(lines, 1, msg=run.stderr[-3000:])
  test.assertRegex(lines[0], regex)
  return lines[0]
