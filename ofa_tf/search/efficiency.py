"""Batched MACs, parameter and int8-size counts from per-block lookup tables.

`space.macs(config)` builds a `NetworkSpec` per subnet, which is too slow for an evolutionary
search scoring tens of thousands of candidates. A subnet's cost is a per-resolution constant
(stem, block 0, head) plus one term per active elastic block, and a block's cost depends only
on (resolution, block, kernel, expand): the input size of elastic block b depends on the
resolution alone, because the blocks a short stage skips all have stride 1. The tables are
built once per space from `ofa_tf.search_space.counters`, so the conventions (SE at 1x1,
BN scale and shift counted, no BN statistics) are exactly those of `space.macs` and
`space.params`.

int8 model size estimate (bytes): one byte per parameter (int8 weights; the BN scale and
shift that conversion folds away stand in for the int32 biases and per-channel quantization
scales that replace them) plus a fixed `INT8_OVERHEAD_BYTES` for the TFLite flatbuffer
(operator list, tensor descriptors and names, metadata). It is an estimate for budgeting,
not a measurement; the converted file's size is the ground truth.
"""

from __future__ import annotations

import numpy as np

from ofa_tf.search.genes import GeneCodec
from ofa_tf.search_space import (SearchSpace, block_depthwise_macs, block_macs, block_params,
                                 count_macs, count_params)

INT8_OVERHEAD_BYTES = 16 * 1024


class EfficiencyTables:
  """Per-block MACs/params lookup tables of one space, evaluated on gene arrays.

  Args:
    space: the search space.
    int8_overhead_bytes: fixed part of the int8 model size estimate (see module docstring).
  """

  def __init__(self, space: SearchSpace, int8_overhead_bytes: int = INT8_OVERHEAD_BYTES):
    self.space = space
    self.codec = GeneCodec(space)
    self.int8_overhead_bytes = int(int8_overhead_bytes)
    nr, b = len(space.resolutions), space.num_blocks
    nk, ne = len(space.kernel_sizes), len(space.expand_ratios)
    # macs[r, b, k, e] and params[b, k, e]: cost of elastic block b when active.
    self.block_macs = np.zeros((nr, b, nk, ne), np.int64)
    self.block_params = np.zeros((b, nk, ne), np.int64)
    self.block_depthwise_macs = np.zeros((nr, b, nk, ne), np.int64)
    self.base_macs = np.zeros(nr, np.int64)
    self.base_depthwise_macs = np.zeros(nr, np.int64)
    self.base_params = 0
    k_index = {k: i for i, k in enumerate(space.kernel_sizes)}
    e_index = {e: i for i, e in enumerate(space.expand_ratios)}
    for ri, r in enumerate(space.resolutions):
      for ki, k in enumerate(space.kernel_sizes):
        for ei, e in enumerate(space.expand_ratios):
          # A block whose entry lacks k or e (OFA-EdgeTPU's fused blocks: k 3 only) keeps its
          # largest value; its gene indices are those of the space-wide lists (a prefix).
          config = space.extreme_config(True, r, {"ks": (k,), "e": (e,)})
          spec = space.network_spec(config)
          for block in spec.blocks[1:]:
            j = block.index - 1
            cell = (j, k_index[config.ks[j]], e_index[config.e[j]])
            self.block_macs[(ri,) + cell] = block_macs(block)
            self.block_depthwise_macs[(ri,) + cell] = block_depthwise_macs(block)
            if ri == 0:
              self.block_params[cell] = block_params(block)
          if ki == 0 and ei == 0:
            self.base_macs[ri] = count_macs(spec) - sum(block_macs(x) for x in spec.blocks[1:])
            self.base_depthwise_macs[ri] = block_depthwise_macs(spec.blocks[0])
            if ri == 0:
              self.base_params = count_params(spec) - sum(
                  block_params(x) for x in spec.blocks[1:])
    self._blocks = np.arange(b)

  def _per_resolution_sum(self, base: np.ndarray, table: np.ndarray,
                          genes: np.ndarray) -> np.ndarray:
    """base[r] + the table entries [r, b, k, e] of the active blocks, int64 [N]."""
    codec = self.codec
    ks, e, r = genes[:, codec.cols('ks')], genes[:, codec.cols('e')], genes[:, codec.r_col]
    per_block = table[r[:, None], self._blocks[None, :], ks, e]
    return base[r] + np.where(codec.active_mask(genes), per_block, 0).sum(axis=1)

  def macs(self, genes: np.ndarray) -> np.ndarray:
    """Multiply-accumulates per image of each subnet, int64 [N] (== `space.macs`)."""
    return self._per_resolution_sum(self.base_macs, self.block_macs, genes)

  def depthwise_macs(self, genes: np.ndarray) -> np.ndarray:
    """The part of `macs` spent in depthwise convolutions, int64 [N]."""
    return self._per_resolution_sum(self.base_depthwise_macs, self.block_depthwise_macs, genes)

  def params(self, genes: np.ndarray) -> np.ndarray:
    """Parameter count of each subnet, int64 [N] (== `space.params`)."""
    codec = self.codec
    ks, e = genes[:, codec.cols('ks')], genes[:, codec.cols('e')]
    per_block = self.block_params[self._blocks[None, :], ks, e]
    return self.base_params + np.where(codec.active_mask(genes), per_block, 0).sum(axis=1)

  def int8_size_bytes(self, genes: np.ndarray) -> np.ndarray:
    """Estimated int8 TFLite model size in bytes, int64 [N] (see module docstring)."""
    return self.params(genes) + self.int8_overhead_bytes
