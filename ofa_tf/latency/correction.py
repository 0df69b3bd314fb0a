"""Corrections from a subnet's per-layer table sum to its measured end-to-end latency.

Isolated layers miss what a whole model adds or saves: the interpreter's fixed cost per
invoke, cache reuse between consecutive layers, and, on some hosts, layers whose isolated
timing does not carry over (issue 17: XNNPACK's kernel-7 depthwise layers, 20-70x slower
than kernel 5 and spreading +-30% between passes). A correction is a model linear in its
parameters, fitted by weighted least squares on calibration subnets (rows weighted by
1 / measured, i.e. minimizing the squared relative error), one of:

  linear      a + b * sum                                  (one global line)
  resolution  a + c * d + (b + e * d) * sum, d = r / r_ref - 1
              (the fixed cost and the slope change with the input resolution)
  kernel      a + b0 * fixed + sum_k bk * sum_k
              (one slope for the stem and head layers, one per kernel size of the blocks)

What the residuals of the shipped w1.0 tables depend on (60 validation subnets each, seed
2000, `testdata/latency/tables/val_*_report.json`; measured / table sum): mostly the sum
itself (correlation -0.83 fp32, -0.45 int8) and the resolution (-0.69 / -0.43; fp32 ratio
1.18 at r=128 falling to 1.06-1.08 at r >= 176): a fixed per-model cost, which the linear
line absorbs; the number of kernel-7 blocks matters less there (-0.41 / -0.14) but is what
broke the tables of issue 17. After the global line, the residuals of those 60 subnets hardly
depend on anything (|correlation| <= 0.23 with r, the kernel-7 sum or share, the sum);
leave-one-out MAPE on them: fp32 linear 1.20%, resolution 1.36%, kernel 1.37%; int8 linear
1.37%, resolution 1.14%, kernel 1.21%. So no single kind wins everywhere, and
`fit_best_correction` fits every kind the calibration subnets can support and keeps the one
with the smallest leave-one-out error, preferring simpler kinds unless a richer one lowers
that error by `min_gain`.
"""

import dataclasses
from typing import Dict, Mapping, Optional, Sequence, Tuple

import numpy as np

KINDS = ("linear", "resolution", "kernel")


@dataclasses.dataclass(frozen=True)
class CorrectionFeatures:
  """What a correction sees of N subnets.

  Attributes:
    sum_ms: float64 [N], table sum of all layers (ms).
    resolution: int [N], input resolution (pixels).
    kernel_sums_ms: float64 [N, K], table sum of the active blocks with kernel
      `kernel_sizes[j]` (ms); the rest of `sum_ms` is the fixed layers (stem, first block,
      head).
    kernel_sizes: the K kernel sizes.
  """
  sum_ms: np.ndarray
  resolution: np.ndarray
  kernel_sums_ms: np.ndarray
  kernel_sizes: Tuple[int, ...]

  def __post_init__(self):
    n = np.shape(self.sum_ms)[0]
    if np.shape(self.resolution) != (n,) or np.shape(self.kernel_sums_ms) != (
        n, len(self.kernel_sizes)):
      raise ValueError(f"CorrectionFeatures: sum_ms [{n}], resolution {np.shape(self.resolution)}"
                       f" and kernel_sums_ms {np.shape(self.kernel_sums_ms)} do not match "
                       f"{len(self.kernel_sizes)} kernel sizes")

  @classmethod
  def from_sums(cls, sum_ms, resolution=None) -> "CorrectionFeatures":
    """Features with only the sum (and resolution) known: enough for 'linear'."""
    sums = np.asarray(sum_ms, dtype=np.float64).reshape(-1)
    r = np.zeros(sums.shape, np.int64) if resolution is None else np.asarray(resolution)
    return cls(sums, r, np.zeros((sums.size, 0)), ())

  def subset(self, rows) -> "CorrectionFeatures":
    return CorrectionFeatures(self.sum_ms[rows], self.resolution[rows],
                              self.kernel_sums_ms[rows], self.kernel_sizes)

  def __len__(self) -> int:
    return int(np.shape(self.sum_ms)[0])


