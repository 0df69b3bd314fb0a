"""Static ProxylessNAS-family subnets (the released OFA `cpu_*`, `gpu*`, `tx2_*` nets).

The ProxylessNAS layout differs from MobileNetV3 (reference `ProxylessNASNets`):
- stem 3x3/2 conv + BN + ReLU6, then block 0, an expand-1 3x3 MBConv whose output width
  differs from the stem's (40 -> 24 at width 1.3), without a shortcut;
- every activation is ReLU6 and no block has squeeze-excite;
- the head is one 1x1 conv + BN + ReLU6 (`feature_mix`) *before* global average pooling,
  then dropout and the classifier (no `final_expand` layer, no conv after the pool);
- BatchNorm epsilon 1e-3.

`ProxylessNetworkSpec` describes such a net with the search space's `BlockSpec` (activation
"relu6", `se_channels` 0); `count_macs` / `count_params` follow the published convention of
`ofa_tf.search_space.counters`; `build_static_model` uses stock tf_keras layers with stable
names: `stem_conv`, `stem_bn`, `block{i}_expand_conv`, `block{i}_expand_bn`,
`block{i}_depthwise`, `block{i}_depthwise_bn`, `block{i}_project_conv`, `block{i}_project_bn`,
`feature_mix_conv`, `feature_mix_bn`, `classifier`.
"""

from __future__ import annotations

import dataclasses

import tensorflow as tf
import tf_keras

from ofa_tf.search_space import BlockSpec, block_macs, block_params, conv_output_size

layers = tf_keras.layers


@dataclasses.dataclass(frozen=True)
class ProxylessNetworkSpec:
  """A static ProxylessNAS-family network.

  Attributes:
    resolution: input resolution r; the input is [B, r, r, 3] NHWC.
    stem_channels: output channels of the 3x3/2 stem conv (BN, ReLU6).
    blocks: block 0 and the MBConv blocks (`activation == "relu6"`, no SE).
    feature_mix_channels: the head's 1x1 conv (BN, ReLU6) before pooling.
    num_classes: classifier outputs.
    dropout_rate: dropout before the classifier.
    bn_epsilon, bn_momentum: BatchNorm hyper-parameters (Keras momentum convention).
  """
  resolution: int
  stem_channels: int
  blocks: tuple[BlockSpec, ...]
  feature_mix_channels: int
  num_classes: int
  dropout_rate: float = 0.0
  bn_epsilon: float = 1e-3
  bn_momentum: float = 0.9

  def __post_init__(self):
    object.__setattr__(self, "blocks", tuple(self.blocks))
    if not self.blocks:
      raise ValueError("ProxylessNetworkSpec.blocks must not be empty")
    for block in self.blocks:
      if block.activation != "relu6" or block.use_se:
        raise ValueError(f"ProxylessNetworkSpec.blocks[{block.index}] must use activation "
                         f"'relu6' without SE, got {block.activation!r}, se={block.se_channels}")

  @property
  def stem_output_size(self) -> int:
    return conv_output_size(self.resolution, 2)

  @property
  def final_size(self) -> int:
    return self.blocks[-1].output_size

  @property
  def last_block_channels(self) -> int:
    return self.blocks[-1].out_channels


def count_macs(spec: ProxylessNetworkSpec) -> int:
  """Multiply-accumulates of one forward pass of one image (convs and classifier)."""
  macs = 27 * spec.stem_channels * spec.stem_output_size ** 2
  macs += sum(block_macs(b) for b in spec.blocks)
  macs += spec.last_block_channels * spec.feature_mix_channels * spec.final_size ** 2
  return macs + spec.feature_mix_channels * spec.num_classes


def count_params(spec: ProxylessNetworkSpec, include_bn_statistics: bool = False) -> int:
  """Parameters; BatchNorm counts 2 per channel (4 with its moving statistics)."""
  bn = 4 if include_bn_statistics else 2
  params = 27 * spec.stem_channels + bn * spec.stem_channels
  params += sum(block_params(b, include_bn_statistics) for b in spec.blocks)
  params += (spec.last_block_channels + bn) * spec.feature_mix_channels
  return params + (spec.feature_mix_channels + 1) * spec.num_classes


def _conv_bn_relu6(x, filters: int, name: str, spec: ProxylessNetworkSpec, *,
                   kernel_size: int = 1, stride: int = 1, depthwise: bool = False,
                   act: bool = True):
  """[pad] conv (no bias) + BN [+ ReLU6]; `x_conv` names BN `x_bn` and ReLU6 `x_act`."""
  base = name.removesuffix("_conv")
  padding = "same"
  if stride != 1:
    x = layers.ZeroPadding2D(kernel_size // 2, name=f"{name}_pad")(x)
    padding = "valid"
  if depthwise:
    x = layers.DepthwiseConv2D(kernel_size, strides=stride, padding=padding, use_bias=False,
                               name=name)(x)
  else:
    x = layers.Conv2D(filters, kernel_size, strides=stride, padding=padding, use_bias=False,
                      name=name)(x)
  x = layers.BatchNormalization(epsilon=spec.bn_epsilon, momentum=spec.bn_momentum,
                                name=f"{base}_bn")(x)
  return layers.ReLU(6.0, name=f"{base}_act")(x) if act else x


def apply_block(x: tf.Tensor, block: BlockSpec, spec: ProxylessNetworkSpec) -> tf.Tensor:
  """[expand 1x1 + BN + ReLU6] -> depthwise kxk + BN + ReLU6 -> project 1x1 + BN [+ input].

  Input [B, H, H, in_channels]; output [B, ceil(H / stride), ., out_channels].
  """
  p = f"block{block.index}_"
  y = x
  if block.has_expand:
    y = _conv_bn_relu6(y, block.mid_channels, p + "expand_conv", spec)
  y = _conv_bn_relu6(y, block.mid_channels, p + "depthwise", spec,
                     kernel_size=block.kernel_size, stride=block.stride, depthwise=True)
  y = _conv_bn_relu6(y, block.out_channels, p + "project_conv", spec, act=False)
  return layers.Add(name=p + "add")([x, y]) if block.residual else y


def build_static_model(spec: ProxylessNetworkSpec, *, batch_size: int | None = None,
                       name: str = "ofa_proxyless_subnet") -> tf_keras.Model:
  """Builds `spec` as a Functional model with freshly initialized weights.

  Returns:
    A tf_keras.Model mapping float32 [B, r, r, 3] NHWC images to [B, num_classes] logits.
  """
  inputs = layers.Input((spec.resolution, spec.resolution, 3), batch_size=batch_size,
                        name="image")
  x = _conv_bn_relu6(inputs, spec.stem_channels, "stem_conv", spec, kernel_size=3, stride=2)
  for block in spec.blocks:
    x = apply_block(x, block, spec)
  x = _conv_bn_relu6(x, spec.feature_mix_channels, "feature_mix_conv", spec)
  x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
  if spec.dropout_rate:
    x = layers.Dropout(spec.dropout_rate, name="dropout")(x)
  outputs = layers.Dense(spec.num_classes, name="classifier")(x)
  return tf_keras.Model(inputs, outputs, name=name)
