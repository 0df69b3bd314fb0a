"""Elastic MBConv (inverted residual) block: elastic kernel size and expand ratio.

Reference `DynamicMBConvLayer` semantics (Cai et al., ICLR 2020, Sec. 3.2): the first
`mid = make_divisible(round(in * e), 8)` middle channels are active; the SE hidden width is
`make_divisible(mid // 4, 8)` with the first ones active; the depthwise kernel comes from the
elastic-kernel transform. Masked mode zeroes inactive channels (static shapes); sliced mode
slices weights and activations to the active sizes (tensor-valued sizes, one traced graph).
"""

from __future__ import annotations

import tensorflow as tf
import tf_keras

from ofa_tf.layers.elastic_batch_norm import ElasticBatchNormalization
from ofa_tf.layers.elastic_depthwise_conv import ElasticDepthwiseConv2D

def conv_initializer() -> tf_keras.initializers.Initializer:
  """He-normal over fan-out (reference init); a new instance per weight, since one unseeded
  Keras initializer called twice returns identical values."""
  return tf_keras.initializers.VarianceScaling(2.0, "fan_out", "truncated_normal")


def hard_sigmoid(x: tf.Tensor) -> tf.Tensor:
  """relu6(x + 3) / 6 (reference `Hsigmoid`)."""
  return tf.nn.relu6(x + 3.0) * (1.0 / 6.0)


def apply_activation(x: tf.Tensor, kind: str | None) -> tf.Tensor:
  """"relu", "relu6", "hswish" (x * relu6(x + 3) / 6, reference `Hswish`) or None (identity)."""
  if kind is None:
    return x
  if kind == "relu":
    return tf.nn.relu(x)
  if kind == "relu6":
    return tf.nn.relu6(x)
  if kind == "hswish":
    return x * hard_sigmoid(x)
  raise ValueError(f"unknown activation {kind!r}; expected 'relu', 'relu6' or 'hswish'")


def pointwise(x: tf.Tensor, kernel: tf.Tensor) -> tf.Tensor:
  """1x1 conv of [B, H, W, I] with a [1, 1, I, O] kernel."""
  return tf.nn.conv2d(x, kernel, 1, "VALID")