@dataclasses.dataclass(frozen=True)
class Correction:
  """measured_ms ~= the `kind` model of the features (module docstring).

  Attributes:
    intercept_ms, slope: the 'linear' kind's line (kept for tables written before the other
      kinds existed).
    num_subnets: calibration subnets used (after outlier rejection).
    kind: 'linear', 'resolution' or 'kernel'.
    coef: parameters of the other kinds, in the order of their design matrix.
    reference_resolution: r_ref of 'resolution'.
    kernel_sizes: kernel sizes of 'kernel', in coefficient order.
    loo_mape: leave-one-out mean absolute percentage error of each kind fitted
      ({kind: %}), empty when not cross-validated.
  """
  intercept_ms: float = 0.0
  slope: float = 1.0
  num_subnets: int = 0
  kind: str = "linear"
  coef: Tuple[float, ...] = ()
  reference_resolution: float = 0.0
  kernel_sizes: Tuple[int, ...] = ()
  loo_mape: Tuple[Tuple[str, float], ...] = ()

  def __post_init__(self):
    if self.kind not in KINDS:
      raise ValueError(f"Correction.kind must be one of {KINDS}, got {self.kind!r}")

  def apply(self, features) -> np.ndarray:
    """Corrected latency (ms) of each subnet.

    Args:
      features: `CorrectionFeatures`, or table sums (ms) for the 'linear' kind.

    Raises:
      ValueError: bare sums given to a kind that needs more features.
    """
    if not isinstance(features, CorrectionFeatures):
      if self.kind != "linear":
        raise ValueError(f"a {self.kind!r} correction needs CorrectionFeatures, not sums")
      return self.intercept_ms + self.slope * np.asarray(features, dtype=np.float64)
    if self.kind == "linear":
      return self.intercept_ms + self.slope * features.sum_ms
    return _design(self.kind, features, self.reference_resolution,
                   self.kernel_sizes) @ np.asarray(self.coef)

  def to_dict(self):
    data = dataclasses.asdict(self)
    data["coef"] = list(self.coef)
    data["kernel_sizes"] = list(self.kernel_sizes)
    data["loo_mape"] = dict(self.loo_mape)
    return data

  @classmethod
  def from_dict(cls, data: Mapping) -> "Correction":
    return cls(float(data["intercept_ms"]), float(data["slope"]), int(data["num_subnets"]),
               data.get("kind", "linear"), tuple(float(v) for v in data.get("coef", ())),
               float(data.get("reference_resolution", 0.0)),
               tuple(int(k) for k in data.get("kernel_sizes", ())),
               tuple((str(k), float(v)) for k, v in dict(data.get("loo_mape", {})).items()))


def _design(kind: str, f: CorrectionFeatures, r_ref: float,
            kernel_sizes: Sequence[int]) -> np.ndarray:
  """[N, P] design matrix of `kind`."""
  ones = np.ones_like(f.sum_ms, dtype=np.float64)
  if kind == "linear":
    return np.stack([ones, f.sum_ms], axis=1)
  if kind == "resolution":
    d = np.asarray(f.resolution, np.float64) / r_ref - 1.0
    return np.stack([ones, d, f.sum_ms, f.sum_ms * d], axis=1)
  columns = [f.kernel_sizes.index(k) for k in kernel_sizes]
  kernel_sums = f.kernel_sums_ms[:, columns]
  fixed = f.sum_ms - f.kernel_sums_ms.sum(axis=1)
  return np.concatenate([ones[:, None], fixed[:, None], kernel_sums], axis=1)


def _weighted_fit(x: np.ndarray, y: np.ndarray) -> np.ndarray:
  w = 1.0 / y
  coef, *_ = np.linalg.lstsq(x * w[:, None], y * w, rcond=None)
  return coef


def _robust_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
  """Rows kept after dropping relative residuals above max(5%, 3 x 1.4826 x MAD)."""
  keep = np.ones(len(y), bool)
  if len(y) >= 4:
    rel = (x @ _weighted_fit(x, y) - y) / y
    mad = np.median(np.abs(rel - np.median(rel)))
    candidate = np.abs(rel - np.median(rel)) <= max(0.05, 3 * 1.4826 * mad)
    if candidate.sum() >= x.shape[1]:
      keep = candidate
  return keep


def _loo_mape(x: np.ndarray, y: np.ndarray) -> float:
  """Leave-one-out mean absolute percentage error (%) of the weighted fit."""
  errors = []
  for i in range(len(y)):
    rows = np.arange(len(y)) != i
    errors.append(abs(x[i] @ _weighted_fit(x[rows], y[rows]) - y[i]) / y[i])
  return float(100 * np.mean(errors))


