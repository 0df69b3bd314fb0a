"""Per-layer latency lookup tables: OFA-format keys, table files, the Note10 loader.

Keys follow the released OFA tables (reference `ofa/nas/efficiency_predictor`, files
`{r}_lookup_table.yaml` in ../shared/reference/ofa_note10_lut):

  Conv-input:224x224x3-output:112x112x24                         stem conv (+BN, h-swish)
  expanded_conv-input:HxWxC-output:HxWxC-expand:M-kernel:K-stride:S-idskip:I-se:E-hs:H
                                                                 one MBConv block, M = mid
                                                                 channels, I = residual
  bottleneck-input:HxWxC-output:HxWxC-mid:M-kernel:K-stride:S-downsample:D
                                                                 one ResNet bottleneck, D =
                                                                 avg-pool + 1x1 shortcut
  MaxPool-input:112x112x64-output:56x56x64                       the ResNet stem's max pool
  Conv_1-input:7x7x160-output:7x7x960                            final expand 1x1 conv
  AvgPool2D-input:7x7x960-output:1x1x960                         global average pool
  Conv_2-input:1x1x960-output:1x1x1280                           feature mix 1x1 conv
  Logits-input:1x1x1280-output:1000                              classifier

Table file (JSON, or YAML by extension `.yaml`/`.yml`):
  {"format": "ofa_tf.latency_table/1",
   "metadata": {"space": ..., "device": {DeviceSpec fields}, "resolutions": [...],
                "tool_versions": {...}, "created": ISO-8601, "updated": ISO-8601, ...},
   "entries": {"<resolution>": {"<key>": {"mean": ms, "std": ms, "count": n,
                                          "median": ms, "min": ms, "estimate": ms,
                                          "passes": n, "rse": fraction}}}}
metadata["host"] is the fingerprint of the measuring host (`host.host_fingerprint` plus the
profile and thread count), checked by the predictor (`host.check_host`).
The released Note10 files are bare `{key: {mean, std, count}}` maps, one per resolution.
The value a predictor sums is `estimate` when present (the device spec's estimator applied by
the runner, see `LatencyStats.estimate`), else `median`, else `mean` (released tables).
"""

import dataclasses
import datetime
import json
import os
import re
from typing import Dict, Iterable, Mapping, Optional, Tuple

import yaml

from ofa_tf import atomic_files

FORMAT = "ofa_tf.latency_table/1"


def _hwc(h: int, w: int, c: int) -> str:
  return f"{h}x{w}x{c}"


def conv_key(name: str, in_hw: int, in_c: int, out_hw: int, out_c: int) -> str:
  """Key of a plain layer: name in {'Conv', 'Conv_1', 'AvgPool2D', 'Conv_2', 'MaxPool', ...}
  (stem and head convs carry their spec's `table_name`)."""
  return f"{name}-input:{_hwc(in_hw, in_hw, in_c)}-output:{_hwc(out_hw, out_hw, out_c)}"


def logits_key(in_c: int, num_classes: int) -> str:
  return f"Logits-input:{_hwc(1, 1, in_c)}-output:{num_classes}"


def block_key(in_hw: int, in_c: int, out_hw: int, out_c: int, mid: int, kernel: int,
              stride: int, residual: bool, se: bool, hswish: bool,
              name: str = "expanded_conv") -> str:
  """Key of one block in the OFA format: `name` is "expanded_conv" for an MBConv block
  (the reference's) and "fused_conv" for a fused-MBConv block."""
  return (f"{name}-input:{_hwc(in_hw, in_hw, in_c)}-output:{_hwc(out_hw, out_hw, out_c)}"
          f"-expand:{mid}-kernel:{kernel}-stride:{stride}-idskip:{int(residual)}"
          f"-se:{int(se)}-hs:{int(hswish)}")


def bottleneck_key(in_hw: int, in_c: int, out_hw: int, out_c: int, mid: int, kernel: int,
                   stride: int, downsample: bool) -> str:
  """Key of one ResNet bottleneck block (no OFA table has one; same field syntax)."""
  return (f"bottleneck-input:{_hwc(in_hw, in_hw, in_c)}-output:{_hwc(out_hw, out_hw, out_c)}"
          f"-mid:{mid}-kernel:{kernel}-stride:{stride}-downsample:{int(downsample)}")


_KEY_RE = re.compile(r"^(?P<name>[A-Za-z_0-9]+?)-input:(?P<input>\d+x\d+x\d+)-output:"
                     r"(?P<output>\d+(?:x\d+x\d+)?)(?P<rest>(?:-[a-z]+:\d+)*)$")


def parse_key(key: str) -> Dict[str, object]:
  """Splits a key into its fields: name, input (h, w, c), output, and the int options.

  Raises:
    ValueError: not an OFA-format key.
  """
  m = _KEY_RE.match(key)
  if not m:
    raise ValueError(f"not an OFA latency-table key: {key!r}")
  fields = {"name": m.group("name"),
            "input": tuple(int(v) for v in m.group("input").split("x")),
            "output": tuple(int(v) for v in m.group("output").split("x"))}
  for part in filter(None, m.group("rest").split("-")):
    k, v = part.split(":")
    fields[k] = int(v)
  return fields


