"""Writes the README figures of rebuilt latency tables (host, build times, validation).

Reads `<dir>/w10_<profile>.json` (export/build_latency_table.py) and
`<dir>/val_<profile>_report.json` (export/validate_latency.py --report_json) for each profile
and prints one Markdown block (`ofa_tf.latency.figures`); with --readme, replaces the block
between its markers in that file (atomically). Run by `make latency-tables`:

  python export/latency_tables_report.py --dir=/tmp/lut \
      --profiles=cpu_xnnpack_1t,cpu_xnnpack_1t_int8,cpu_builtin_1t,cpu_builtin_1t_int8 \
      --commands_file=/tmp/lut/commands.txt --readme=ofa_tf/latency/README.md
"""

import json
import os

from absl import app
from absl import flags

from ofa_tf import atomic_files
from ofa_tf import cli
from ofa_tf.latency import figures

_DIR = flags.DEFINE_string("dir", None, "Folder of the tables and reports.", required=True)
_PROFILES = flags.DEFINE_list("profiles", ["cpu_xnnpack_1t", "cpu_xnnpack_1t_int8",
                                           "cpu_builtin_1t", "cpu_builtin_1t_int8"],
                              "Profiles, in table order.")
_COMMANDS = flags.DEFINE_string("commands_file", "", "Text file of the commands run, shown "
                                "in the block.")
_README = flags.DEFINE_string("readme", "", "Markdown file whose figures block to replace.")


def _load(path):
  with open(path) as f:
    return json.load(f)


def main(argv):
  del argv
  cli.run_from_invocation_directory()
  tables, reports = {}, {}
  for profile in _PROFILES.value:
    table = os.path.join(_DIR.value, f"w10_{profile}.json")
    if not os.path.exists(table):
      raise app.UsageError(f"no table {table}: build it first (make latency-tables)")
    tables[profile] = _load(table)["metadata"]
    report = os.path.join(_DIR.value, f"val_{profile}_report.json")
    if os.path.exists(report):
      reports[profile] = _load(report)
  commands = []
  if _COMMANDS.value:
    with open(_COMMANDS.value) as f:
      commands = [line.rstrip("\n") for line in f if line.strip()]
  block = figures.format_figures(tables, reports, commands)
  print(block)
  if _README.value:
    with open(_README.value) as f:
      text = f.read()
    atomic_files.write_text(_README.value, figures.replace_block(text, block))


if __name__ == "__main__":
  cli.run(main)
