"""Static (non-elastic) subnets of every family as plain tf_keras Functional models.

One builder for every `NetworkSpec` (`ofa_tf.search_space.static_spec`), one function per
block kind, built only from stock layers (ZeroPadding2D, Conv2D, DepthwiseConv2D,
BatchNormalization, ReLU, Rescaling, Multiply, Add, MaxPooling2D, AveragePooling2D,
GlobalAveragePooling2D, Flatten, Dropout, Dense), so the models convert to TFLite and quantize
with tensorflow-model-optimization without custom objects. h-swish is `x * relu6(x + 3) / 6`
and the SE gate is `relu6(x + 3) / 6` (reference `Hswish` / `Hsigmoid`), not Keras' 0.2x + 0.5
`hard_sigmoid`.

Layer names are stable (weight import, extraction, QAT annotation and the latency tables rely
on them): `{conv}_conv`, `{conv}_bn`, `{conv}_act` for stem and head convs (`stem`,
`final_expand`, `feature_mix`, ...), `block{i}_expand_conv`, `block{i}_expand_bn`,
`block{i}_depthwise`, `block{i}_depthwise_bn`, `block{i}_se_reduce`, `block{i}_se_expand`,
`block{i}_project_conv`, `block{i}_project_bn` (mbconv), `block{i}_fused_conv`,
`block{i}_fused_bn` (fused_mbconv), `block{i}_conv1`, `block{i}_bn1`, `block{i}_conv2`,
`block{i}_bn2`, `block{i}_conv3`, `block{i}_bn3`, `block{i}_downsample_conv`,
`block{i}_downsample_bn` (bottleneck), and `classifier`, where i is `BlockSpec.index`.
"""

from __future__ import annotations

import tensorflow as tf
import tf_keras

from ofa_tf.search_space import BlockSpec, ConvSpec, NetworkSpec

layers = tf_keras.layers


def hard_sigmoid(x: tf.Tensor, name: str) -> tf.Tensor:
  """relu6(x + 3) / 6 from stock layers (reference `Hsigmoid`)."""
  x = layers.Rescaling(1.0, offset=3.0, name=f"{name}_add3")(x)
  x = layers.ReLU(6.0, name=f"{name}_relu6")(x)
  return layers.Rescaling(1.0 / 6.0, name=f"{name}_div6")(x)


def hard_swish(x: tf.Tensor, name: str) -> tf.Tensor:
  """x * relu6(x + 3) / 6 from stock layers (reference `Hswish`)."""
  return layers.Multiply(name=f"{name}_mul")([x, hard_sigmoid(x, name)])


def activation(x: tf.Tensor, kind: str | None, name: str) -> tf.Tensor:
  """Applies "relu", "relu6", "hswish", or nothing for None."""
  if kind is None:
    return x
  if kind == "relu":
    return layers.ReLU(name=name)(x)
  if kind == "relu6":
    return layers.ReLU(6.0, name=name)(x)
  if kind == "hswish":
    return hard_swish(x, name)
  raise ValueError(f"unknown activation {kind!r}; expected 'relu', 'relu6' or 'hswish'")


def _batch_norm(x, name: str, spec: NetworkSpec):
  return layers.BatchNormalization(epsilon=spec.bn_epsilon, momentum=spec.bn_momentum,
                                   name=name)(x)


