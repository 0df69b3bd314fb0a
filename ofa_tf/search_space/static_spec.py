"""Static description of one subnetwork, layer by layer: what it computes, not how.

A family's `space.network_spec(config)` turns an elastic choice into a `NetworkSpec`: stem
convolutions, blocks of a kind, head convolutions before and after global pooling, and a
classifier. The MACs/params counters, the generic stock-layer builder
(`ofa_tf.networks.static_network`), the latency lookup tables and the importer of the released
specialized nets all read this one description.

Block kinds (one builder and one counter each):
  * "mbconv": [1x1 expand + BN + act] -> depthwise kxk + BN + act -> [SE] -> 1x1 project + BN
    (MobileNetV2/V3, ProxylessNAS; reference `MBConvLayer`);
  * "fused_mbconv": kxk conv + BN + act -> 1x1 project + BN (MobileNet-EdgeTPU's fused
    inverted bottleneck);
  * "bottleneck": 1x1 + BN + act -> kxk/stride + BN + act -> 1x1 + BN, shortcut identity or
    avg-pool + 1x1 conv + BN, add, act (ResNet-D; reference `ResNetBottleneckBlock`).
"""

from __future__ import annotations

import dataclasses

BLOCK_KINDS = ("mbconv", "fused_mbconv", "bottleneck")
ACTIVATIONS = ("relu", "relu6", "hswish")


def conv_output_size(size: int, stride: int) -> int:
  """Spatial output size of a conv with symmetric `k // 2` padding: ceil(size / stride)."""
  return -(-size // stride)


def _check_activation(owner: str, activation):
  if activation is not None and activation not in ACTIVATIONS:
    raise ValueError(f"{owner}.activation must be one of {ACTIVATIONS} or None, "
                     f"got {activation!r}")


@dataclasses.dataclass(frozen=True)
class ConvSpec:
  """A plain convolution of the stem or the head (no bias unless `bias`).

  Attributes:
    name: layer-name prefix: layers `{name}_conv`, `{name}_bn`, `{name}_act`.
    in_channels, out_channels: channels.
    kernel_size, stride: square kernel and stride (symmetric k // 2 padding).
    input_size: spatial input size H (== W).
    batch_norm: followed by BatchNorm.
    activation: "relu", "relu6", "hswish" or None.
    residual: adds its input (stride 1, in == out; the ResNet stem's skippable middle conv).
    table_name: name in the latency lookup-table keys ("Conv", "Conv_1", ...).
  """
  name: str
  in_channels: int
  out_channels: int
  kernel_size: int
  stride: int
  input_size: int
  batch_norm: bool = True
  activation: str | None = None
  residual: bool = False
  table_name: str = ""

  def __post_init__(self):
    _check_activation(f"ConvSpec({self.name})", self.activation)

  @property
  def output_size(self) -> int:
    return conv_output_size(self.input_size, self.stride)


@dataclasses.dataclass(frozen=True)
class BlockSpec:
  """One block of a kind, as it runs.

  Attributes:
    index: position in the network's block list; layers are named `block{index}_...`.
    in_channels, out_channels: block input / output channels.
    mid_channels: channels between the first and the last conv (== in_channels for an
      mbconv without expand conv).
    kernel_size: depthwise (mbconv), fused (fused_mbconv) or middle (bottleneck) kernel.
    stride: stride of the block.
    activation: "relu", "relu6" or "hswish".
    se_channels: squeeze-excite hidden channels (mbconv only); 0 = no SE.
    input_size: spatial size H (== W) of the block input.
    has_expand: mbconv: whether it starts with a 1x1 expand conv (expand ratio != 1).
    residual: whether the block adds its input unchanged (stride 1 and in == out).
    kind: one of BLOCK_KINDS.
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
  kind: str = "mbconv"

  def __post_init__(self):
    if self.kind not in BLOCK_KINDS:
      raise ValueError(f"BlockSpec.kind must be one of {BLOCK_KINDS}, got {self.kind!r}")
    _check_activation(f"BlockSpec(block{self.index})", self.activation)

  @property
  def output_size(self) -> int:
    return conv_output_size(self.input_size, self.stride)

  @property
  def use_se(self) -> bool:
    return self.se_channels > 0

  @property
  def has_downsample(self) -> bool:
    """Bottleneck: shortcut through avg-pool + 1x1 conv + BN instead of identity."""
    return self.kind == "bottleneck" and not self.residual


@dataclasses.dataclass(frozen=True)
class NetworkSpec:
  """A whole static subnet.

  Attributes:
    resolution: input resolution r; the input is [B, r, r, 3] NHWC float32.
    stem: the stem convolutions, in order.
    blocks: the blocks that run, in order.
    head_before_pool: 1x1 convs between the last block and global average pooling.
    head_after_pool: 1x1 convs after pooling (on a 1x1 map).
    num_classes: classifier outputs (a Dense layer with bias).
    dropout_rate: dropout before the classifier.
    bn_epsilon, bn_momentum: BatchNorm hyper-parameters (Keras momentum convention).
    stem_pool: a 3x3/2 max pool (padding 1) after the stem (ResNet).
  """
  resolution: int
  stem: tuple[ConvSpec, ...]
  blocks: tuple[BlockSpec, ...]
  head_before_pool: tuple[ConvSpec, ...]
  head_after_pool: tuple[ConvSpec, ...]
  num_classes: int
  dropout_rate: float = 0.0
  bn_epsilon: float = 1e-5
  bn_momentum: float = 0.9
  stem_pool: bool = False

  def __post_init__(self):
    for field in ("stem", "blocks", "head_before_pool", "head_after_pool"):
      object.__setattr__(self, field, tuple(getattr(self, field)))
    if not self.stem:
      raise ValueError("NetworkSpec.stem must hold at least one conv")

  @property
  def stem_output_size(self) -> int:
    size = self.stem[-1].output_size
    return conv_output_size(size, 2) if self.stem_pool else size

  @property
  def final_size(self) -> int:
    """Spatial size of the last block's output (the head's input)."""
    return self.blocks[-1].output_size if self.blocks else self.stem_output_size

  @property
  def last_block_channels(self) -> int:
    return self.blocks[-1].out_channels if self.blocks else self.stem[-1].out_channels

  @property
  def pooled_channels(self) -> int:
    """Channels after global pooling (the head's before-pool convs applied)."""
    return (self.head_before_pool[-1].out_channels if self.head_before_pool
            else self.last_block_channels)

  @property
  def classifier_in_channels(self) -> int:
    return self.head_after_pool[-1].out_channels if self.head_after_pool else self.pooled_channels
