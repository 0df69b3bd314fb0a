"""Static (non-elastic) MobileNetV3 subnets as plain tf_keras Functional models.

Built only from stock layers (ZeroPadding2D, Conv2D, DepthwiseConv2D, BatchNormalization,
ReLU, Rescaling, Multiply, Add, GlobalAveragePooling2D, Flatten, Dropout, Dense), so the
models convert to TFLite and quantize with tensorflow-model-optimization without custom
objects. h-swish is `x * relu6(x + 3) / 6` and the SE gate is `relu6(x + 3) / 6` (reference
`Hswish` / `Hsigmoid`), not Keras' 0.2x + 0.5 `hard_sigmoid`.

Layer names are stable (weight import, extraction, QAT annotation and the latency tables rely
on them): `stem_conv`, `stem_bn`, `block{i}_expand_conv`, `block{i}_expand_bn`,
`block{i}_depthwise`, `block{i}_depthwise_bn`, `block{i}_se_reduce`, `block{i}_se_expand`,
`block{i}_project_conv`, `block{i}_project_bn`, `final_expand_conv`, `final_expand_bn`,
`feature_mix_conv`, `classifier`, where i is `BlockSpec.index` (0 = block 0, elastic block b
is b + 1).
"""

from __future__ import annotations

import tensorflow as tf
import tf_keras

from ofa_tf.search_space import BlockSpec, NetworkSpec

layers = tf_keras.layers


def hard_sigmoid(x: tf.Tensor, name: str) -> tf.Tensor:
  """relu6(x + 3) / 6 from stock layers (reference `Hsigmoid`)."""
  x = layers.Rescaling(1.0, offset=3.0, name=f"{name}_add3")(x)
  x = layers.ReLU(6.0, name=f"{name}_relu6")(x)
  return layers.Rescaling(1.0 / 6.0, name=f"{name}_div6")(x)


def hard_swish(x: tf.Tensor, name: str) -> tf.Tensor:
  """x * relu6(x + 3) / 6 from stock layers (reference `Hswish`)."""
  return layers.Multiply(name=f"{name}_mul")([x, hard_sigmoid(x, name)])


def activation(x: tf.Tensor, kind: str, name: str) -> tf.Tensor:
  """Applies "relu" or "hswish"."""
  if kind == "relu":
    return layers.ReLU(name=name)(x)
  if kind == "hswish":
    return hard_swish(x, name)
  raise ValueError(f"unknown activation {kind!r}; expected 'relu' or 'hswish'")


def _batch_norm(x, name: str, spec: NetworkSpec):
  return layers.BatchNormalization(epsilon=spec.bn_epsilon, momentum=spec.bn_momentum,
                                   name=name)(x)


def _pad_for(x, kernel_size: int, stride: int, name: str):
  """Symmetric k // 2 padding (reference); TF 'same' is asymmetric for stride 2."""
  if stride == 1:
    return x, "same"
  return layers.ZeroPadding2D(kernel_size // 2, name=name)(x), "valid"


def apply_stem(x: tf.Tensor, spec: NetworkSpec) -> tf.Tensor:
  """3x3/2 conv + BN + h-swish. [B, r, r, 3] -> [B, ceil(r/2), ceil(r/2), stem_channels]."""
  x, padding = _pad_for(x, 3, 2, "stem_pad")
  x = layers.Conv2D(spec.stem_channels, 3, strides=2, padding=padding, use_bias=False,
                    name="stem_conv")(x)
  x = _batch_norm(x, "stem_bn", spec)
  return activation(x, "hswish", "stem_act")


def apply_block(x: tf.Tensor, block: BlockSpec, spec: NetworkSpec) -> tf.Tensor:
  """One MBConv block: [expand 1x1 + BN + act] -> depthwise kxk + BN + act -> [SE] ->
  project 1x1 + BN -> [+ input].

  Input shape [B, H, H, in_channels]; output [B, ceil(H/stride), ., out_channels].
  """
  p = f"block{block.index}_"
  inputs = x
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
  x = _batch_norm(x, p + "project_bn", spec)
  if block.residual:
    x = layers.Add(name=p + "add")([inputs, x])
  return x


def apply_head(x: tf.Tensor, spec: NetworkSpec) -> tf.Tensor:
  """1x1 conv + BN + h-swish, global pool, 1x1 conv + h-swish, dropout, classifier.

  Input [B, H, H, last_block_channels]; output logits [B, num_classes] float32.
  """
  x = layers.Conv2D(spec.final_expand_channels, 1, use_bias=False, name="final_expand_conv")(x)
  x = _batch_norm(x, "final_expand_bn", spec)
  x = activation(x, "hswish", "final_expand_act")
  x = layers.GlobalAveragePooling2D(keepdims=True, name="avg_pool")(x)
  x = layers.Conv2D(spec.feature_mix_channels, 1, use_bias=False, name="feature_mix_conv")(x)
  x = activation(x, "hswish", "feature_mix_act")
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
