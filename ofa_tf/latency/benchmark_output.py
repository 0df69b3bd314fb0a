"""Parsers for the stdout of TFLite `benchmark_model` and of `litert-benchmark`.

Formats handled (examples recorded in `testdata/latency/`, sources in its SOURCES.md):
- current `benchmark_model` (TF >= 2.3):
  `Inference timings in us: Init: 855, First inference: 49060, Warmup (avg): 34825.1,
  Inference (avg): 33209.4`, preceded by one `count= first= curr= min= max= avg= std=` line for
  the warm-up phase and one for the timed phase;
- legacy `benchmark_model`: `Average inference timings in us: Warmup: 83235, Init: 38467,
  Inference: 79760.9` (oldest builds print `no stats:` instead of `Inference:`);
- `--enable_op_profiling=true` tables `Run Order`, `Top by Computation Time` and
  `Summary by node type` (tab- or space-separated columns);
- the `litert-benchmark` console script's `BENCHMARK RESULTS` block (values in ms).
All times returned in ms.
"""

import dataclasses
import re
from typing import Optional, Tuple

from ofa_tf.latency.stats import LatencyStats

_NUM = r"[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?"
_CURRENT = re.compile(
    rf"Inference timings in us:\s*Init:\s*({_NUM}),\s*First inference:\s*({_NUM}),\s*"
    rf"Warmup \(avg\):\s*({_NUM}),\s*Inference \(avg\):\s*({_NUM})")
_LEGACY = re.compile(
    rf"Average inference timings in us:\s*Warmup:\s*({_NUM}),\s*Init:\s*({_NUM}),\s*"
    rf"(?:Inference|no stats):\s*({_NUM})")
_COUNT = re.compile(
    rf"count=(\d+)(?:\s+first=({_NUM}))?\s+curr=({_NUM})(?:\s+min=({_NUM})\s+max=({_NUM})\s+"
    rf"avg=({_NUM})\s+std=({_NUM}))?")
_TABLE_TITLE = re.compile(r"=+\s*(Run Order|Top by Computation Time|Summary by node type)\s*=+")


class BenchmarkOutputError(ValueError):
  """The tool's output holds no timing line; the message quotes the output."""


@dataclasses.dataclass(frozen=True)
class RunSeries:
  """One `count= first= curr= min= max= avg= std=` line (values in ms)."""
  count: int
  first_ms: Optional[float]
  curr_ms: float
  min_ms: Optional[float]
  max_ms: Optional[float]
  avg_ms: Optional[float]
  std_ms: Optional[float]


@dataclasses.dataclass(frozen=True)
class BenchmarkTimings:
  """Timings parsed from one benchmark_model run (ms).

  Attributes:
    form: 'current' or 'legacy'.
    init_ms, first_inference_ms (None in the legacy form), warmup_avg_ms, inference_avg_ms.
    series: every `count=` line in order (warm-up first, then the timed runs).
  """
  form: str
  init_ms: float
  first_inference_ms: Optional[float]
  warmup_avg_ms: float
  inference_avg_ms: float
  series: Tuple[RunSeries, ...]

  def to_stats(self) -> LatencyStats:
    """LatencyStats of the timed phase (its `count=` line when present).

    benchmark_model prints no median; `median_ms` is the average of the timed runs.
    """
    timed = self.series[-1] if self.series else None
    if timed is not None and timed.avg_ms is not None:
      return LatencyStats(self.inference_avg_ms, self.inference_avg_ms, timed.std_ms,
                          timed.min_ms, timed.count)
    return LatencyStats(self.inference_avg_ms, self.inference_avg_ms, 0.0,
                        self.inference_avg_ms, timed.count if timed else 1)


@dataclasses.dataclass(frozen=True)
class OpProfileRow:
  """One row of an op-profiling table.

  For `Run Order` / `Top by Computation Time`: node_type, start_ms, first_ms, avg_ms, percent,
  cdf_percent, mem_kb, times_called, name. For `Summary by node type`: node_type, count,
  avg_ms, percent, cdf_percent, mem_kb, times_called (start/first None, name '').
  """
  node_type: str
  avg_ms: float
  percent: float
  cdf_percent: float
  mem_kb: float
  times_called: int
  start_ms: Optional[float] = None
  first_ms: Optional[float] = None
  count: Optional[int] = None
  name: str = ""


@dataclasses.dataclass(frozen=True)
class OpProfileTable:
  title: str
  rows: Tuple[OpProfileRow, ...]


def _f(text):
  return None if text is None else float(text)


def _us_to_ms(value):
  return None if value is None else value / 1000.0


def _excerpt(text: str, limit: int = 4000) -> str:
  text = text.strip()
  return text if len(text) <= limit else "...\n" + text[-limit:]


def parse_run_series(text: str) -> Tuple[RunSeries, ...]:
  """All `count=...` lines (microseconds in the text) as RunSeries in ms."""
  series = []
  for m in _COUNT.finditer(text):
    count, first, curr, mn, mx, avg, std = m.groups()
    series.append(RunSeries(int(count), _us_to_ms(_f(first)), _us_to_ms(float(curr)),
                            _us_to_ms(_f(mn)), _us_to_ms(_f(mx)), _us_to_ms(_f(avg)),
                            _us_to_ms(_f(std))))
  return tuple(series)


