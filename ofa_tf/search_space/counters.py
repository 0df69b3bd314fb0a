"""Analytic MACs and parameter counts of a `NetworkSpec` (no model is built).

Convention of the published OFA tables (reference `count_net_flops` / `count_parameters`):
MACs count the multiply-accumulates of every convolution and of the classifier; squeeze-excite
1x1 convs count at 1x1 spatial size; BatchNorm, activations, pooling and residual adds count
zero. Parameters count conv/linear weights and biases and the BatchNorm scale and shift
(PyTorch `parameters()`); `include_bn_statistics=True` adds the BatchNorm moving mean and
variance, which is what Keras' `model.count_params()` reports. One function per block kind.
"""

from __future__ import annotations

from ofa_tf.search_space.static_spec import BlockSpec, ConvSpec, NetworkSpec


def conv_macs(conv: ConvSpec) -> int:
  return conv.kernel_size ** 2 * conv.in_channels * conv.out_channels * conv.output_size ** 2


def conv_params(conv: ConvSpec, include_bn_statistics: bool = False) -> int:
  bn = (4 if include_bn_statistics else 2) if conv.batch_norm else 0
  return conv.kernel_size ** 2 * conv.in_channels * conv.out_channels + bn * conv.out_channels


def _mbconv_macs(block: BlockSpec) -> int:
  out_hw = block.output_size ** 2
  macs = 0
  if block.has_expand:
    macs += block.in_channels * block.mid_channels * block.input_size ** 2
  macs += block.kernel_size ** 2 * block.mid_channels * out_hw
  if block.use_se:
    macs += 2 * block.mid_channels * block.se_channels
  return macs + block.mid_channels * block.out_channels * out_hw


def _mbconv_params(block: BlockSpec, bn: int) -> int:
  params = 0
  if block.has_expand:
    params += block.in_channels * block.mid_channels + bn * block.mid_channels
  params += block.kernel_size ** 2 * block.mid_channels + bn * block.mid_channels
  if block.use_se:
    params += 2 * block.mid_channels * block.se_channels + block.se_channels + block.mid_channels
  return params + block.mid_channels * block.out_channels + bn * block.out_channels


def _fused_macs(block: BlockSpec) -> int:
  out_hw = block.output_size ** 2
  return (block.kernel_size ** 2 * block.in_channels * block.mid_channels * out_hw
          + block.mid_channels * block.out_channels * out_hw)


def _fused_params(block: BlockSpec, bn: int) -> int:
  return (block.kernel_size ** 2 * block.in_channels * block.mid_channels + bn * block.mid_channels
          + block.mid_channels * block.out_channels + bn * block.out_channels)


def _bottleneck_macs(block: BlockSpec) -> int:
  in_hw, out_hw = block.input_size ** 2, block.output_size ** 2
  macs = (block.in_channels * block.mid_channels * in_hw
          + block.kernel_size ** 2 * block.mid_channels ** 2 * out_hw
          + block.mid_channels * block.out_channels * out_hw)
  if block.has_downsample:
    macs += block.in_channels * block.out_channels * out_hw
  return macs


def _bottleneck_params(block: BlockSpec, bn: int) -> int:
  params = (block.in_channels * block.mid_channels + bn * block.mid_channels
            + block.kernel_size ** 2 * block.mid_channels ** 2 + bn * block.mid_channels
            + block.mid_channels * block.out_channels + bn * block.out_channels)
  if block.has_downsample:
    params += block.in_channels * block.out_channels + bn * block.out_channels
  return params


_MACS = {"mbconv": _mbconv_macs, "fused_mbconv": _fused_macs, "bottleneck": _bottleneck_macs}
_PARAMS = {"mbconv": _mbconv_params, "fused_mbconv": _fused_params,
           "bottleneck": _bottleneck_params}


def block_macs(block: BlockSpec) -> int:
  """Multiply-accumulates of one block of any kind."""
  return _MACS[block.kind](block)


def block_params(block: BlockSpec, include_bn_statistics: bool = False) -> int:
  """Parameters of one block; BN counts 2 (or 4 with statistics) per channel."""
  return _PARAMS[block.kind](block, 4 if include_bn_statistics else 2)


def block_depthwise_macs(block: BlockSpec) -> int:
  """The part of `block_macs` spent in depthwise convolutions (mbconv: k x k x mid x out
  pixels; other kinds have none)."""
  return block.kernel_size ** 2 * block.mid_channels * block.output_size ** 2 \
      if block.kind == "mbconv" else 0


def _head_convs(spec: NetworkSpec):
  return spec.stem + spec.head_before_pool + spec.head_after_pool


def count_macs(spec: NetworkSpec) -> int:
  """Multiply-accumulates of one forward pass of one image (MACs, not FLOPs)."""
  macs = sum(conv_macs(c) for c in _head_convs(spec))
  macs += sum(block_macs(b) for b in spec.blocks)
  return macs + spec.classifier_in_channels * spec.num_classes


def count_params(spec: NetworkSpec, include_bn_statistics: bool = False) -> int:
  """Number of parameters (see the module docstring for the BatchNorm convention)."""
  params = sum(conv_params(c, include_bn_statistics) for c in _head_convs(spec))
  params += sum(block_params(b, include_bn_statistics) for b in spec.blocks)
  return params + (spec.classifier_in_channels + 1) * spec.num_classes
