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


# --- OFA-ResNet50 ------------------------------------------------------------------------------

def _sort_channels(writers, bns, readers, edges) -> None:
  """Sorts one group of channels within bands by the L1 norm of the weights that read them.

  Args:
    writers: (variable, axis) of the weights that produce the channels.
    bns: the BatchNorms that normalize them.
    readers: (variable, axis) of the weights that consume them (the importance comes from
      these, as in the reference's sort of middle channels by the next conv's weights).
    edges: the band ends (channel counts of the values trained so far).
  """
  importance = sum(np.abs(np.moveaxis(v.numpy(), axis, 0)).reshape(v.shape[axis], -1).sum(1)
                   for v, axis in readers)
  perm = band_permutation(importance, edges)
  for variable, axis in list(writers) + list(readers):
    _permute(variable, perm, axis)
  for bn in bns:
    _permute_bn(bn, perm)


def resnet_width_groups(supernet) -> list[tuple[list, list, list]]:
  """(writers, BatchNorms, readers) of every width group of an `OFAResNet` (one per `w`
  entry): the stem's first + middle conv, its last conv, then each stage's output, whose
  residual stream every block of the stage writes and the next stage (or the classifier)
  reads. A permutation applied to all of them keeps the network's function."""
  space, blocks = supernet.space, supernet.blocks
  firsts = [b for b in range(space.num_blocks) if space.block_position()[b] == 0]
  groups = [([(supernet.stem1_kernel, 3), (supernet.stem2_kernel, 3)],
             [supernet.stem1_bn, supernet.stem2_bn],
             [(supernet.stem2_kernel, 2), (supernet.stem3_kernel, 2)]),
            ([(supernet.stem3_kernel, 3)], [supernet.stem3_bn], [])]
  for s in range(space.num_stages):
    stage = [blocks[b] for b in range(space.num_blocks) if space.bottleneck_stage(b) == s]
    groups.append(([(blk.conv3_kernel, 3) for blk in stage] + [(stage[0].downsample_kernel, 3)],
                   [blk.bn3 for blk in stage] + [stage[0].downsample_bn],
                   [(blk.conv1_kernel, 2) for blk in stage[1:]]))
  for s, b in enumerate(firsts):  # Stage s's first block reads group 1 + s.
    groups[1 + s][2].extend([(blocks[b].conv1_kernel, 2), (blocks[b].downsample_kernel, 2)])
  groups[-1][2].append((supernet.classifier_kernel, 0))
  return groups


def reorganize_resnet(supernet: Supernet, trained_expand_ratios: Sequence[float],
                      trained_widths: Sequence[int]) -> None:
  """Sorts the middle channels of every block, then every width group, by importance within
  the bands of the values trained so far (OFA-ResNet50; Cai et al., ICLR 2020, Sec. 3.2).

  Middle channels: the conv2 outputs by the L1 norm of conv3's weights, then the conv1
  outputs by that of conv2's (reference `DynamicResNetBottleneckBlock.re_organize_middle_
  weights`); band ends are the middle channels of every trained (expand ratio, width) pair.
  Width groups (`resnet_width_groups`): by the L1 norm of the weights reading them; band ends
  are the group's widths at the trained width indices. Subnets that use only trained values
  compute the same function afterwards.

  Args:
    supernet: an `OFAResNet`, modified in place (eager, outside any tf.function).
    trained_expand_ratios: expand ratios trained so far.
    trained_widths: width indices (into `space.width_mults`) trained so far.

  Raises:
    ValueError: a ratio or width index the space lacks.
  """
  space = supernet.space
  bad = [e for e in trained_expand_ratios if e not in space.expand_ratios]
  bad += [w for w in trained_widths if w not in range(len(space.width_mults))]
  if bad:
    raise ValueError(f"trained values {bad} not in the space's expand ratios "
                     f"{space.expand_ratios} / width indices {len(space.width_mults)}")
  for b, block in enumerate(supernet.blocks):
    stage = space.bottleneck_stage(b)
    edges = [space.mid_channels(space.stage_width(stage, w), e)
             for e in trained_expand_ratios for w in trained_widths]
    _sort_channels([(block.conv2_kernel, 3)], [block.bn2], [(block.conv3_kernel, 2)], edges)
    _sort_channels([(block.conv1_kernel, 3)], [block.bn1], [(block.conv2_kernel, 2)], edges)
  for g, (writers, bns, readers) in enumerate(resnet_width_groups(supernet)):
    edges = [space.width_groups((w,) * (2 + space.num_stages))[g] for w in trained_widths]
    _sort_channels(writers, bns, readers, edges)
