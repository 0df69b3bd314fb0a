"""The `ofa-tf` command line: one subcommand per binary of the Bazel build, same flags.

  ofa-tf --help                                   lists the subcommands
  ofa-tf train --preset=smoke --workdir=/tmp/w    = bazel run //trainers:progressive_shrink -- ...
  ofa-tf search --help                            the search binary's flags

`ofa-tf SUB ARGS` runs the binary's module as `__main__` (`runpy`, as `python -m
trainers.search ARGS` does), so a subcommand is the binary itself: the same code, the same
absl flags and `--help`, the same exit status. Only the chosen binary is imported, so only its
flags are defined (absl flags are process-global). The binaries stay in `trainers/` and
`export/`; the wheel ships them as the packages `trainers` and `export`.

Adding a binary is one line in `SUBCOMMANDS` (`ofa_tf/main_test.py` fails while a binary of
`trainers/` or `export/` is missing from it). Its summary in `ofa-tf --help` is the first line
of the module's docstring (read from the source, without importing it).
"""

from __future__ import annotations

import ast
import difflib
import importlib.metadata
import importlib.resources
import importlib.util
import os
import runpy
import subprocess
import sys
import textwrap
from typing import Sequence

# Subcommand -> the binary it runs: a module (`package.module`, run as `__main__`) or a shell
# script shipped inside a package (`package/script.sh`, run with bash).
SUBCOMMANDS = {
    "train": "trainers.progressive_shrink",
    "accuracy-dataset": "trainers.build_accuracy_dataset",
    "train-predictor": "trainers.train_accuracy_predictor",
    "search": "trainers.search",
    "export": "export.export_tflite",
    "demo-export": "export.demo_export",
    "analyze-edgetpu": "export.analyze_edgetpu",
    "compile-edgetpu": "export/compile_edgetpu.sh",
    "latency-table": "export.build_latency_table",
    "validate-latency": "export.validate_latency",
    "latency-figures": "export.latency_tables_report",
    "import-checkpoint": "export.import_ofa_checkpoint",
    "import-predictor": "export.import_accuracy_predictor",
    "write-release-checkpoint": "export.write_release_checkpoint",
}

PROGRAM = "ofa-tf"
_HELP_ARGS = ("-h", "--help", "-?", "--helpshort", "--helpfull", "help")


def bazel_target(binary: str) -> str:
  """The Bazel target of a binary: "trainers.search" -> "//trainers:search"."""
  package, _, name = binary.replace("/", ".").removesuffix(".sh").rpartition(".")
  return f"//{package}:{name}"


def _is_script(binary: str) -> bool:
  return binary.endswith(".sh")


def _script_path(binary: str):
  package, _, name = binary.partition("/")
  return importlib.resources.files(package).joinpath(name)


def summary(binary: str) -> str:
  """First line of a binary's docstring (module) or header comment (script), not importing it.

  Raises:
    ValueError: the binary is not found (not installed, or a wrong registration).
  """
  if _is_script(binary):
    lines = _script_path(binary).read_text().splitlines()
    comments = [l.lstrip("# ").strip() for l in lines[1:] if l.startswith("#")]
    return comments[0] if comments else ""
  spec = importlib.util.find_spec(binary)
  if spec is None or not spec.origin:
    raise ValueError(f"binary module {binary!r} is not importable")
  with open(spec.origin, encoding="utf-8") as f:
    doc = ast.get_docstring(ast.parse(f.read())) or ""
  return doc.strip().splitlines()[0] if doc.strip() else ""


def version() -> str:
  try:
    return importlib.metadata.version("ofa-tf")
  except importlib.metadata.PackageNotFoundError:
    return "(not installed; running from a checkout)"


def format_help() -> str:
  """The text of `ofa-tf --help`: usage and every subcommand with its summary and target."""
  width = max(len(name) for name in SUBCOMMANDS) + 2
  lines = [f"usage: {PROGRAM} SUBCOMMAND [--flag=value ...]",
           f"       {PROGRAM} SUBCOMMAND --help     (the subcommand's flags)",
           "",
           "Once-for-All (Cai et al., ICLR 2020) in TensorFlow / tf_keras. Each subcommand is",
           "one binary of the Bazel build, with the same flags:",
           ""]
  for name, binary in SUBCOMMANDS.items():
    text = f"{summary(binary)} ({bazel_target(binary)})"
    wrapped = textwrap.wrap(text, width=96 - width - 2)
    lines.append(f"  {name:<{width}}{wrapped[0]}")
    lines.extend(" " * (width + 2) + more for more in wrapped[1:])
  lines += ["", "Main job: train -> accuracy-dataset -> train-predictor -> search -> export, all on "
            "one --workdir."]
  return "\n".join(lines)


def _run_script(binary: str, name: str, args: Sequence[str]) -> int:
  with importlib.resources.as_file(_script_path(binary)) as path:
    if any(a in _HELP_ARGS for a in args):
      header = [l[2:] for l in path.read_text().splitlines()[1:] if l.startswith("# ")]
      print("\n".join(header).replace(binary, f"{PROGRAM} {name}"))
      return 0
    # The script runs the analyzer with $PYTHON: this interpreter, whose packages hold it.
    env = dict(os.environ, PYTHON=sys.executable)
    return subprocess.run(["bash", str(path), *args], env=env, check=False).returncode


def run(name: str, args: Sequence[str]) -> int:
  """Runs subcommand `name` with the binary's arguments `args` (flags and positionals).

  A module binary runs as `__main__` through `runpy` (absl's `app.run` then parses `args`
  and ends the process through `SystemExit` with the binary's status); a script runs with
  bash and its status is returned.

  Raises:
    KeyError: unknown subcommand.
  """
  binary = SUBCOMMANDS[name]
  if _is_script(binary):
    return _run_script(binary, name, args)
  sys.argv = [f"{PROGRAM} {name}", *args]  # runpy puts the module's file in argv[0].
  runpy.run_module(binary, run_name="__main__", alter_sys=True)
  return 0


def main(argv: Sequence[str] | None = None) -> int:
  """Entry point of the `ofa-tf` console script; returns the exit status.

  Args:
    argv: the command line without the program name (default: `sys.argv[1:]`).
  """
  argv = list(sys.argv[1:] if argv is None else argv)
  if len(argv) == 2 and argv[0] == "help" and argv[1] in SUBCOMMANDS:
    argv = [argv[1], "--help"]  # `ofa-tf help train` = `ofa-tf train --help`.
  if not argv or argv[0] in _HELP_ARGS:
    print(format_help())
    return 0 if argv else 2
  if argv[0] == "--version":
    print(f"{PROGRAM} {version()}")
    return 0
  name, args = argv[0], argv[1:]
  if name not in SUBCOMMANDS:
    close = difflib.get_close_matches(name, SUBCOMMANDS, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    print(f"{PROGRAM}: unknown subcommand {name!r}{hint} Subcommands: "
          f"{', '.join(SUBCOMMANDS)} ({PROGRAM} --help).", file=sys.stderr)
    return 2
  return run(name, args)


if __name__ == "__main__":
  sys.exit(main())
