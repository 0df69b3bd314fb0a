"""Elastic fused-MBConv block (MobileNet-EdgeTPU's fused inverted bottleneck): elastic expand.

A regular k x k conv from the block input to `mid` channels + BN + act replaces the 1x1 expand
and depthwise pair of an MBConv block, then a 1x1 project + BN (Gupta & Akin, "Accelerator-
aware Neural Network Design using AutoML", arXiv:2003.02838, 2020; TF Model Garden
`mobilenet_edgetpu_v1_model_blocks.mb_conv_block` with `fused_conv=True`). The elastic width is OFA's (Cai et al., ICLR 2020, Sec. 3.2): the first
`mid = make_divisible(round(in * e), 8)` output channels of the fused conv are active. The
kernel size is fixed. Masked mode zeroes inactive channels (static shapes); sliced mode slices
weights and activations to the active width (a tensor-valued size, one traced graph).
"""

from __future__ import annotations

import tensorflow as tf
import tf_keras

from ofa_tf.layers.elastic_batch_norm import ElasticBatchNormalization
from ofa_tf.layers.elastic_mbconv import apply_activation, conv_initializer, pointwise


class ElasticFusedMBConv(tf_keras.layers.Layer):
  """One elastic fused inverted-residual block holding its largest weights.

  Args:
    in_channels, out_channels: fixed block input / output channels.
    max_mid_channels: fused-conv output channels at the largest expand ratio.
    kernel_size: the fused conv's (fixed, odd) kernel size.
    stride: the fused conv's stride (1 or 2); padding is symmetric k // 2.
    activation: "relu", "relu6" or "hswish".
    bn_epsilon, bn_momentum, synchronized_bn: see `ElasticBatchNormalization`.

  Call args (those of `ElasticMBConv`, so that a supernet calls every block alike):
    x: [B, H, W, in_channels] float32.
    kernel_index: ignored (the kernel size is fixed).
    mid_channels: int32 scalar, active fused-conv output channels.
    se_channels: ignored (no squeeze-excite).
    training: Python bool.
    mode: "masked" or "sliced".
    update_bn: bool scalar or None; False keeps this block's BN moving statistics.
    bn_momentum: float32 scalar or None (BN recalibration).

  Output: [B, ceil(H / stride), ceil(W / stride), out_channels]; the input is added when
  stride == 1 and in_channels == out_channels.
  """

  def __init__(self, in_channels: int, out_channels: int, max_mid_channels: int,
               kernel_size: int = 3, stride: int = 1, activation: str = "relu",
               bn_epsilon: float = 1e-5, bn_momentum: float = 0.9,
               synchronized_bn: bool = False, **kwargs):
    super().__init__(**kwargs)
    if kernel_size % 2 != 1:
      raise ValueError(f"kernel_size must be odd, got {kernel_size}")
    if stride not in (1, 2):
      raise ValueError(f"stride must be 1 or 2, got {stride}")
    self.in_channels = in_channels
    self.out_channels = out_channels
    self.max_mid_channels = max_mid_channels
    self.kernel_size = kernel_size
    self.stride = stride
    self.activation = activation
    self.bn_epsilon = bn_epsilon
    self.bn_momentum = bn_momentum
    self.synchronized_bn = synchronized_bn
    self.residual = stride == 1 and in_channels == out_channels
    self.max_se_channels = 0  # As `ElasticMBConv`'s: no squeeze-excite.
    bn = dict(epsilon=bn_epsilon, momentum=bn_momentum, synchronized=synchronized_bn)
    self.fused_bn = ElasticBatchNormalization(name="fused_bn", **bn)
    self.project_bn = ElasticBatchNormalization(name="project_bn", **bn)

  def build(self, input_shape=None):
    k, mid = self.kernel_size, self.max_mid_channels
    self.fused_kernel = self.add_weight("fused_conv/kernel", (k, k, self.in_channels, mid),
                                        initializer=conv_initializer())
    self.fused_bn.build((None, None, None, mid))
    self.project_kernel = self.add_weight("project_conv/kernel", (1, 1, mid, self.out_channels),
                                          initializer=conv_initializer())
    self.project_bn.build((None, None, None, self.out_channels))
    super().build(input_shape)

  _CONFIG_KEYS = ("in_channels", "out_channels", "max_mid_channels", "kernel_size", "stride",
                  "activation", "bn_epsilon", "bn_momentum", "synchronized_bn")

  def get_config(self):
    return {**super().get_config(), **{k: getattr(self, k) for k in self._CONFIG_KEYS}}

  def call(self, x, kernel_index=None, mid_channels=None, se_channels=None, training=False,
           mode="masked", update_bn=None, bn_momentum=None):
    del kernel_index, se_channels  # Fixed kernel, no SE.
    sliced = mode == "sliced"
    bn_args = dict(training=training, mode=mode, update=update_bn, momentum=bn_momentum)
    inputs = x
    kernel = self.fused_kernel[..., :mid_channels] if sliced else self.fused_kernel
    if self.stride == 1:
      x = tf.nn.conv2d(x, kernel, 1, "SAME")
    else:
      p = self.kernel_size // 2
      x = tf.nn.conv2d(tf.pad(x, [[0, 0], [p, p], [p, p], [0, 0]]), kernel, self.stride, "VALID")
    x = apply_activation(self.fused_bn(x, active_channels=mid_channels, **bn_args),
                         self.activation)
    kernel = self.project_kernel[:, :, :mid_channels] if sliced else self.project_kernel
    x = self.project_bn(pointwise(x, kernel), **bn_args)
    return x + inputs if self.residual else x