def fit_best_correction(features: CorrectionFeatures, measured_ms: Sequence[float],
                        kinds: Sequence[str] = KINDS, min_gain: float = 0.15,
                        robust: bool = True) -> Correction:
  """Fits every kind the data can support and keeps the best by leave-one-out error.

  A kind with P parameters is fitted only with at least 3 P subnets (and 'resolution' only
  with two resolutions or more, 'kernel' only with kernel sums); outliers (one disturbed
  end-to-end measurement) are dropped as in `fit_correction`, per kind. Kinds are tried in
  the order of `kinds` (simplest first); a later kind replaces the current choice only when
  its leave-one-out MAPE is below (1 - min_gain) times the current one.

  Args:
    features: the calibration subnets' features.
    measured_ms: their measured latencies (ms).
    kinds: candidate kinds, simplest first.
    min_gain: relative leave-one-out improvement a richer kind needs.
    robust: drop outliers before fitting.

  Returns:
    The chosen `Correction`, with `loo_mape` of every kind fitted.

  Raises:
    ValueError: fewer than 2 subnets, mismatched lengths, or an unknown kind.
  """
  y = np.asarray(measured_ms, dtype=np.float64)
  if len(features) != y.size or y.size < 2:
    raise ValueError(f"fit_best_correction needs >= 2 subnets with features and measurements, "
                     f"got {len(features)} and {y.size}")
  bad = [k for k in kinds if k not in KINDS]
  if bad:
    raise ValueError(f"unknown correction kinds {bad}; allowed: {KINDS}")
  r_ref = float(np.mean(features.resolution)) or 1.0
  used_kernels = tuple(k for j, k in enumerate(features.kernel_sizes)
                       if np.any(features.kernel_sums_ms[:, j] > 0))
  fitted: Dict[str, Tuple[Correction, float]] = {}
  for kind in kinds:
    p = {"linear": 2, "resolution": 4, "kernel": 2 + len(used_kernels)}[kind]
    if (y.size < 3 * p and kind != "linear") or (
        kind == "resolution" and len(set(features.resolution.tolist())) < 2) or (
            kind == "kernel" and not used_kernels):
      continue
    x = _design(kind, features, r_ref, used_kernels)
    keep = _robust_rows(x, y) if robust else np.ones(y.size, bool)
    coef = _weighted_fit(x[keep], y[keep])
    loo = _loo_mape(x[keep], y[keep]) if keep.sum() > x.shape[1] else float("inf")
    if kind == "linear":
      c = Correction(float(coef[0]), float(coef[1]), int(keep.sum()))
    else:
      c = Correction(0.0, 1.0, int(keep.sum()), kind, tuple(float(v) for v in coef),
                     r_ref if kind == "resolution" else 0.0,
                     used_kernels if kind == "kernel" else ())
    fitted[kind] = (c, loo)
  if not fitted:
    raise ValueError("no correction kind could be fitted")
  best_kind = next(iter(fitted))
  for kind, (_, loo) in fitted.items():
    if loo < (1.0 - min_gain) * fitted[best_kind][1]:
      best_kind = kind
  table = tuple((k, round(loo, 4)) for k, (_, loo) in fitted.items())
  return dataclasses.replace(fitted[best_kind][0], loo_mape=table)


def fit_correction(table_sums_ms: Sequence[float], measured_ms: Sequence[float],
                   robust: bool = True) -> Correction:
  """Least-squares fit of measured = a + b * sum (the 'linear' kind).

  Relative errors matter (small and large subnets alike), so rows are weighted by
  1 / measured, i.e. the fit minimizes the squared relative error. With `robust`, subnets
  whose relative residual exceeds max(5%, 3 x 1.4826 x MAD) are dropped and the line refit
  once: one end-to-end measurement disturbed by a co-running job (seen on the shared dev
  machine: +40% on one of ten subnets) would otherwise tilt the line for every prediction.

  Raises:
    ValueError: fewer than 2 subnets or mismatched lengths.
  """
  x = np.asarray(table_sums_ms, dtype=np.float64)
  y = np.asarray(measured_ms, dtype=np.float64)
  if x.shape != y.shape or x.size < 2:
    raise ValueError(f"fit_correction needs >= 2 (sum, measured) pairs of equal length, got "
                     f"{x.size} and {y.size}")
  design = _design("linear", CorrectionFeatures.from_sums(x), 1.0, ())
  keep = _robust_rows(design, y) if robust else np.ones(y.size, bool)
  intercept, slope = _weighted_fit(design[keep], y[keep])
  return Correction(float(intercept), float(slope), int(keep.sum()))
