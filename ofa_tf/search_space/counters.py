"""Analytic MACs and parameter counts of a `NetworkSpec` (no model is built).

Convention of the published OFA tables (reference `count_net_flops` / `count_parameters`):
MACs count the multiply-accumulates of every convolution and of the classifier; squeeze-excite
1x1 convs count at 1x1 spatial size; BatchNorm, activations, pooling and residual adds count
zero. Parameters count conv/linear weights and biases and the BatchNorm scale and shift
(PyTorch `parameters()`); `include_bn_statistics=True` adds the BatchNorm moving mean and
variance, which is what Keras' `model.count_params()` reports.
"""

from __future__ import annotations

from ofa_tf.search_space.static_spec import BlockSpec, NetworkSpec


def block_macs(block: BlockSpec) -> int:
  """Multiply-accumulates of one MBConv block (expand, depthwise, SE, project)."""
  out_hw = block.output_size ** 2
  macs = 0
  if block.has_expand:
    macs += block.in_channels * block.mid_channels * block.input_size ** 2
  macs += block.kernel_size ** 2 * block.mid_channels * out_hw
  if block.use_se:
    macs += 2 * block.mid_channels * block.se_channels
  macs += block.mid_channels * block.out_channels * out_hw
  return macs


def block_params(block: BlockSpec, include_bn_statistics: bool = False) -> int:
  """Parameters of one MBConv block; BN counts 2 (or 4 with statistics) per channel."""
  bn = 4 if include_bn_statistics else 2
  params = 0
  if block.has_expand:
    params += block.in_channels * block.mid_channels + bn * block.mid_channels
  params += block.kernel_size ** 2 * block.mid_channels + bn * block.mid_channels
  if block.use_se:
    params += 2 * block.mid_channels * block.se_channels + block.se_channels + block.mid_channels
  params += block.mid_channels * block.out_channels + bn * block.out_channels
  return params


def count_macs(spec: NetworkSpec) -> int:
  """Multiply-accumulates of one forward pass of one image (MACs, not FLOPs)."""
  macs = 27 * spec.stem_channels * spec.stem_output_size ** 2
  macs += sum(block_macs(b) for b in spec.blocks)
  macs += spec.last_block_channels * spec.final_expand_channels * spec.final_size ** 2
  macs += spec.final_expand_channels * spec.feature_mix_channels
  macs += spec.feature_mix_channels * spec.num_classes
  return macs


def count_params(spec: NetworkSpec, include_bn_statistics: bool = False) -> int:
  """Number of parameters (see the module docstring for the BatchNorm convention)."""
  bn = 4 if include_bn_statistics else 2
  params = 27 * spec.stem_channels + bn * spec.stem_channels
  params += sum(block_params(b, include_bn_statistics) for b in spec.blocks)
  params += spec.last_block_channels * spec.final_expand_channels
  params += bn * spec.final_expand_channels
  params += spec.final_expand_channels * spec.feature_mix_channels
  params += spec.feature_mix_channels * spec.num_classes + spec.num_classes
  return params
