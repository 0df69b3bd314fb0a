"""Batched MACs, parameter and int8-size counts from per-block lookup tables.

`space.macs(config)` builds a `NetworkSpec` per subnet, which is too slow for an evolutionary
search scoring tens of thousands of candidates. A subnet's cost is a base term plus one term
per active elastic block, each a table over the choices of the entries the family declares it
depends on (`ofa_tf.search_space.cost_terms`). The tables are built once per space from
`ofa_tf.search_space.counters`, so the conventions (SE at 1x1, BN scale and shift counted,
no BN statistics) are exactly those of `space.macs` and `space.params`.

int8 model size estimate (bytes): one byte per parameter (int8 weights; the BN scale and
shift that conversion folds away stand in for the int32 biases and per-channel quantization
scales that replace them) plus a fixed `INT8_OVERHEAD_BYTES` for the TFLite flatbuffer
(operator list, tensor descriptors and names, metadata). It is an estimate for budgeting,
not a measurement; the converted file's size is the ground truth.
"""

from __future__ import annotations

import numpy as np

from ofa_tf.search.genes import GeneCodec
from ofa_tf.search_space import (CostTerms, SearchSpace, block_depthwise_macs, block_macs,
                                 block_params, count_macs, count_params)

INT8_OVERHEAD_BYTES = 16 * 1024


class EfficiencyTables:
  """Per-block MACs/params lookup tables of one space, evaluated on gene arrays.

  Args:
    space: the search space (any registered family).
    int8_overhead_bytes: fixed part of the int8 model size estimate (see module docstring).
  """

  def __init__(self, space: SearchSpace, int8_overhead_bytes: int = INT8_OVERHEAD_BYTES):
    self.space = space
    self.codec = GeneCodec(space)
    self.int8_overhead_bytes = int(int8_overhead_bytes)
    self.terms = terms = CostTerms(space)

    def block_value(block):
      return block_macs(block), block_params(block), block_depthwise_macs(block)

    def base_value(spec, blocks):
      return (count_macs(spec) - sum(block_macs(b) for b in blocks),
              count_params(spec) - sum(block_params(b) for b in blocks),
              sum(block_depthwise_macs(b) for b in spec.blocks)
              - sum(block_depthwise_macs(b) for b in blocks))

    tables = [terms.tabulate(r, block_value, base_value, 3) for r in space.resolutions]
    # block_macs[r, b, combo], base_macs[r, combo]; params do not depend on r.
    self.block_macs = np.stack([t[0][..., 0] for t in tables]).astype(np.int64)
    self.base_macs = np.stack([t[1][..., 0] for t in tables]).astype(np.int64)
    self.block_params = tables[0][0][..., 1].astype(np.int64)
    self.base_params = tables[0][1][..., 1].astype(np.int64)
    self.block_depthwise_macs = np.stack([t[0][..., 2] for t in tables]).astype(np.int64)
    self.base_depthwise_macs = np.stack([t[1][..., 2] for t in tables]).astype(np.int64)
    self._blocks = np.arange(space.num_blocks)

  def _indices(self, genes: np.ndarray):
    return self.terms.indices({d.name: genes[:, self.codec.cols(d.name)]
                               for d in self.space.elastic_dims()})

  def _per_resolution_sum(self, base: np.ndarray, table: np.ndarray,
                          genes: np.ndarray) -> np.ndarray:
    """base[r, combo] + the table entries [r, b, combo] of the active blocks, int64 [N]."""
    r = genes[:, self.codec.r_col]
    block, base_index = self._indices(genes)
    per_block = table[r[:, None], self._blocks[None, :], block]
    active = np.where(self.codec.active_mask(genes), per_block, 0).sum(axis=1)
    return base[r, base_index] + active

  def macs(self, genes: np.ndarray) -> np.ndarray:
    """Multiply-accumulates per image of each subnet, int64 [N] (== `space.macs`)."""
    return self._per_resolution_sum(self.base_macs, self.block_macs, genes)

  def depthwise_macs(self, genes: np.ndarray) -> np.ndarray:
    """The part of `macs` spent in depthwise convolutions, int64 [N]."""
    return self._per_resolution_sum(self.base_depthwise_macs, self.block_depthwise_macs, genes)

  def params(self, genes: np.ndarray) -> np.ndarray:
    """Parameter count of each subnet, int64 [N] (== `space.params`)."""
    block, base = self._indices(genes)
    per_block = self.block_params[self._blocks[None, :], block]
    active = np.where(self.codec.active_mask(genes), per_block, 0).sum(axis=1)
    return self.base_params[base] + active

  def int8_size_bytes(self, genes: np.ndarray) -> np.ndarray:
    """Estimated int8 TFLite model size in bytes, int64 [N] (see module docstring)."""
    return self.params(genes) + self.int8_overhead_bytes
