"""Efficiency predictor: latency from a lookup table (+ a fitted correction), MACs, params and
estimated .tflite size, for one config or a batch.

Latency of a subnet = sum of the table values of its layers (stem, blocks, head), then a
correction fitted on a few subnets measured end to end (`correction.py`: a global line, or a
resolution- or kernel-dependent model when the calibration data shows it does better): it
absorbs what isolated layers miss (interpreter overhead per model, cache effects between
layers). Without a correction the raw sum is returned (as the reference OFA predictor does
with the Note10 tables).

Batched prediction gathers from dense arrays `[resolution, block, combination]` and
`[resolution, base combination]` built once per resolution (`search_space.CostTerms`: a
block's combinations are those of the entries its family says it depends on, kernel x expand
for MBConv, expand x input width x output width for OFA-ResNet), so scoring needs no key
formatting (>= 10^4 configs/s).
"""

from typing import Dict, Iterable, List, Optional

import numpy as np

from ofa_tf.latency import host
from ofa_tf.latency import lut
from ofa_tf.latency import network_layers
from ofa_tf.latency.correction import Correction, CorrectionFeatures, fit_correction  # pylint: disable=unused-import
from ofa_tf.search_space import CostTerms, SubnetConfig, count_macs, count_params

BYTES_PER_WEIGHT = {"fp32": 4, "fp16": 2, "int8": 1}


def measured_on_this_cpu(table: lut.LatencyTable) -> bool:
  """True when the table's device profile times models on the machine that runs it (runner
  'litert' / 'litert_benchmark', or a local benchmark_model), i.e. its host fingerprint must
  match this host's. Tables without a device runner (the released Note10 tables) and adb
  profiles describe another device."""
  device = table.metadata.get("device")
  return isinstance(device, dict) and "runner" in device and not device.get("adb", False)


