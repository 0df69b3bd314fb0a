"""One-hot architecture encoding of the accuracy predictor (Cai et al., ICLR 2020, Sec. 3.4).

Layout, generic over a family's declared elastic dimensions (`space.elastic_dims()`): the
resolution one-hot first, then, for every dimension except the depth one, one one-hot per
entry over that entry's choices, in declaration order. Entries of blocks a short stage skips
are all zeros (that is how depth is encoded). For OFA-MobileNetV3 (reference
`MobileNetArchEncoder`, B = 20 blocks, |K| = |E| = 3, |R| = 25):

  [0, |R|)                           resolution one-hot
  [|R|, |R| + B*|K|)                 kernel one-hot of block b at |R| + b*|K| + index(ks[b])
  [|R| + B*|K|, |R| + B*(|K|+|E|))   expand one-hot of block b

that is 25 + 120 = 145 dims.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ofa_tf.search.genes import GeneCodec
from ofa_tf.search_space import SearchSpace, SubnetConfig


class ArchEncoder:
  """Batched one-hot encoder of a space's subnets.

  Args:
    space: the search space (any registered family).
  """

  def __init__(self, space: SearchSpace):
    self.space = space
    self.codec = codec = GeneCodec(space)
    # For every encoded gene column: its feature offset and whether a block mask applies.
    offsets, columns, blocks = [], [], []
    self.resolution_offset = 0
    self.dim_offsets = {}  # {dimension: feature offset of its first entry}
    offset = len(space.resolutions)
    for d in space.elastic_dims():
      if d.depth:
        continue
      self.dim_offsets[d.name] = offset
      cols = codec.dim_cols[d.name]
      for i, entry in enumerate(d.choices):
        offsets.append(offset)
        columns.append(cols.start + i)
        blocks.append(i if d.scope == "block" else -1)
        offset += len(entry)
    self.dim = offset
    self._offsets = np.array(offsets, np.int64)
    self._columns = np.array(columns, np.int64)
    self._blocks = np.array(blocks, np.int64)

  def encode(self, configs: Sequence[SubnetConfig]) -> np.ndarray:
    """float32 [N, dim] features of `configs` (validated against the space)."""
    return self.encode_genes(self.codec.encode(configs))

  def encode_genes(self, genes: np.ndarray) -> np.ndarray:
    """float32 [N, dim] features of int64 gene arrays [N, num_genes] (see `genes`)."""
    n = len(genes)
    features = np.zeros((n, self.dim), np.float32)
    mask = self.codec.active_mask(genes)  # [N, B]
    on = np.ones((n, len(self._columns)), bool)
    in_block = self._blocks >= 0
    on[:, in_block] = mask[:, self._blocks[in_block]]
    rows, k = np.nonzero(on)
    features[rows, self._offsets[k] + genes[rows, self._columns[k]]] = 1.0
    features[np.arange(n), genes[:, self.codec.r_col]] = 1.0
    return features