def parse_benchmark_timings(text: str) -> BenchmarkTimings:
  """Parses benchmark_model stdout in the current or the legacy form.

  Only `count=` lines before the summary line are kept (profiling tables print more).

  Raises:
    BenchmarkOutputError: no timing line; the message includes the output.
  """
  m = _CURRENT.search(text)
  if m:
    init, first, warm, inf = (float(g) / 1000.0 for g in m.groups())
    return BenchmarkTimings("current", init, first, warm, inf,
                            parse_run_series(text[:m.start()]))
  m = _LEGACY.search(text)
  if m:
    warm, init, inf = (float(g) / 1000.0 for g in m.groups())
    series = parse_run_series(text[:m.start()])
    # Legacy op-profiling output prints a `Timings (microseconds): count=...` line of the
    # timed runs after the tables; keep the phase lines printed before the tables.
    before_tables = _TABLE_TITLE.search(text)
    if before_tables is not None and before_tables.start() < m.start():
      series = parse_run_series(text[:before_tables.start()]) or series
    return BenchmarkTimings("legacy", init, None, warm, inf, series)
  raise BenchmarkOutputError(
      "benchmark output has no 'Inference timings in us:' or 'Average inference timings in "
      f"us:' line; output was:\n{_excerpt(text)}")


def _split_cells(line: str):
  cells = [c.strip() for c in line.split("\t") if c.strip()]
  if len(cells) <= 1:
    cells = line.split()
  return cells


def _parse_row(title: str, line: str) -> Optional[OpProfileRow]:
  line = line.strip()
  if not line or line.startswith("["):
    return None
  name = ""
  if title != "Summary by node type":
    bracket = line.find("[")
    if bracket < 0:
      return None
    name = line[bracket:].strip()
    if name.startswith("[") and name.endswith("]"):
      name = name[1:-1]
    line = line[:bracket]
  cells = _split_cells(line)
  if len(cells) < 7:
    return None
  node_type = " ".join(cells[:-7]) if len(cells) > 7 else cells[0]
  nums = cells[-7:] if len(cells) > 7 else cells[1:]
  if len(cells) == 7 and title != "Summary by node type":
    return None
  try:
    values = [float(v.rstrip("%")) for v in nums]
  except ValueError:
    return None
  if title == "Summary by node type":
    count, avg, pct, cdf, mem, called = values[0], values[1], values[2], values[3], values[4], \
        values[5]
    return OpProfileRow(node_type, avg, pct, cdf, mem, int(called), count=int(count))
  start, first, avg, pct, cdf, mem, called = values
  return OpProfileRow(node_type, avg, pct, cdf, mem, int(called), start_ms=start,
                      first_ms=first, name=name)


def parse_op_profiling(text: str) -> Tuple[OpProfileTable, ...]:
  """Parses every op-profiling table in the output, in order of appearance.

  Current builds print the tables twice (initialization, then regular runs); both are kept.
  """
  tables = []
  matches = list(_TABLE_TITLE.finditer(text))
  for i, m in enumerate(matches):
    end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
    body = text[m.end():end]
    rows = []
    for line in body.splitlines():
      if not line.strip():
        if rows:
          break
        continue
      row = _parse_row(m.group(1), line)
      if row is not None:
        rows.append(row)
      elif rows:
        break
    tables.append(OpProfileTable(m.group(1), tuple(rows)))
  return tuple(tables)


_LITERT = {
    "init_ms": re.compile(rf"Model initialization:\s*({_NUM})\s*ms"),
    "warmup_first_ms": re.compile(rf"Warmup \(first\):\s*({_NUM})\s*ms"),
    "avg_ms": re.compile(rf"Inference \(avg\):\s*({_NUM})\s*ms\s*\((\d+) runs\)"),
    "min_ms": re.compile(rf"Inference \(min\):\s*({_NUM})\s*ms"),
    "median_ms": re.compile(rf"Inference \(median\):\s*({_NUM})\s*ms"),
    "std_ms": re.compile(rf"Inference \(std\):\s*({_NUM})\s*ms"),
}


def parse_litert_benchmark(text: str) -> LatencyStats:
  """Parses the `BENCHMARK RESULTS` block printed by `litert-benchmark` (values in ms).

  Note it prints two decimals (10 us resolution); prefer its `--result_json` for tiny models.

  Raises:
    BenchmarkOutputError: no `Inference (avg)` line; the message includes the output.
  """
  found = {k: r.search(text) for k, r in _LITERT.items()}
  if found["avg_ms"] is None:
    raise BenchmarkOutputError(
        f"litert-benchmark output has no 'Inference (avg):' line; output was:\n{_excerpt(text)}")
  avg = float(found["avg_ms"].group(1))
  count = int(found["avg_ms"].group(2))
  get = lambda k, d: float(found[k].group(1)) if found[k] else d
  return LatencyStats(get("median_ms", avg), avg, get("std_ms", 0.0), get("min_ms", avg), count)


def litert_result_json_to_stats(result: dict) -> LatencyStats:
  """LatencyStats from the `latency` object of a `litert-benchmark --result_json` file."""
  lat = result.get("latency")
  if not isinstance(lat, dict) or "avg_ms" not in lat:
    raise BenchmarkOutputError(f"litert-benchmark result JSON has no latency.avg_ms: {result!r}")
  avg = float(lat["avg_ms"])
  return LatencyStats(float(lat.get("median_ms", avg)), avg, float(lat.get("std_ms", 0.0)),
                      float(lat.get("min_ms", avg)), int(lat.get("num_runs", 1)))