class EfficiencyPredictor:
  """Latency (ms), MACs, params and estimated .tflite bytes of subnets of one space.

  Args:
    table: the lookup table (its metadata 'space' must equal `space.name`).
    space: the search space.
    correction: linear correction; default: the table's `metadata['correction']` if any, else
      the identity (raw sum).
    precision: weight precision for the .tflite size estimate (default: the table's device
      precision, else 'fp32').
    host_check: what to do when the table was measured on this machine's CPU (an in-process
      or local profile) but on another host, or has no fingerprint (`host.check_host`):
      'warn' (a UserWarning naming both hosts), 'error' (`host.HostMismatchError`) or
      'ignore' (accept it). Tables of remote devices (adb profiles, the Note10 tables) are
      not checked.
    table_name: names the table in those messages (e.g. its path).

  Raises:
    ValueError: the table was built for another space.
    host.HostMismatchError: host_check='error' and the table is from another host.
  """

  def __init__(self, table: lut.LatencyTable, space, correction: Optional[Correction] = None,
               precision: Optional[str] = None, host_check: str = "warn",
               table_name: str = "latency table"):
    table_space = table.metadata.get("space")
    if table_space != space.name:
      raise ValueError(f"latency table was built for space {table_space!r}, not {space.name!r}")
    if measured_on_this_cpu(table):
      host.check_host(table.metadata.get("host"), what=table_name, on_mismatch=host_check)
    self.table = table
    self.space = space
    if correction is None and "correction" in table.metadata:
      correction = Correction.from_dict(table.metadata["correction"])
    self.correction = correction or Correction()
    device = table.metadata.get("device", {})
    self.precision = precision or (device.get("precision") if isinstance(device, dict) else None) \
        or "fp32"
    self.terms = CostTerms(space)
    self._r_index: Dict[int, int] = {}
    self._blocks: List[np.ndarray] = []
    self._kernels: List[np.ndarray] = []
    self._bases: List[np.ndarray] = []
    self._dense_blocks = np.zeros((0, space.num_blocks, self.terms.num_combos))
    self._dense_kernels = np.zeros((0, space.num_blocks, self.terms.num_combos), np.int64)
    self._dense_bases = np.zeros((0, len(self.terms.base_combos)))
    self.kernel_sizes: tuple = ()  # Of the blocks of the prepared resolutions (features).

  # --- Table lookup --------------------------------------------------------------------------

  def _prepare(self, r: int) -> int:
    """Dense per-term values at resolution r (built once). Raises MissingEntryError."""
    if r in self._r_index:
      return self._r_index[r]

    def block_value(block):
      return (self.table.value(r, network_layers.block_layer(block).key), block.kernel_size)

    def base_value(spec, blocks):
      return (self.table.sum(r, [l.key for l in network_layers.network_layers(spec)
                                 if l.block is None or l.block not in blocks]), 0)

    blocks, bases = self.terms.tabulate(r, block_value, base_value, 2)
    self._r_index[r] = len(self._blocks)
    self._blocks.append(blocks[..., 0])
    self._kernels.append(blocks[..., 1].astype(np.int64))
    self._bases.append(bases[..., 0])
    self._dense_blocks = np.stack(self._blocks)
    self._dense_kernels = np.stack(self._kernels)
    self._dense_bases = np.stack(self._bases)
    self.kernel_sizes = tuple(int(k) for k in np.unique(self._dense_kernels) if k > 0)
    return self._r_index[r]

  def table_sum(self, config: SubnetConfig) -> float:
    """Raw sum (ms) of the table entries of the subnet's layers, via its layer keys.

    Raises:
      MissingEntryError: naming the first layer the table lacks.
    """
    spec = self.space.network_spec(config)
    return self.table.sum(config.r, [l.key for l in network_layers.network_layers(spec)])

  def encode(self, configs: Iterable[SubnetConfig]):
    """Configs -> (r_idx [N], block term index [N, B], base term index [N], active [N, B]).

    Raises:
      MissingEntryError: the table lacks a resolution or a layer of the space.
      ValueError: a config is not valid for the space.
    """
    configs = list(configs)
    r_idx = np.array([self._prepare(c.r) for c in configs], dtype=np.int64)
    block, base = self.terms.indices(self.terms.config_choices(configs))
    active = np.zeros((len(configs), self.space.num_blocks), dtype=bool)
    for i, c in enumerate(configs):
      active[i, list(self.space.active_blocks(c))] = True
    return r_idx, block, base, active

  def table_sum_arrays(self, r_idx, block, base, active) -> np.ndarray:
    """Vectorized raw table sums (ms) from `encode` arrays."""
    return self._dense_bases[r_idx, base] + self._active_block_values(r_idx, block,
                                                                      active).sum(axis=1)

  def _active_block_values(self, r_idx, block, active) -> np.ndarray:
    blocks = np.arange(self.space.num_blocks)[None, :]
    return self._dense_blocks[r_idx[:, None], blocks, block] * active

  def features(self, configs: Iterable[SubnetConfig]) -> CorrectionFeatures:
    """What the correction sees of each config: table sum, resolution, and the table sum of
    the active blocks of each kernel size (ms; the kernel of each block term comes from its
    `BlockSpec`, so any family has them)."""
    configs = list(configs)
    r_idx, block, base, active = self.encode(configs)
    per_block = self._active_block_values(r_idx, block, active)
    blocks = np.arange(self.space.num_blocks)[None, :]
    kernels = self._dense_kernels[r_idx[:, None], blocks, block]
    kernel_sums = np.stack([(per_block * (kernels == k)).sum(axis=1)
                            for k in self.kernel_sizes], axis=1)
    return CorrectionFeatures(self._dense_bases[r_idx, base] + per_block.sum(axis=1),
                              np.array([c.r for c in configs], np.int64), kernel_sums,
                              self.kernel_sizes)

  # --- Public metrics ------------------------------------------------------------------------

  def latency_batch(self, configs: Iterable[SubnetConfig]) -> np.ndarray:
    """Predicted latency (ms) of each config: correction(table sum and features)."""
    return self.correction.apply(self.features(configs))

  def latency(self, config: SubnetConfig) -> float:
    return float(self.latency_batch([config])[0])

  def macs(self, config: SubnetConfig) -> int:
    """Multiply-accumulates (search_space.count_macs)."""
    return count_macs(self.space.network_spec(config))

  def params(self, config: SubnetConfig) -> int:
    return count_params(self.space.network_spec(config))

  def tflite_bytes(self, config: SubnetConfig) -> int:
    """Estimated .tflite size: weights (BatchNorm folded: gamma/beta become one bias per
    channel) x bytes per weight of the precision, plus ~ 1 KB per layer of graph metadata.
    Checked against converted subnets in the validation report."""
    spec = self.space.network_spec(config)
    bn_channels = (sum(c.out_channels for c in spec.stem + spec.head_before_pool
                       + spec.head_after_pool if c.batch_norm) +
                   sum((b.mid_channels if b.has_expand else 0) + b.mid_channels + b.out_channels
                       + (b.out_channels if b.has_downsample else 0) for b in spec.blocks))
    weights = count_params(spec) - bn_channels
    return int(weights * BYTES_PER_WEIGHT[self.precision] + 1024 * (len(spec.blocks) + 6))

  def metrics(self, config: SubnetConfig) -> Dict[str, float]:
    """All efficiency metrics of one config: latency_ms, macs, params, tflite_bytes."""
    return {"latency_ms": self.latency(config), "macs": self.macs(config),
            "params": self.params(config), "tflite_bytes": self.tflite_bytes(config)}