def _pad_for(x, kernel_size: int, stride: int, name: str):
  """Symmetric k // 2 padding (reference); TF 'same' is asymmetric for stride 2."""
  if stride == 1:
    return x, "same"
  return layers.ZeroPadding2D(kernel_size // 2, name=name)(x), "valid"


def apply_conv(x: tf.Tensor, conv: ConvSpec, spec: NetworkSpec) -> tf.Tensor:
  """A stem or head conv: [pad] conv (no bias) [+ BN] [+ act] [+ input].

  Input [B, H, H, in_channels]; output [B, ceil(H / stride), ., out_channels].
  """
  inputs = x
  x, padding = _pad_for(x, conv.kernel_size, conv.stride, f"{conv.name}_pad")
  x = layers.Conv2D(conv.out_channels, conv.kernel_size, strides=conv.stride, padding=padding,
                    use_bias=False, name=f"{conv.name}_conv")(x)
  if conv.batch_norm:
    x = _batch_norm(x, f"{conv.name}_bn", spec)
  x = activation(x, conv.activation, f"{conv.name}_act")
  return layers.Add(name=f"{conv.name}_add")([inputs, x]) if conv.residual else x


def _mbconv(x: tf.Tensor, block: BlockSpec, spec: NetworkSpec) -> tf.Tensor:
  p = f"block{block.index}_"
  if block.has_expand:
    x = layers.Conv2D(block.mid_channels, 1, use_bias=False, name=p + "expand_conv")(x)
    x = _batch_norm(x, p + "expand_bn", spec)
    x = activation(x, block.activation, p + "expand_act")
  x, padding = _pad_for(x, block.kernel_size, block.stride, p + "depthwise_pad")
  x = layers.DepthwiseConv2D(block.kernel_size, strides=block.stride, padding=padding,
                             use_bias=False, name=p + "depthwise")(x)
  x = _batch_norm(x, p + "depthwise_bn", spec)
  x = activation(x, block.activation, p + "depthwise_act")
  if block.use_se:
    s = layers.GlobalAveragePooling2D(keepdims=True, name=p + "se_pool")(x)
    s = layers.Conv2D(block.se_channels, 1, name=p + "se_reduce")(s)
    s = layers.ReLU(name=p + "se_relu")(s)
    s = layers.Conv2D(block.mid_channels, 1, name=p + "se_expand")(s)
    s = hard_sigmoid(s, p + "se_gate")
    x = layers.Multiply(name=p + "se_mul")([x, s])
  x = layers.Conv2D(block.out_channels, 1, use_bias=False, name=p + "project_conv")(x)
  return _batch_norm(x, p + "project_bn", spec)


def _fused_mbconv(x: tf.Tensor, block: BlockSpec, spec: NetworkSpec) -> tf.Tensor:
  p = f"block{block.index}_"
  x, padding = _pad_for(x, block.kernel_size, block.stride, p + "fused_pad")
  x = layers.Conv2D(block.mid_channels, block.kernel_size, strides=block.stride,
                    padding=padding, use_bias=False, name=p + "fused_conv")(x)
  x = _batch_norm(x, p + "fused_bn", spec)
  x = activation(x, block.activation, p + "fused_act")
  x = layers.Conv2D(block.out_channels, 1, use_bias=False, name=p + "project_conv")(x)
  return _batch_norm(x, p + "project_bn", spec)


def _bottleneck(x: tf.Tensor, block: BlockSpec, spec: NetworkSpec) -> tf.Tensor:
  p = f"block{block.index}_"
  y = layers.Conv2D(block.mid_channels, 1, use_bias=False, name=p + "conv1")(x)
  y = activation(_batch_norm(y, p + "bn1", spec), block.activation, p + "act1")
  y, padding = _pad_for(y, block.kernel_size, block.stride, p + "conv2_pad")
  y = layers.Conv2D(block.mid_channels, block.kernel_size, strides=block.stride,
                    padding=padding, use_bias=False, name=p + "conv2")(y)
  y = activation(_batch_norm(y, p + "bn2", spec), block.activation, p + "act2")
  y = layers.Conv2D(block.out_channels, 1, use_bias=False, name=p + "conv3")(y)
  y = _batch_norm(y, p + "bn3", spec)
  if block.has_downsample:
    if block.stride > 1:
      # Reference: avg pool (kernel = stride, ceil_mode) -> 1x1 conv -> BN (ResNet-D).
      x = layers.AveragePooling2D(block.stride, block.stride, padding="same",
                                  name=p + "downsample_pool")(x)
    x = layers.Conv2D(block.out_channels, 1, use_bias=False, name=p + "downsample_conv")(x)
    x = _batch_norm(x, p + "downsample_bn", spec)
  y = layers.Add(name=p + "add")([x, y])
  return activation(y, block.activation, p + "out_act")


_BLOCK_BUILDERS = {"mbconv": _mbconv, "fused_mbconv": _fused_mbconv, "bottleneck": _bottleneck}


def apply_block(x: tf.Tensor, block: BlockSpec, spec: NetworkSpec) -> tf.Tensor:
  """One block of its kind (see `ofa_tf.search_space.static_spec`).

  Input shape [B, H, H, in_channels]; output [B, ceil(H/stride), ., out_channels].
  """
  y = _BLOCK_BUILDERS[block.kind](x, block, spec)
  if block.residual and block.kind != "bottleneck":
    y = layers.Add(name=f"block{block.index}_add")([x, y])
  return y


def apply_stem(x: tf.Tensor, spec: NetworkSpec) -> tf.Tensor:
  """The stem convs [and max pool]. [B, r, r, 3] -> [B, stem_output_size, ., channels]."""
  for conv in spec.stem:
    x = apply_conv(x, conv, spec)
  return apply_stem_pool(x) if spec.stem_pool else x


def apply_stem_pool(x: tf.Tensor) -> tf.Tensor:
  """3x3/2 max pool with padding 1 (ResNet stem): [B, H, H, C] -> [B, ceil(H / 2), ., C].
  Zero padding equals PyTorch's -inf padding here: the inputs are >= 0 (after ReLU)."""
  x = layers.ZeroPadding2D(1, name="stem_pool_pad")(x)
  return layers.MaxPooling2D(3, 2, name="stem_pool")(x)


def apply_head(x: tf.Tensor, spec: NetworkSpec) -> tf.Tensor:
  """Head convs, global average pool, head convs on 1x1, dropout, classifier.

  Input [B, H, H, last_block_channels]; output logits [B, num_classes] float32.
  """
  for conv in spec.head_before_pool:
    x = apply_conv(x, conv, spec)
  x = layers.GlobalAveragePooling2D(keepdims=True, name="avg_pool")(x)
  for conv in spec.head_after_pool:
    x = apply_conv(x, conv, spec)
  x = layers.Flatten(name="flatten")(x)
  if spec.dropout_rate:
    x = layers.Dropout(spec.dropout_rate, name="dropout")(x)
  return layers.Dense(spec.num_classes, name="classifier")(x)


def build_static_model(spec: NetworkSpec, *, batch_size: int | None = None,
                       name: str = "ofa_subnet") -> tf_keras.Model:
  """Builds subnet `spec` as a Functional model with freshly initialized weights.

  Args:
    spec: the layers to build (`space.network_spec(config)`).
    batch_size: fixed batch dimension (EdgeTPU wants 1), or None.
    name: model name.

  Returns:
    A tf_keras.Model mapping float32 [B, r, r, 3] NHWC images to [B, num_classes] logits.
  """
  inputs = layers.Input((spec.resolution, spec.resolution, 3), batch_size=batch_size,
                        name="image")
  x = apply_stem(inputs, spec)
  for block in spec.blocks:
    x = apply_block(x, block, spec)
  outputs = apply_head(x, spec)
  return tf_keras.Model(inputs, outputs, name=name)
