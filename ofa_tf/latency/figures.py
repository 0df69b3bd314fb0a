"""The README figures of a set of rebuilt tables: host, build times, corrections, validation.

`export/latency_tables_report.py` (run by `make latency-tables`) turns the tables written by
`export/build_latency_table.py` and the reports of `export/validate_latency.py` into one
Markdown block, and can replace the block between `BEGIN` and `END` markers in a README.
"""

from typing import Mapping, Sequence

from ofa_tf.latency import host

BEGIN = "<!-- latency-figures:begin (written by export/latency_tables_report.py) -->"
END = "<!-- latency-figures:end -->"
ROWS = (("table", "table + correction"), ("table_linear", "table + global line"),
        ("table_raw_sum", "table, raw sum"), ("macs_baseline", "MACs-proportional"))


def _minutes(seconds: float) -> str:
  return f"{int(seconds // 60)} min {int(round(seconds % 60)):02d} s"


def format_figures(tables: Mapping[str, Mapping], reports: Mapping[str, Mapping],
                   commands: Sequence[str] = ()) -> str:
  """Markdown block of the figures.

  Args:
    tables: {profile: table metadata} (`lut.LatencyTable.metadata`).
    reports: {profile: validation report} (`validation.score`), profiles without one are
      listed without validation rows.
    commands: the commands that produced them, shown in a code block.

  Returns:
    The block, between `BEGIN` and `END`.

  Raises:
    ValueError: no tables.
  """
  if not tables:
    raise ValueError("format_figures needs at least one table")
  hosts = {host.describe(meta.get("host", {})) for meta in tables.values()}
  lines = [BEGIN, "", "Host: " + "; ".join(sorted(hosts)) + ".", ""]
  if commands:
    lines += ["```"] + list(commands) + ["```", ""]
  lines += ["| profile | build (convert + measure + calibrate) | layers | unstable layers | "
            "correction (leave-one-out MAPE per kind) |", "|---|---|---:|---:|---|"]
  for profile, meta in tables.items():
    seconds = meta.get("build_seconds", {})
    parts = [seconds.get(k, 0.0) for k in ("convert", "measure", "calibration")]
    correction = meta.get("correction", {})
    loo = ", ".join(f"{k} {v:.2f}%" for k, v in correction.get("loo_mape", {}).items())
    lines.append(f"| `{profile}` | {_minutes(sum(parts))} ({' + '.join(f'{p:.0f}' for p in parts)}"
                 f" s) | {meta.get('num_layers', '?')} | {len(meta.get('unstable_layers', {}))}"
                 f" | {correction.get('kind', 'linear')} ({loo or 'not cross-validated'}) |")
  lines += ["", "| profile | predictor | RMSE ms | MAPE | within ±5% | within ±10% |",
            "|---|---|---:|---:|---:|---:|"]
  for profile, report in reports.items():
    first = True
    for key, label in ROWS:
      if key not in report:
        continue
      m = report[key]
      name = f"`{profile}` ({m['n']} subnets, seed {report.get('seed', '?')})" if first else ""
      first = False
      lines.append(f"| {name} | {label} | {m['rmse_ms']:.3f} | {m['mape']:.2f}% | "
                   f"{m['within_5']:.1f}% | {m['within_10']:.1f}% |")
  return "\n".join(lines + ["", END])


def replace_block(text: str, block: str) -> str:
  """`text` with the part from `BEGIN` to `END` replaced by `block` (appended if absent).

  Raises:
    ValueError: only one of the markers is present.
  """
  start, end = text.find(BEGIN), text.find(END)
  if start < 0 and end < 0:
    return text.rstrip("\n") + "\n\n" + block + "\n"
  if start < 0 or end < start:
    raise ValueError(f"unbalanced latency-figures markers ({BEGIN!r} ... {END!r})")
  return text[:start] + block + text[end + len(END):]
