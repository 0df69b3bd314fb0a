"""One-hot architecture encoding of the accuracy predictor (Cai et al., ICLR 2020, Sec. 3.4).

Where each choice lands is a layout (`ofa_tf.search.encoding_layouts`, one per encoding
variant); this module turns any layout into one vectorized map from gene arrays to features.
Our default layout ("ofa_tf") is generic over a family's declared elastic dimensions: the
resolution one-hot first, then, for every dimension except the depth one, one one-hot per
entry over that entry's choices, in declaration order. Entries of blocks a short stage skips
are all zeros (that is how depth is encoded). For OFA-MobileNetV3 (reference
`MobileNetArchEncoder`, B = 20 blocks, |K| = |E| = 3, |R| = 25):

  [0, |R|)                           resolution one-hot
  [|R|, |R| + B*|K|)                 kernel one-hot of block b at |R| + b*|K| + index(ks[b])
  [|R| + B*|K|, |R| + B*(|K|+|E|))   expand one-hot of block b

that is 25 + 120 = 145 dims. The released predictors' layouts ("released_mbv3", 128-d;
"released_resnet50", 82-d) are described in `encoding_layouts`.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ofa_tf.search.encoding_layouts import RESOLUTION, layout_for
from ofa_tf.search.genes import GeneCodec
from ofa_tf.search_space import SearchSpace, SubnetConfig


class ArchEncoder:
  """Batched one-hot encoder of a space's subnets in one encoding variant.

  Args:
    space: the search space (any registered family).
    variant: the encoding variant ("ofa_tf", "released_mbv3", "released_resnet50").

  Raises:
    ValueError: unknown variant, or `space` does not fit it (e.g. a value the layout has no
      position for).
  """

  def __init__(self, space: SearchSpace, variant: str = "ofa_tf"):
    self.space = space
    self.variant = variant
    self.layout = layout = layout_for(space, variant)
    self.codec = codec = GeneCodec(space)
    self.dim = layout.dim
    self.dim_offsets = layout.offsets()  # {field: feature offset of its first entry}
    self.resolution_offset = self.dim_offsets[RESOLUTION]
    choices = {d.name: d.choices for d in space.elastic_dims()}
    choices[RESOLUTION] = (space.resolutions,)
    scopes = {d.name: d.scope for d in space.elastic_dims()}
    # For every encoded gene column: its column, the feature index of each choice index, and
    # the block whose activity gates it (-1: always on).
    columns, features, blocks = [], [], []
    width = int(codec.num_choices.max())
    for group in layout.groups:
      positions = dict(group.positions)
      for k, entry in enumerate(group.entries):
        column = codec.r_col if group.field == RESOLUTION else codec.cols(group.field).start + entry
        values = choices[group.field][entry]
        missing = [v for v in values if v not in positions]
        if missing:
          raise ValueError(f"encoding {variant} has no position for {group.field}[{entry}] "
                           f"values {missing} of space {space.name}")
        row = [group.offset + k * group.width + positions[v] for v in values]
        columns.append(column)
        features.append(row + [-1] * (width - len(row)))
        masked = group.masked and scopes.get(group.field) == "block"
        blocks.append(entry if masked else -1)
    self._columns = np.array(columns, np.int64)
    self._features = np.array(features, np.int64)
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
    features[rows, self._features[k, genes[rows, self._columns[k]]]] = 1.0
    return features