@dataclasses.dataclass(frozen=True)
class LutEntry:
  """Latency of one layer, ms. `value` is what predictors sum.

  `passes` and `rse` (tables built with interleaved passes): how many passes timed the layer
  and the relative standard error of its per-pass estimates (`measure.measure_until_stable`).
  """
  mean: float
  std: float = 0.0
  count: int = 1
  median: Optional[float] = None
  min: Optional[float] = None
  estimate: Optional[float] = None
  passes: Optional[int] = None
  rse: Optional[float] = None

  @property
  def value(self) -> float:
    if self.estimate is not None:
      return self.estimate
    return self.median if self.median is not None else self.mean

  def to_dict(self) -> Dict[str, float]:
    return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}

  @classmethod
  def from_dict(cls, data: Mapping) -> "LutEntry":
    if "mean" not in data:
      raise ValueError(f"latency-table entry without 'mean': {dict(data)!r}")
    def optional(name, kind):
      return None if data.get(name) is None else kind(data[name])

    return cls(float(data["mean"]), float(data.get("std", 0.0)), int(data.get("count", 1)),
               optional("median", float), optional("min", float), optional("estimate", float),
               optional("passes", int), optional("rse", float))


class MissingEntryError(KeyError):
  """A subnet needs a layer the table does not hold."""

  def __str__(self):
    return str(self.args[0])


@dataclasses.dataclass
class LatencyTable:
  """Per-resolution maps from OFA key to LutEntry, plus metadata.

  Attributes:
    entries: {resolution: {key: LutEntry}}.
    metadata: free-form dict (space, device, tool versions, dates).
  """
  entries: Dict[int, Dict[str, LutEntry]] = dataclasses.field(default_factory=dict)
  metadata: Dict[str, object] = dataclasses.field(default_factory=dict)

  @property
  def resolutions(self) -> Tuple[int, ...]:
    return tuple(sorted(self.entries))

  def __len__(self) -> int:
    return sum(len(v) for v in self.entries.values())

  def contains(self, resolution: int, key: str) -> bool:
    return key in self.entries.get(resolution, {})

  def put(self, resolution: int, key: str, entry: LutEntry) -> None:
    parse_key(key)
    self.entries.setdefault(int(resolution), {})[key] = entry

  def get(self, resolution: int, key: str) -> LutEntry:
    """The entry for `key` at `resolution`.

    Raises:
      MissingEntryError: naming the layer, the resolution and the table's space/device.
    """
    table = self.entries.get(resolution)
    if table is None:
      raise MissingEntryError(
          f"latency table has no resolution {resolution} (has {list(self.resolutions)}); "
          f"needed for layer {key!r}")
    try:
      return table[key]
    except KeyError:
      raise MissingEntryError(
          f"latency table (space {self.metadata.get('space', '?')!r}) lacks layer {key!r} at "
          f"resolution {resolution}") from None

  def value(self, resolution: int, key: str) -> float:
    return self.get(resolution, key).value

  def sum(self, resolution: int, keys: Iterable[str]) -> float:
    """Sum of the entries' values (ms) for `keys` at `resolution`."""
    return float(sum(self.value(resolution, k) for k in keys))

  def to_dict(self) -> Dict[str, object]:
    return {"format": FORMAT, "metadata": self.metadata,
            "entries": {str(r): {k: e.to_dict() for k, e in sorted(t.items())}
                        for r, t in sorted(self.entries.items())}}

  @classmethod
  def from_dict(cls, data: Mapping) -> "LatencyTable":
    if data.get("format") != FORMAT:
      raise ValueError(f"not a {FORMAT} table (format={data.get('format')!r}); released "
                       "Note10 files load with load_note10_tables()")
    entries = {int(r): {k: LutEntry.from_dict(e) for k, e in t.items()}
               for r, t in data.get("entries", {}).items()}
    return cls(entries, dict(data.get("metadata", {})))


def _is_yaml(path: str) -> bool:
  return path.endswith((".yaml", ".yml"))


def atomic_write_text(path: str, text: str) -> None:
  """Writes `text` to `path` atomically (`ofa_tf.atomic_files`)."""
  atomic_files.write_text(path, text)


def save_table(table: LatencyTable, path: str) -> None:
  """Atomically writes `table` (YAML if the path ends in .yaml/.yml, else JSON)."""
  table.metadata["updated"] = datetime.datetime.now(datetime.timezone.utc).isoformat(
      timespec="seconds")
  data = table.to_dict()
  text = (yaml.safe_dump(data, sort_keys=False) if _is_yaml(path)
          else json.dumps(data, indent=1) + "\n")
  atomic_write_text(path, text)


def load_table(path: str) -> LatencyTable:
  """Loads a table written by `save_table`."""
  with open(path) as f:
    data = yaml.safe_load(f) if _is_yaml(path) else json.load(f)
  if not isinstance(data, dict):
    raise ValueError(f"{path}: not a latency table")
  return LatencyTable.from_dict(data)


_NOTE10_NAME = re.compile(r"^(\d+)_lookup_table\.ya?ml$")


def load_note10_tables(directory: str, space: str = "ofa_mbv3_w1.2",
                       device: str = "note10") -> LatencyTable:
  """Loads the released `{r}_lookup_table.yaml` files of `directory` into one table.

  Args:
    directory: folder with files named `{resolution}_lookup_table.yaml`.
    space: space name recorded in the metadata (the Note10 tables are for width 1.2).
    device: device name recorded in the metadata.

  Raises:
    ValueError: no such files, or an entry that is not {mean, std, count}.
  """
  table = LatencyTable(metadata={"space": space, "device": {"name": device},
                                 "source": os.path.abspath(directory), "value": "mean"})
  for name in sorted(os.listdir(directory)):
    m = _NOTE10_NAME.match(name)
    if not m:
      continue
    with open(os.path.join(directory, name)) as f:
      data = yaml.safe_load(f)
    for key, entry in data.items():
      table.put(int(m.group(1)), key, LutEntry.from_dict(entry))
  if not table.entries:
    raise ValueError(f"no '{{resolution}}_lookup_table.yaml' files in {directory}")
  return table
