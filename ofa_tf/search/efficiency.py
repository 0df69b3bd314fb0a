"""Batched MACs, parameter and int8-size counts from per-block lookup tables.

`space.macs(config)` builds a `NetworkSpec` per subnet, which is too slow for an evolutionary
search scoring tens of thousands of candidates. A subnet's cost is a base term (stem, fixed
blocks, head) plus one term per active elastic block. The family declares what each term
depends on besides the resolution (`space.block_cost_entries(b)`, `space.base_cost_entries()`:
(dimension, entry) pairs; MBConv block b: its kernel and expand entries; an OFA-ResNet block:
its expand entry and the two width groups it reads and writes), so each term is a table over
the combinations of those entries' choices. That needs every block's input size to depend on
the resolution alone, which holds because the blocks depth skips all have stride 1. The
tables are built once per space from `ofa_tf.search_space.counters`, so the conventions (SE
at 1x1, BN scale and shift counted, no BN statistics) are exactly those of `space.macs` and
`space.params`.

int8 model size estimate (bytes): one byte per parameter (int8 weights; the BN scale and
shift that conversion folds away stand in for the int32 biases and per-channel quantization
scales that replace them) plus a fixed `INT8_OVERHEAD_BYTES` for the TFLite flatbuffer
(operator list, tensor descriptors and names, metadata). It is an estimate for budgeting,
not a measurement; the converted file's size is the ground truth.
"""

from __future__ import annotations

import itertools

import numpy as np

from ofa_tf.search.genes import GeneCodec
from ofa_tf.search_space import (SearchSpace, SubnetConfig, block_macs, block_params,
                                 count_macs, count_params)

INT8_OVERHEAD_BYTES = 16 * 1024


class EfficiencyTables:
  """Per-block MACs/params lookup tables of one space, evaluated on gene arrays.

  Args:
    space: the search space (any registered family).
    int8_overhead_bytes: fixed part of the int8 model size estimate (see module docstring).
  """

  def __init__(self, space: SearchSpace, int8_overhead_bytes: int = INT8_OVERHEAD_BYTES):
    self.space = space
    self.codec = codec = GeneCodec(space)
    self.int8_overhead_bytes = int(int8_overhead_bytes)
    b = space.num_blocks
    block_entries = [space.block_cost_entries(i) for i in range(b)]
    width = max([len(e) for e in block_entries] + [1])
    # Gene columns and mixed-radix strides of each term's entries (padded with stride 0).
    cols, strides = zip(*[self._index_of(e, width) for e in block_entries])
    self._block_cols, self._block_strides = np.array(cols), np.array(strides)  # [B, width]
    base_entries = space.base_cost_entries()
    cols, strides = self._index_of(base_entries, max(1, len(base_entries)))
    self._base_cols, self._base_strides = np.array(cols), np.array(strides)
    combos = [self._combinations(e) for e in block_entries]
    base_combos = self._combinations(base_entries)
    nr, nc = len(space.resolutions), max([len(c) for c in combos] + [1])
    self.block_macs = np.zeros((nr, b, nc), np.int64)
    self.block_params = np.zeros((b, nc), np.int64)
    self.base_macs = np.zeros((nr, len(base_combos)), np.int64)
    self.base_params = np.zeros(len(base_combos), np.int64)
    for ri, r in enumerate(space.resolutions):
      largest = space.max_config(r)
      for c in range(nc):
        pending = [i for i in range(b) if c < len(combos[i]) and combos[i][c] is not None]
        while pending:  # Blocks whose entries do not conflict share one network spec.
          assignment, chosen, deferred = {}, [], []
          for i in pending:
            values = combos[i][c]
            if any(assignment.get(k, v) != v for k, v in values.items()):
              deferred.append(i)
            else:
              assignment.update(values)
              chosen.append(i)
          blocks = self._elastic_blocks(self._config(largest, assignment))
          for i in chosen:
            self.block_macs[ri, i, c] = block_macs(blocks[i])
            self.block_params[i, c] = block_params(blocks[i])
          pending = deferred
      for c, values in enumerate(base_combos):
        config = self._config(largest, values)
        spec = space.network_spec(config)
        blocks = self._elastic_blocks(config, spec).values()
        self.base_macs[ri, c] = count_macs(spec) - sum(block_macs(x) for x in blocks)
        self.base_params[c] = count_params(spec) - sum(block_params(x) for x in blocks)
    self._blocks = np.arange(b)

  def _index_of(self, entries, width):
    """(gene columns [width], strides [width]) of the mixed-radix index over `entries`."""
    cols, strides, stride = [], [], 1
    for name, entry in reversed(entries):
      cols.append(self.codec.cols(name).start + entry)
      strides.append(stride)
      stride *= len(self.space.dim(name).choices[entry])
    pad = width - len(cols)
    return cols[::-1] + [self.codec.r_col] * pad, strides[::-1] + [0] * pad

  def _combinations(self, entries) -> list[dict | None]:
    """{(dimension, entry): value} per mixed-radix index, None where one entry would take
    two values (a block reading and writing the same width group)."""
    out = []
    choices = [self.space.dim(name).choices[entry] for name, entry in entries]
    for values in itertools.product(*choices):
      combo = {}
      for key, value in zip(entries, values):
        if combo.setdefault(key, value) != value:
          combo = None
          break
      out.append(combo)
    return out

  def _config(self, largest: SubnetConfig, assignment) -> SubnetConfig:
    changes = {}
    for (name, entry), value in assignment.items():
      values = list(changes.get(name, getattr(largest, name)))
      values[entry] = value
      changes[name] = tuple(values)
    return largest.replace(**changes)

  def _elastic_blocks(self, config: SubnetConfig, spec=None) -> dict:
    """{elastic block: its BlockSpec} of `config` (the spec's last blocks are the active
    elastic ones, after any fixed block)."""
    spec = spec or self.space.network_spec(config)
    active = self.space.active_blocks(config)
    return dict(zip(active, spec.blocks[len(spec.blocks) - len(active):]))

  def _block_index(self, genes: np.ndarray) -> np.ndarray:
    return (genes[:, self._block_cols] * self._block_strides[None]).sum(-1)

  def _base_index(self, genes: np.ndarray) -> np.ndarray:
    return (genes[:, self._base_cols] * self._base_strides[None]).sum(-1)

  def macs(self, genes: np.ndarray) -> np.ndarray:
    """Multiply-accumulates per image of each subnet, int64 [N] (== `space.macs`)."""
    r = genes[:, self.codec.r_col]
    per_block = self.block_macs[r[:, None], self._blocks[None, :], self._block_index(genes)]
    active = np.where(self.codec.active_mask(genes), per_block, 0).sum(axis=1)
    return self.base_macs[r, self._base_index(genes)] + active

  def params(self, genes: np.ndarray) -> np.ndarray:
    """Parameter count of each subnet, int64 [N] (== `space.params`)."""
    per_block = self.block_params[self._blocks[None, :], self._block_index(genes)]
    active = np.where(self.codec.active_mask(genes), per_block, 0).sum(axis=1)
    return self.base_params[self._base_index(genes)] + active

  def int8_size_bytes(self, genes: np.ndarray) -> np.ndarray:
    """Estimated int8 TFLite model size in bytes, int64 [N] (see module docstring)."""
    return self.params(genes) + self.int8_overhead_bytes
