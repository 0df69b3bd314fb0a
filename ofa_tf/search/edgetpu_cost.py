"""An EdgeTPU cost model the search can constrain without a device: a model, not a measurement.

Features of a subnet (exact, from the space's counters through `EfficiencyTables`):
  * dense MACs: regular and 1x1 convolutions (fused-MBConv, expand, project, stem, head) and
    the classifier, which fill the EdgeTPU's systolic array;
  * depthwise MACs: depthwise convolutions, which use it poorly (the reason MobileNet-EdgeTPU
    fuses the early expand + depthwise pairs into one regular conv: Gupta & Akin,
    arXiv:2003.02838, 2020);
  * off-chip parameter bytes: int8 parameters (one byte each) beyond the on-chip parameter
    cache. The EdgeTPU "has roughly 8 MB of SRAM that can cache the model's parameter data"
    (coral.ai/docs/edgetpu/compiler, "Parameter data caching"); parameters that do not fit
    are streamed from host memory on every inference.

Modelled time (ms) = fixed + dense MACs / dense rate + depthwise MACs / depthwise rate
+ off-chip bytes / host bandwidth. Every subnet of a space that maps fully (`ofa_edgetpu`,
see `ofa_tf.export.edgetpu_mapping`) runs as one EdgeTPU subgraph, so no partition term is
needed; for a space with CPU fallback this model does not apply.

The default coefficients (`EdgeTpuCoefficients()`) are ASSUMPTIONS, set by hand to land near
Coral's published USB-Accelerator times (coral.ai/docs/edgetpu/benchmarks, Table 1): the
dense rate from Inception v1 (about 1.5 GMACs, 3.4 ms: about 440 GMAC/s, against 2 TMAC/s
peak = 4 TOPS), the host bandwidth from ResNet-50 V1 at 299 px (about 17 MB of its 25 MB of
parameters off-chip, 49 ms), the depthwise rate and the fixed cost (input/output transfer)
from MobileNet v1 / v2 (2.4 / 2.6 ms). They are not fitted to, nor validated on, this
project's subnets: `fit` calibrates them on measured times once a device is at hand.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ofa_tf.search.efficiency import EfficiencyTables

ONCHIP_PARAMETER_BYTES = 8 * 1024 * 1024


@dataclasses.dataclass(frozen=True)
class EdgeTpuCoefficients:
  """Coefficients of the cost model (see the module docstring: assumed, not measured).

  Attributes:
    fixed_ms: per-inference cost independent of the network (invocation, I/O transfer).
    dense_macs_per_s: effective rate of regular / 1x1 convolutions and the classifier.
    depthwise_macs_per_s: effective rate of depthwise convolutions.
    host_bytes_per_s: rate of streaming parameters that do not fit on chip.
    onchip_parameter_bytes: the on-chip parameter cache.
  """
  fixed_ms: float = 0.5
  dense_macs_per_s: float = 440e9
  depthwise_macs_per_s: float = 30e9
  host_bytes_per_s: float = 500e6
  onchip_parameter_bytes: int = ONCHIP_PARAMETER_BYTES

  def __post_init__(self):
    for field in dataclasses.fields(self):
      value = getattr(self, field.name)
      if not np.isfinite(value) or value < 0 or (value == 0 and field.name != "fixed_ms"):
        raise ValueError(f"EdgeTpuCoefficients.{field.name} must be positive (fixed_ms >= 0), "
                         f"got {value!r}")

  def weights(self) -> np.ndarray:
    """ms per unit of each feature of `EdgeTpuCostModel.features`, float64 [4]."""
    return np.array([self.fixed_ms, 1e3 / self.dense_macs_per_s,
                     1e3 / self.depthwise_macs_per_s, 1e3 / self.host_bytes_per_s])


class EdgeTpuCostModel:
  """Modelled EdgeTPU time of subnets given as gene arrays (`ofa_tf.search.genes`).

  Args:
    tables: the space's `EfficiencyTables`.
    coefficients: the model's coefficients (defaults: assumed, see the module docstring).
  """

  def __init__(self, tables: EfficiencyTables,
               coefficients: EdgeTpuCoefficients = EdgeTpuCoefficients()):
    self.tables = tables
    self.coefficients = coefficients

  def features(self, genes: np.ndarray) -> np.ndarray:
    """float64 [N, 4]: 1, dense MACs, depthwise MACs, off-chip parameter bytes."""
    macs = self.tables.macs(genes)
    depthwise = self.tables.depthwise_macs(genes)
    offchip = np.maximum(0, self.tables.params(genes) - self.coefficients.onchip_parameter_bytes)
    return np.stack([np.ones(len(genes)), macs - depthwise, depthwise, offchip],
                    axis=1).astype(np.float64)

  def milliseconds(self, genes: np.ndarray) -> np.ndarray:
    """Modelled time per image (ms), float64 [N]."""
    return self.features(genes) @ self.coefficients.weights()

  def fit(self, genes: np.ndarray, measured_ms: np.ndarray) -> "EdgeTpuCostModel":
    """A model with coefficients fitted to measured times (non-negative least squares).

    Args:
      genes: int64 [N, num_genes] of the measured subnets.
      measured_ms: float [N] measured times per image.

    A rate the subnets do not determine (its fitted weight is 0, e.g. no subnet has
    off-chip bytes) keeps its current value.

    Raises:
      ValueError: mismatched lengths or fewer than 4 subnets.
    """
    from scipy.optimize import nnls  # pylint: disable=g-import-not-at-top
    y = np.asarray(measured_ms, np.float64)
    if y.shape != (len(genes),) or len(genes) < 4:
      raise ValueError(f"fit needs >= 4 subnets and one time each, got {len(genes)} subnets "
                       f"and {y.shape} times")
    x = self.features(genes)
    scale = np.maximum(x.max(axis=0), 1.0)
    w, _ = nnls(x / scale, y)
    w = w / scale
    current = self.coefficients.weights()
    w[1:] = np.where(w[1:] > 0, w[1:], current[1:])
    return EdgeTpuCostModel(self.tables, dataclasses.replace(
        self.coefficients, fixed_ms=float(w[0]), dense_macs_per_s=float(1e3 / w[1]),
        depthwise_macs_per_s=float(1e3 / w[2]), host_bytes_per_s=float(1e3 / w[3])))