class ElasticMBConv(tf_keras.layers.Layer):
  """One elastic inverted-residual block holding its largest weights.

  Args:
    in_channels, out_channels: fixed block input / output channels.
    max_mid_channels: middle channels at the largest expand ratio (in_channels if
      `has_expand` is False).
    kernel_sizes: elastic depthwise kernel sizes.
    stride: depthwise stride.
    activation: "relu", "relu6" or "hswish".
    max_se_channels: SE hidden channels at the largest width; 0 = no SE.
    has_expand: whether there is a 1x1 expand conv (expand ratio != 1).
    bn_epsilon, bn_momentum, synchronized_bn: see `ElasticBatchNormalization`.

  Call args:
    x: [B, H, W, in_channels] float32.
    kernel_index: int32 scalar, index into ascending `kernel_sizes`.
    mid_channels, se_channels: int32 scalars (active middle / SE hidden channels).
    training: Python bool.
    mode: "masked" or "sliced".
    update_bn: bool scalar or None; False keeps this block's BN moving statistics.
    bn_momentum: float32 scalar or None (BN recalibration).

  Output: [B, ceil(H / stride), ceil(W / stride), out_channels]. The residual connection is
  added when stride == 1 and in_channels == out_channels.
  """

  def __init__(self, in_channels: int, out_channels: int, max_mid_channels: int,
               kernel_sizes=(3, 5, 7), stride: int = 1, activation: str = "relu",
               max_se_channels: int = 0, has_expand: bool = True, bn_epsilon: float = 1e-5,
               bn_momentum: float = 0.9, synchronized_bn: bool = False, **kwargs):
    super().__init__(**kwargs)
    self.in_channels = in_channels
    self.out_channels = out_channels
    self.max_mid_channels = max_mid_channels
    self.kernel_sizes = tuple(kernel_sizes)
    self.stride = stride
    self.activation = activation
    self.max_se_channels = max_se_channels
    self.has_expand = has_expand
    self.bn_epsilon = bn_epsilon
    self.bn_momentum = bn_momentum
    self.synchronized_bn = synchronized_bn
    self.residual = stride == 1 and in_channels == out_channels
    bn = dict(epsilon=bn_epsilon, momentum=bn_momentum, synchronized=synchronized_bn)
    if has_expand:
      self.expand_bn = ElasticBatchNormalization(name="expand_bn", **bn)
    self.depthwise = ElasticDepthwiseConv2D(kernel_sizes, stride, name="depthwise")
    self.depthwise_bn = ElasticBatchNormalization(name="depthwise_bn", **bn)
    self.project_bn = ElasticBatchNormalization(name="project_bn", **bn)

  def build(self, input_shape=None):
    mid, se = self.max_mid_channels, self.max_se_channels
    if self.has_expand:
      self.expand_kernel = self.add_weight("expand_conv/kernel", (1, 1, self.in_channels, mid),
                                           initializer=conv_initializer())
      self.expand_bn.build((None, None, None, mid))
    self.depthwise.build((None, None, None, mid))
    self.depthwise_bn.build((None, None, None, mid))
    if se:
      self.se_reduce_kernel = self.add_weight("se_reduce/kernel", (1, 1, mid, se),
                                              initializer=conv_initializer())
      self.se_reduce_bias = self.add_weight("se_reduce/bias", (se,), initializer="zeros")
      self.se_expand_kernel = self.add_weight("se_expand/kernel", (1, 1, se, mid),
                                              initializer=conv_initializer())
      self.se_expand_bias = self.add_weight("se_expand/bias", (mid,), initializer="zeros")
    self.project_kernel = self.add_weight("project_conv/kernel", (1, 1, mid, self.out_channels),
                                          initializer=conv_initializer())
    self.project_bn.build((None, None, None, self.out_channels))
    super().build(input_shape)

  def get_config(self):
    return {**super().get_config(), "in_channels": self.in_channels,
            "out_channels": self.out_channels, "max_mid_channels": self.max_mid_channels,
            "kernel_sizes": self.kernel_sizes, "stride": self.stride,
            "activation": self.activation, "max_se_channels": self.max_se_channels,
            "has_expand": self.has_expand, "bn_epsilon": self.bn_epsilon,
            "bn_momentum": self.bn_momentum, "synchronized_bn": self.synchronized_bn}

  def call(self, x, kernel_index, mid_channels, se_channels, training=False, mode="masked",
           update_bn=None, bn_momentum=None):
    sliced = mode == "sliced"
    bn_args = dict(training=training, mode=mode, update=update_bn, momentum=bn_momentum)
    inputs = x
    mid = mid_channels if self.has_expand else None
    if self.has_expand:
      kernel = self.expand_kernel[..., :mid] if sliced else self.expand_kernel
      x = pointwise(x, kernel)
      x = apply_activation(self.expand_bn(x, active_channels=mid, **bn_args), self.activation)
    x = self.depthwise(x, kernel_index, active_channels=mid, mode=mode)
    x = apply_activation(self.depthwise_bn(x, active_channels=mid, **bn_args), self.activation)
    if self.max_se_channels:
      x = x * self._se_gate(x, mid, se_channels, sliced)
    kernel = self.project_kernel[:, :, :mid] if sliced and mid is not None else self.project_kernel
    x = self.project_bn(pointwise(x, kernel), **bn_args)
    return x + inputs if self.residual else x

  def _se_gate(self, x, mid, se, sliced):
    """Squeeze-excite gate [B, 1, 1, mid] (SE convs have biases; hidden ReLU; h-sigmoid)."""
    pooled = tf.reduce_mean(x, [1, 2], keepdims=True)
    if sliced:
      hidden = pointwise(pooled, self.se_reduce_kernel[:, :, :mid, :se]) + self.se_reduce_bias[:se]
      hidden = tf.nn.relu(hidden)
      gate = pointwise(hidden, self.se_expand_kernel[:, :, :se, :mid]) + self.se_expand_bias[:mid]
    else:
      hidden = tf.nn.relu(pointwise(pooled, self.se_reduce_kernel) + self.se_reduce_bias)
      hidden = hidden * tf.cast(tf.range(self.max_se_channels) < se, hidden.dtype)
      gate = pointwise(hidden, self.se_expand_kernel) + self.se_expand_bias
    return hard_sigmoid(gate)