def load_predictor(tables_dir: str, profile: str,
                   host_check: str = "warn") -> EfficiencyPredictor:
  """The predictor of device profile `profile` from the tables kept in `tables_dir`.

  Looks for `<tables_dir>/<profile>.json` (or `.yaml`/`.yml`), a table written by
  export/build_latency_table.py, or a directory `<tables_dir>/<profile>/` of released
  `{r}_lookup_table.yaml` files (e.g. the OFA Note10 tables, width-1.2 space). The space is the
  registered one named in the table, restricted to the table's resolutions. The table's host
  fingerprint is checked against this host (`EfficiencyPredictor`, `host_check`).

  Raises:
    FileNotFoundError: no table for `profile` in `tables_dir` (the message lists what is there).
    ValueError: the table names no registered space, or was built for another profile.
    host.HostMismatchError: host_check='error' and the table is from another host.
  """
  import os  # pylint: disable=g-import-not-at-top
  from ofa_tf.search_space import get_space  # pylint: disable=g-import-not-at-top
  base = os.path.join(tables_dir, profile)
  files = [base + ext for ext in (".json", ".yaml", ".yml") if os.path.isfile(base + ext)]
  if files:
    table = lut.load_table(files[0])
    built_for = (table.metadata.get("device") or {}).get("name")
    if built_for not in (None, profile):
      raise ValueError(f"{files[0]} was built for device profile {built_for!r}, not "
                       f"{profile!r}: name each table after its profile")
  elif os.path.isdir(base):
    table = lut.load_note10_tables(base, device=profile)
  else:
    present = sorted(os.listdir(tables_dir)) if os.path.isdir(tables_dir) else []
    raise FileNotFoundError(
        f"no latency table for profile {profile!r} in {tables_dir!r} (expected {profile}.json, "
        f"{profile}.yaml or a {profile}/ directory of {{r}}_lookup_table.yaml files; found "
        f"{present}); build one with export/build_latency_table.py")
  space = get_space(table.metadata.get("space", "")).replace(resolutions=table.resolutions)
  return EfficiencyPredictor(table, space, host_check=host_check,
                             table_name=files[0] if files else base)


def load_latency_fn(tables_dir: str, profile: str, host_check: str = "warn"):
  """`load_predictor(...).latency_batch`: Sequence[SubnetConfig] -> np.ndarray of ms (the
  search's latency constraint)."""
  return load_predictor(tables_dir, profile, host_check).latency_batch
