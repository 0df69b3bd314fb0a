"""Tests of the `ofa-tf` command line against the binaries of trainers/ and export/.

A subcommand's `--help` runs in a subprocess (absl flags of several binaries cannot share one
process); the expected flags are read from each binary's source.
"""

import contextlib
import io
import os
import re
import subprocess
import sys

import pytest
import tensorflow as tf

from ofa_tf import main as main_lib

# The checkout (under Bazel, through the runfiles symlink of the data file pyproject.toml).
_ROOT = os.path.dirname(os.path.realpath(
    os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "pyproject.toml")))
# Under Bazel this file runs as a script, so its directory heads sys.path and `export` would
# be ofa_tf/export; the binaries are imported from the checkout root instead of the runfiles.
_HERE = os.path.dirname(os.path.realpath(__file__))
sys.path[:] = [p for p in sys.path if os.path.realpath(p or ".") != _HERE]
if _ROOT not in sys.path:
  sys.path.append(_ROOT)
_FLAG = re.compile(r"DEFINE_\w+\(\s*\"(\w+)\"")


def _source(binary: str) -> str:
  with open(os.path.join(_ROOT, binary.replace(".", "/") + ".py")) as f:
    return f.read()


def _binaries_in_checkout():
  """Every binary file of trainers/ and export/: absl programs and shell scripts."""
  found = set()
  for package in ("trainers", "export"):
    for name in os.listdir(os.path.join(_ROOT, package)):
      path = os.path.join(_ROOT, package, name)
      if name.endswith(".sh"):
        found.add(f"{package}/{name}")
      elif name.endswith(".py") and not name.endswith("_test.py"):
        with open(path) as f:
          source = f.read()
          if "cli.run(main)" in source or "app.run(" in source:
            found.add(f"{package}.{name[:-3]}")
  return found


def _run_cli(*args):
  env = dict(os.environ, PYTHONPATH=_ROOT)
  return subprocess.run([sys.executable, "-m", "ofa_tf.main", *args], cwd="/", env=env,
                        capture_output=True, text=True, timeout=120)


class RegistryTest(tf.test.TestCase):

  def test_every_binary_is_a_subcommand(self):
    registered = set(main_lib.SUBCOMMANDS.values())
    missing = _binaries_in_checkout() - registered
    self.assertEmpty(missing, msg=f"binaries without an ofa-tf subcommand: {sorted(missing)}; "
                     "add one line to SUBCOMMANDS in ofa_tf/main.py")
    self.assertEqual(len(registered), len(main_lib.SUBCOMMANDS), msg="a binary registered twice")

  def test_issue_subcommand_names(self):
    self.assertContainsSubset(
        ["train", "accuracy-dataset", "train-predictor", "search", "export", "analyze-edgetpu",
         "latency-table", "validate-latency", "import-checkpoint"], main_lib.SUBCOMMANDS)
    self.assertEqual(main_lib.SUBCOMMANDS["train"], "trainers.progressive_shrink")
    self.assertEqual(main_lib.SUBCOMMANDS["export"], "export.export_tflite")

  def test_bazel_targets_exist(self):
    for binary in main_lib.SUBCOMMANDS.values():
      target = main_lib.bazel_target(binary)
      package, name = target[2:].split(":")
      with open(os.path.join(_ROOT, package, "BUILD")) as f:
        self.assertIn(f'name = "{name}"', f.read(), msg=f"{binary}: no Bazel target {target}")
    self.assertEqual(main_lib.bazel_target("trainers.progressive_shrink"),
                     "//trainers:progressive_shrink")
    self.assertEqual(main_lib.bazel_target("export/compile_edgetpu.sh"),
                     "//export:compile_edgetpu")


class TopLevelTest(tf.test.TestCase):

  def test_help_lists_subcommands_without_importing_binaries(self):
    before = set(sys.modules)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
      self.assertEqual(main_lib.main(["--help"]), 0)
    text = out.getvalue()
    words = " ".join(text.split())
    for name, binary in main_lib.SUBCOMMANDS.items():
      self.assertRegex(text, rf"\n  {re.escape(name)} +")
      self.assertIn(f"({main_lib.bazel_target(binary)})", words)
    # The summary is the first docstring line of the binary.
    self.assertIn("Searches a trained work directory for the most accurate subnet", text)
    imported = [m for m in set(sys.modules) - before if m.startswith(("trainers.", "export."))]
    self.assertEmpty(imported, msg=f"--help imported binaries: {sorted(imported)}")

  def test_unknown_subcommand_is_a_usage_error(self):
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
      self.assertEqual(main_lib.main(["trian", "--preset=smoke"]), 2)
    self.assertIn("unknown subcommand 'trian'; did you mean 'train'?", err.getvalue())

  def test_no_arguments_prints_usage_and_fails(self):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
      self.assertEqual(main_lib.main([]), 2)
    self.assertIn("usage: ofa-tf SUBCOMMAND", out.getvalue())


class SubcommandHelpTest(tf.test.TestCase):
  """`ofa-tf SUB --help` prints the binary's docstring and exactly its own flags."""

  def assert_help_shows_own_flags(self, names):
    modules = {n: b for n, b in main_lib.SUBCOMMANDS.items() if not b.endswith(".sh")}
    for name in names:
      binary = modules[name]
      with self.subTest(name):
        own_flags = set(_FLAG.findall(_source(binary)))
        self.assertNotEmpty(own_flags)
        run = _run_cli(name, "--help")
        self.assertEqual(run.returncode, 1, msg=run.stderr[-2000:])  # absl's --help status.
        self.assertIn(main_lib.summary(binary), run.stdout)
        listed = set(re.findall(r"^  --(?:\[no\])?(\w+)", run.stdout, re.MULTILINE))
        self.assertEqual(listed, own_flags)

  def test_quick_subcommands_show_their_own_flags(self):
    # Binaries that import little at start-up (about 0.3-2.5 s each); `train` and `search`
    # share flag names (--workdir, --seed, --overwrite) that must not leak across.
    self.assert_help_shows_own_flags(
        ["train", "search", "train-predictor", "accuracy-dataset", "analyze-edgetpu"])

  @pytest.mark.slow
  def test_every_subcommand_shows_its_own_flags(self):
    # The others import TensorFlow before parsing flags (5-9 s each on 2 cores).
    self.assert_help_shows_own_flags(
        [n for n, b in main_lib.SUBCOMMANDS.items() if not b.endswith(".sh")])

  def test_flags_reach_the_binary(self):
    # analyze-edgetpu checks its flags before any work: the message is the binary's own.
    run = _run_cli("analyze-edgetpu")
    self.assertNotEqual(run.returncode, 0)
    self.assertIn("give exactly one of --tflite and --compiler_log", run.stderr)
    run = _run_cli("search", "--no_such_flag=1")
    self.assertNotEqual(run.returncode, 0)
    self.assertIn("Unknown command line flag 'no_such_flag'", run.stderr)

  def test_script_subcommand_help(self):
    run = _run_cli("compile-edgetpu", "--help")
    self.assertEqual(run.returncode, 0, msg=run.stderr)
    self.assertIn("ofa-tf compile-edgetpu model.tflite [output_dir]", run.stdout)
    run = _run_cli("help", "search")
    self.assertIn("--constraint", run.stdout)


if __name__ == "__main__":
  tf.test.main()
