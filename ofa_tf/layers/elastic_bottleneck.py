"""Elastic ResNet bottleneck block: elastic middle channels (expand ratio) and elastic input /
output widths (width multiplier), over the largest weights.

Reference `DynamicResNetBottleneckBlock` semantics (Cai et al., ICLR 2020; facts in
../shared/reference/README.md, "ofa_resnet50_seed0.*"): 1x1 conv -> BN -> ReLU -> kxk conv with
the block's stride -> BN -> ReLU -> 1x1 conv -> BN; shortcut identity, or (first block of a
stage) avg pool (kernel = stride, ceil mode) -> 1x1 conv -> BN; add, ReLU. Every conv uses the
FIRST active output channels of its weight; its inputs follow the previous conv's. Masked mode
zeroes inactive channels (static shapes); sliced mode slices weights and activations to the
active sizes (tensor-valued, one traced graph for every subnet).
"""

from __future__ import annotations

import tensorflow as tf
import tf_keras

from ofa_tf.layers.elastic_batch_norm import ElasticBatchNormalization
from ofa_tf.layers.elastic_mbconv import conv_initializer


def elastic_conv(x: tf.Tensor, kernel: tf.Variable, out_channels, stride: int, sliced: bool
                 ) -> tf.Tensor:
  """A bias-free conv with symmetric k // 2 padding (PyTorch) over elastic channels.

  Args:
    x: [B, H, W, C] float32 (masked: C = the kernel's input channels, inactive ones zero;
      sliced: C = the active input channels).
    kernel: [k, k, max_in, max_out].
    out_channels: int32 scalar, active output channels (used in sliced mode only).
    stride: spatial stride.
    sliced: slice the kernel to [k, k, C, out_channels].

  Returns:
    [B, ceil(H / stride), ceil(W / stride), out] (masked: out = max_out, not masked here).
  """
  k = int(kernel.shape[0])
  if sliced:
    kernel = kernel[:, :, :tf.shape(x)[-1], :out_channels]
  if k > 1:
    x = tf.pad(x, [[0, 0], [k // 2, k // 2], [k // 2, k // 2], [0, 0]])
  return tf.nn.conv2d(x, kernel, stride, "VALID")


def shortcut_pool(x: tf.Tensor, stride: int) -> tf.Tensor:
  """Average pool with kernel = stride, ceil mode, no padding (reference ResNet-D shortcut):
  TF 'SAME' pads only at the end and excludes the padding from the mean, as ceil mode does."""
  if stride == 1:
    return x
  return tf.nn.avg_pool2d(x, stride, stride, "SAME")


class ElasticBottleneck(tf_keras.layers.Layer):
  """One elastic bottleneck block holding its largest weights.

  Args:
    in_channels, out_channels: largest block input / output channels.
    max_mid_channels: largest middle channels (largest expand ratio at the largest width).
    stride: stride of the middle conv (and of the shortcut's pool).
    has_downsample: shortcut through avg pool + 1x1 conv + BN (else the identity; then
      in_channels must equal out_channels).
    kernel_size: the middle conv's kernel.
    bn_epsilon, bn_momentum, synchronized_bn: see `ElasticBatchNormalization`.

  Call args:
    x: [B, H, W, C] float32 (masked: C = in_channels; sliced: the active input channels).
    mid_channels, out_channels: int32 scalars, active middle / output channels.
    training: Python bool.
    mode: "masked" or "sliced".
    update_bn: bool scalar or None; False keeps this block's BN moving statistics.
    bn_momentum: float32 scalar or None (BN recalibration).

  Output: [B, ceil(H / stride), ceil(W / stride), out] (masked: out = out_channels, the
  inactive ones zero).

  Raises:
    ValueError: an identity shortcut with in_channels != out_channels.
  """

  def __init__(self, in_channels: int, out_channels: int, max_mid_channels: int,
               stride: int = 1, has_downsample: bool = False, kernel_size: int = 3,
               bn_epsilon: float = 1e-5, bn_momentum: float = 0.9,
               synchronized_bn: bool = False, **kwargs):
    super().__init__(**kwargs)
    if not has_downsample and (in_channels != out_channels or stride != 1):
      raise ValueError(f"ElasticBottleneck({self.name}): an identity shortcut needs stride 1 "
                       f"and in_channels == out_channels, got {stride}, {in_channels} -> "
                       f"{out_channels}")
    self.in_channels = in_channels
    self.out_channels = out_channels
    self.max_mid_channels = max_mid_channels
    self.stride = stride
    self.has_downsample = has_downsample
    self.kernel_size = kernel_size
    self.bn_epsilon = bn_epsilon
    self.bn_momentum = bn_momentum
    self.synchronized_bn = synchronized_bn
    bn = dict(epsilon=bn_epsilon, momentum=bn_momentum, synchronized=synchronized_bn)
    self.bn1 = ElasticBatchNormalization(name="bn1", **bn)
    self.bn2 = ElasticBatchNormalization(name="bn2", **bn)
    self.bn3 = ElasticBatchNormalization(name="bn3", **bn)
    if has_downsample:
      self.downsample_bn = ElasticBatchNormalization(name="downsample_bn", **bn)

  def build(self, input_shape=None):
    mid, k = self.max_mid_channels, self.kernel_size
    self.conv1_kernel = self.add_weight("conv1/kernel", (1, 1, self.in_channels, mid),
                                        initializer=conv_initializer())
    self.conv2_kernel = self.add_weight("conv2/kernel", (k, k, mid, mid),
                                        initializer=conv_initializer())
    self.conv3_kernel = self.add_weight("conv3/kernel", (1, 1, mid, self.out_channels),
                                        initializer=conv_initializer())
    for bn, channels in ((self.bn1, mid), (self.bn2, mid), (self.bn3, self.out_channels)):
      bn.build((None, None, None, channels))
    if self.has_downsample:
      self.downsample_kernel = self.add_weight(
          "downsample_conv/kernel", (1, 1, self.in_channels, self.out_channels),
          initializer=conv_initializer())
      self.downsample_bn.build((None, None, None, self.out_channels))
    super().build(input_shape)

  def get_config(self):
    return {**super().get_config(), "in_channels": self.in_channels,
            "out_channels": self.out_channels, "max_mid_channels": self.max_mid_channels,
            "stride": self.stride, "has_downsample": self.has_downsample,
            "kernel_size": self.kernel_size, "bn_epsilon": self.bn_epsilon,
            "bn_momentum": self.bn_momentum, "synchronized_bn": self.synchronized_bn}

  def call(self, x, mid_channels, out_channels, training=False, mode="masked", update_bn=None,
           bn_momentum=None):
    sliced = mode == "sliced"
    bn_args = dict(training=training, mode=mode, update=update_bn, momentum=bn_momentum)
    y = elastic_conv(x, self.conv1_kernel, mid_channels, 1, sliced)
    y = tf.nn.relu(self.bn1(y, active_channels=mid_channels, **bn_args))
    y = elastic_conv(y, self.conv2_kernel, mid_channels, self.stride, sliced)
    y = tf.nn.relu(self.bn2(y, active_channels=mid_channels, **bn_args))
    y = elastic_conv(y, self.conv3_kernel, out_channels, 1, sliced)
    y = self.bn3(y, active_channels=out_channels, **bn_args)
    if self.has_downsample:
      shortcut = elastic_conv(shortcut_pool(x, self.stride), self.downsample_kernel,
                              out_channels, 1, sliced)
      shortcut = self.downsample_bn(shortcut, active_channels=out_channels, **bn_args)
    else:
      shortcut = x
    return tf.nn.relu(y + shortcut)
