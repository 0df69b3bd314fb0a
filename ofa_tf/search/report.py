"""What a person looks at after a search: a table, JSON files and a plot of the front.

The plot (PNG, matplotlib's Agg canvas, no global backend change) shows a cloud of random
subnets (predicted top-1 vs. the swept metric), the Pareto front of the search and the chosen
subnets highlighted.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ofa_tf import atomic_files
from ofa_tf.search.constraints import Metrics, parse_metric_key
from ofa_tf.search.evolution import AccuracyFn, Candidate

_UNITS = {"macs": ("MMACs", 1e-6), "params": ("M params", 1e-6),
          "int8_size_bytes": ("int8 size, MB", 1e-6), "latency_ms": ("latency, ms", 1.0),
          "edgetpu_model_ms": ("EdgeTPU model, ms", 1.0)}


def metric_label(key: str) -> tuple[str, float]:
  """(axis label, scale) of a metric key, e.g. ("MMACs", 1e-6) for "macs"."""
  metric, profile = parse_metric_key(key)
  label, scale = _UNITS[metric]
  return (f"{label} ({profile})" if profile else label), scale


def format_table(candidates: Sequence[Candidate], keys: Sequence[str]) -> str:
  """A fixed-width text table: one row per candidate, predicted top-1 and each metric."""
  headers = ["#", "pred top-1 %"] + [metric_label(k)[0] for k in keys] + ["r", "depths"]
  rows = []
  for i, c in enumerate(candidates):
    values = [f"{c.metrics[k] * metric_label(k)[1]:.3f}" for k in keys]
    rows.append([str(i), f"{c.predicted_top1:.2f}"] + values +
                [str(c.config.r), "".join(str(d) for d in c.config.d)])
  widths = [max(len(h), *(len(r[j]) for r in rows)) for j, h in enumerate(headers)]
  lines = ["  ".join(h.rjust(w) for h, w in zip(headers, widths))]
  lines += ["  ".join(v.rjust(w) for v, w in zip(r, widths)) for r in rows]
  return "\n".join(lines)


def random_cloud(metrics: Metrics, accuracy_fn: AccuracyFn, key: str, num: int,
                 seed: int) -> tuple[np.ndarray, np.ndarray]:
  """(cost [num], predicted top-1 [num]) of uniformly random subnets, for the plot."""
  genes = metrics.codec.sample(np.random.default_rng(seed), num)
  return metrics.evaluate(key, genes), np.asarray(accuracy_fn(genes), np.float64)


def plot_front(path: str, key: str, front: Sequence[Candidate], chosen: Sequence[Candidate],
               cloud: tuple[np.ndarray, np.ndarray] | None = None, title: str = "",
               budgets: Sequence[float] = (), overwrite: bool = False) -> None:
  """Writes a PNG of predicted top-1 vs. metric `key`.

  Args:
    path: output .png path.
    key: the metric on the x axis.
    front: non-dominated candidates (drawn as a line with markers).
    chosen: candidates to highlight (stars).
    cloud: (cost, predicted top-1) of random subnets (grey dots).
    title: figure title.
    budgets: budgets to mark as vertical dotted lines.
    overwrite: replace an existing file.
  """
  label, scale = metric_label(key)
  fig = Figure(figsize=(7, 4.5), dpi=120)
  FigureCanvasAgg(fig)
  ax = fig.add_subplot(1, 1, 1)
  if cloud is not None:
    ax.scatter(cloud[0] * scale, cloud[1], s=6, c="0.7", label=f"random subnets ({len(cloud[0])})")
  for budget in budgets:
    ax.axvline(budget * scale, color="0.85", linestyle=":", linewidth=1)
  if front:
    xs = [c.metrics[key] * scale for c in front]
    ax.plot(xs, [c.predicted_top1 for c in front], "o-", color="tab:blue",
            label="Pareto front (evolution)")
  if chosen:
    ax.scatter([c.metrics[key] * scale for c in chosen], [c.predicted_top1 for c in chosen],
               marker="*", s=220, c="tab:red", edgecolors="k", zorder=5, label="chosen")
  ax.set_xlabel(label)
  ax.set_ylabel("predicted top-1 (%)")
  ax.set_title(title)
  ax.grid(True, alpha=0.3)
  ax.legend(loc="lower right", fontsize=8)
  atomic_files.write_png(path, fig, overwrite)
