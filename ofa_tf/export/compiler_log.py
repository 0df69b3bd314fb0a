"""Parses `edgetpu_compiler` output (stdout of `-s`, or the `*_edgetpu.log` file).

Both carry the "Operator Count Status" table; stdout also carries the counts ("Number of
operations that will run on Edge TPU: N"). A model that maps fully prints no table in
stdout, only "Total number of operations". Format as in the real logs in testdata/export/.
"""

import re

from ofa_tf.export import edgetpu

_VERSION = re.compile(r"Edge TPU Compiler version (\S+)")
_ON_TPU = re.compile(r"Number of operations that will run on Edge TPU:\s*(\d+)")
_ON_CPU = re.compile(r"Number of operations that will run on CPU:\s*(\d+)")
_TOTAL = re.compile(r"Total number of operations:\s*(\d+)")
_HEADER = re.compile(r"^\s*Operator\s+Count\s+Status\s*$")
_ROW = re.compile(r"^\s*([A-Z][A-Z0-9_]*(?::\S+)?)\s+(\d+)\s+(\S.*?)\s*$")


def parse_compiler_log(text: str) -> edgetpu.EdgeTpuReport:
  """Reads one model's compiler output into an `edgetpu.EdgeTpuReport`.

  Args:
    text: the compiler's stdout (`edgetpu_compiler -s`) or its `*_edgetpu.log` file, for one
      model.

  Returns:
    The report (source "edgetpu_compiler <version>"); counts come from the summary lines
    when present, else from the table.

  Raises:
    ValueError: if the text is not EdgeTPU compiler output, or failed compilation.
  """
  version = _VERSION.search(text)
  if not version:
    raise ValueError("not edgetpu_compiler output: no 'Edge TPU Compiler version' line")
  if "Compilation failed" in text or "Invalid model" in text:
    line = next(l for l in text.splitlines() if "failed" in l or "Invalid" in l)
    raise ValueError(f"edgetpu_compiler failed: {line.strip()}")
  rows, in_table = [], False
  for line in text.splitlines():
    if _HEADER.match(line):
      in_table = True
      continue
    if in_table:
      m = _ROW.match(line)
      if m:
        rows.append(edgetpu.OperatorCount(m.group(1), int(m.group(2)), m.group(3)))
      elif line.strip() and not line.strip().startswith("..."):
        in_table = False
  on_tpu, on_cpu, total = (_ON_TPU.search(text), _ON_CPU.search(text), _TOTAL.search(text))
  if on_tpu and on_cpu:
    n_tpu, n_cpu = int(on_tpu.group(1)), int(on_cpu.group(1))
  elif rows:
    n_tpu = sum(r.count for r in rows if r.status == edgetpu.MAPPED)
    n_cpu = sum(r.count for r in rows if r.status != edgetpu.MAPPED)
  elif total:  # Fully mapped: stdout prints only the total.
    n_tpu, n_cpu = int(total.group(1)), 0
  else:
    raise ValueError("no operation counts and no 'Operator Count Status' table found")
  first = next((f"{r.op}: {r.status}" for r in rows if r.status not in (
      edgetpu.MAPPED, edgetpu.AFTER_FALLBACK)), None)
  if first is None and n_cpu:
    first = next((f"{r.op}: {r.status}" for r in rows if r.status != edgetpu.MAPPED), None)
  return edgetpu.EdgeTpuReport(
      source=f"edgetpu_compiler {version.group(1)}", ops_on_edgetpu=n_tpu, ops_on_cpu=n_cpu,
      table=tuple(rows), first_cpu_op=first)
