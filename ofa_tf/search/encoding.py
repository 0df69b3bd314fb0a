"""One-hot architecture encoding of the accuracy predictor (Cai et al., ICLR 2020, Sec. 3.4).

Layout (reference `MobileNetArchEncoder`), for B elastic blocks, kernel choices K, expand
choices E and resolutions R of a space:

  [0, B*|K|)                      kernel one-hot of block b at b*|K| + index(ks[b])
  [B*|K|, B*(|K|+|E|))            expand one-hot of block b at B*|K| + b*|E| + index(e[b])
  [B*(|K|+|E|), ... + |R|)        resolution one-hot

Blocks that a short stage skips are all zeros. For OFA-MobileNetV3 (B = 20, |K| = |E| = 3,
|R| = 25) this is 120 + 25 = 145 dims.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ofa_tf.search.genes import GeneCodec
from ofa_tf.search_space import MobileNetV3Space, SubnetConfig


class ArchEncoder:
  """Batched one-hot encoder of a space's subnets.

  Args:
    space: the search space.
  """

  def __init__(self, space: MobileNetV3Space):
    self.space = space
    self.codec = GeneCodec(space)
    b = space.num_blocks
    nk, ne, nr = len(space.kernel_sizes), len(space.expand_ratios), len(space.resolutions)
    self.resolution_offset = 0
    self.kernel_offset = nr
    self.expand_offset = nr + b * nk
    self.dim = nr + b * (nk + ne)
    self._k_base = self.kernel_offset + np.arange(b, dtype=np.int64) * nk
    self._e_base = self.expand_offset + np.arange(b, dtype=np.int64) * ne

  def encode(self, configs: Sequence[SubnetConfig]) -> np.ndarray:
    """float32 [N, dim] features of `configs` (validated against the space)."""
    return self.encode_genes(self.codec.encode(configs))

  def encode_genes(self, genes: np.ndarray) -> np.ndarray:
    """float32 [N, dim] features of int64 gene arrays [N, num_genes] (see `genes`)."""
    codec = self.codec
    n = len(genes)
    features = np.zeros((n, self.dim), np.float32)
    active = codec.active_mask(genes)
    rows, blocks = np.nonzero(active)
    features[rows, self._k_base[blocks] + genes[rows, blocks]] = 1.0
    features[rows, self._e_base[blocks] + genes[rows, codec.num_blocks + blocks]] = 1.0
    features[np.arange(n), self.resolution_offset + genes[:, codec.r_col]] = 1.0
    return features
