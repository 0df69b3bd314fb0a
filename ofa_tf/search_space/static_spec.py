"""Static description of one subnetwork, layer by layer: what it computes, not how.

`network_spec(space, config)` turns an elastic choice into the concrete layers it runs.
The MACs/params counters, the static Keras builder, the latency lookup tables and the
importer of the released specialized nets all read this one description.
"""

from __future__ import annotations

import dataclasses

from ofa_tf.search_space.space import MobileNetV3Space
from ofa_tf.search_space.subnet import SubnetConfig, validate


def conv_output_size(size: int, stride: int) -> int:
  """Spatial output size of a conv with symmetric `k // 2` padding: ceil(size / stride)."""
  return -(-size // stride)


@dataclasses.dataclass(frozen=True)
class BlockSpec:
  """One MBConv (inverted residual) block, as it runs.

  Attributes:
    index: position in the network's block list (0 = block 0, then elastic block i at i + 1).
    in_channels, out_channels: block input / output channels.
    mid_channels: depthwise channels (== in_channels when there is no expand conv).
    kernel_size: depthwise kernel size.
    stride: depthwise stride.
    activation: "relu" or "hswish" (after the expand and the depthwise convs).
    se_channels: squeeze-excite hidden channels; 0 = no SE.
    input_size: spatial size H (== W) of the block input.
    has_expand: whether the block starts with a 1x1 expand conv (expand ratio != 1).
    residual: whether the block adds its input (stride 1 and in == out).
  """
  index: int
  in_channels: int
  out_channels: int
  mid_channels: int
  kernel_size: int
  stride: int
  activation: str
  se_channels: int
  input_size: int
  has_expand: bool
  residual: bool

  @property
  def output_size(self) -> int:
    return conv_output_size(self.input_size, self.stride)

  @property
  def use_se(self) -> bool:
    return self.se_channels > 0


@dataclasses.dataclass(frozen=True)
class NetworkSpec:
  """A whole static subnet: stem, blocks, head.

  Attributes:
    resolution: input resolution r; the input is [B, r, r, 3] NHWC.
    stem_channels: output channels of the 3x3/2 stem conv (BN, h-swish).
    blocks: block 0 followed by the active elastic blocks.
    final_expand_channels: the head's 1x1 conv (BN, h-swish) before pooling.
    feature_mix_channels: the 1x1 conv (no bias, no BN, h-swish) after pooling.
    num_classes: classifier outputs.
    dropout_rate: dropout before the classifier.
    bn_epsilon, bn_momentum: BatchNorm hyper-parameters (Keras momentum convention).
  """
  resolution: int
  stem_channels: int
  blocks: tuple[BlockSpec, ...]
  final_expand_channels: int
  feature_mix_channels: int
  num_classes: int
  dropout_rate: float = 0.0
  bn_epsilon: float = 1e-5
  bn_momentum: float = 0.9

  @property
  def stem_output_size(self) -> int:
    return conv_output_size(self.resolution, 2)

  @property
  def final_size(self) -> int:
    """Spatial size of the last block's output (the head's input)."""
    return self.blocks[-1].output_size

  @property
  def last_block_channels(self) -> int:
    return self.blocks[-1].out_channels


def network_spec(space: MobileNetV3Space, config: SubnetConfig) -> NetworkSpec:
  """The static layers of subnet `config` of `space`.

  Raises:
    ValueError: `config` is not valid for `space`.
  """
  validate(space, config)
  size = conv_output_size(config.r, 2)
  blocks = [BlockSpec(
      index=0, in_channels=space.stem_width, out_channels=space.first_block_width,
      mid_channels=space.stem_width, kernel_size=3, stride=1, activation="relu",
      se_channels=0, input_size=size, has_expand=False,
      residual=space.stem_width == space.first_block_width)]
  for b in config.active_blocks(space):
    stage = space.stages[space.stage_of_block(b)]
    in_channels = space.block_input_channels(b)
    stride = stage.stride if b % space.max_depth == 0 else 1
    mid = space.mid_channels(in_channels, config.e[b])
    blocks.append(BlockSpec(
        index=b + 1, in_channels=in_channels, out_channels=stage.width, mid_channels=mid,
        kernel_size=config.ks[b], stride=stride, activation=stage.activation,
        se_channels=space.se_channels(mid) if stage.use_se else 0, input_size=size,
        has_expand=True, residual=stride == 1 and in_channels == stage.width))
    size = blocks[-1].output_size
  return NetworkSpec(
      resolution=config.r, stem_channels=space.stem_width, blocks=tuple(blocks),
      final_expand_channels=space.final_expand_width,
      feature_mix_channels=space.feature_mix_width, num_classes=space.num_classes,
      dropout_rate=space.dropout_rate, bn_epsilon=space.bn_epsilon,
      bn_momentum=space.bn_momentum)
