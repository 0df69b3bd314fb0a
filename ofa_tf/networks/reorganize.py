"""Channel importance re-organization before the elastic-width phases (Cai et al., ICLR 2020,
Sec. 3.2, "Elastic Width"; reference `re_organize_middle_weights`).

Middle channels of every block (a fused-MBConv block's: its fused conv's outputs) are sorted
by importance (L1 norm of their projection-conv weights), descending, so that the first `mid`
channels of a smaller expand ratio are the most important ones. Sorting happens only within nested bands: the channel ranges of expand ratios
already trained stay where they are, so those subnets keep their function. SE hidden channels
are sorted the same way by the L1 norm of their SE-expand weights, within the matching SE
bands. Every permutation is applied consistently to all weights that read or write a channel,
so the function of every network that uses whole bands is unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ofa_tf.layers.elastic_fused_mbconv import ElasticFusedMBConv
from ofa_tf.layers.elastic_mbconv import ElasticMBConv
from ofa_tf.networks.registry import Supernet


def band_permutation(importance: np.ndarray, edges: Sequence[int]) -> np.ndarray:
  """Indices sorting `importance` descending within each band [edges[i-1], edges[i]).

  Args:
    importance: [C] float, larger = more important.
    edges: ascending band ends; the last one is C (added if missing).

  Returns:
    int array [C], a permutation (stable for ties).
  """
  edges = sorted(set(int(e) for e in edges if 0 < e < len(importance))) + [len(importance)]
  perm, start = [], 0
  for end in edges:
    order = np.argsort(-importance[start:end], kind="stable")
    perm.extend(start + order)
    start = end
  return np.asarray(perm, np.int64)


def _permute(variable, perm, axis):
  variable.assign(np.take(variable.numpy(), perm, axis=axis))


def _permute_bn(bn, perm):
  for v in (bn.gamma, bn.beta, bn.moving_mean, bn.moving_variance):
    _permute(v, perm, 0)


def reorganize_block(block: ElasticMBConv | ElasticFusedMBConv, mid_edges: Sequence[int],
                     se_edges: Sequence[int]) -> None:
  """Sorts one block's middle (and SE hidden) channels within the given bands, in place
  (a fused block's middle channels are its fused conv's outputs)."""
  if isinstance(block, ElasticFusedMBConv):
    perm = band_permutation(np.abs(block.project_kernel.numpy()).sum(axis=(0, 1, 3)), mid_edges)
    _permute(block.fused_kernel, perm, 3)
    _permute_bn(block.fused_bn, perm)
    _permute(block.project_kernel, perm, 2)
    return
  if not block.has_expand:
    return
  if block.max_se_channels:
    se_importance = np.abs(block.se_expand_kernel.numpy()).sum(axis=(0, 1, 3))
    se_perm = band_permutation(se_importance, se_edges)
    _permute(block.se_reduce_kernel, se_perm, 3)
    _permute(block.se_reduce_bias, se_perm, 0)
    _permute(block.se_expand_kernel, se_perm, 2)
  importance = np.abs(block.project_kernel.numpy()).sum(axis=(0, 1, 3))
  perm = band_permutation(importance, mid_edges)
  _permute(block.expand_kernel, perm, 3)
  _permute_bn(block.expand_bn, perm)
  _permute(block.depthwise.kernel, perm, 2)
  _permute_bn(block.depthwise_bn, perm)
  if block.max_se_channels:
    _permute(block.se_reduce_kernel, perm, 2)
    _permute(block.se_expand_kernel, perm, 3)
    _permute(block.se_expand_bias, perm, 0)
  _permute(block.project_kernel, perm, 2)


def reorganize_channels(supernet: Supernet, trained_expand_ratios: Sequence[float]) -> None:
  """Sorts middle channels of every elastic block by importance, within nested bands.

  Args:
    supernet: modified in place (outside any tf.function; eager).
    trained_expand_ratios: expand ratios whose subnets are already trained (e.g. (6,) before
      the {4, 6} phase, (4, 6) before the {3, 4, 6} phase). Their channel counts are the band
      edges; subnets using only these ratios compute the same function afterwards.

  Raises:
    ValueError: a ratio is not in the supernet's space.
  """
  space = supernet.space
  bad = [e for e in trained_expand_ratios if e not in space.expand_ratios]
  if bad:
    raise ValueError(f"trained_expand_ratios {bad} not in the space's {space.expand_ratios}")
  for b, block in enumerate(supernet.blocks):
    mids = [space.mid_channels(space.block_input_channels(b), e) for e in trained_expand_ratios]
    reorganize_block(block, mids, [space.se_channels(m) for m in mids])
