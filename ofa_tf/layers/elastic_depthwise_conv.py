"""Depthwise convolution with an elastic kernel size (Cai et al., ICLR 2020, Sec. 3.2, Fig. 3).

One weight of the largest size K is stored. A smaller kernel k is the centre k x k of the next
larger (already transformed) kernel, multiplied by a learned k^2 x k^2 transformation matrix
shared by all channels: for K = 7, w5 = M(7->5) . centre5(w7) and w3 = M(5->3) . centre3(w5),
each kernel flattened row-major over (kh, kw) per channel (reference `7to5_matrix`,
`5to3_matrix`, which map one to one onto `transform_7to5`, `transform_5to3` here). Matrices start
at identity. Padding is symmetric k // 2 (reference), not TF's 'same'.
"""

from __future__ import annotations

import tensorflow as tf
import tf_keras


class ElasticDepthwiseConv2D(tf_keras.layers.Layer):
  """Elastic-kernel depthwise conv, no bias.

  Args:
    kernel_sizes: the elastic kernel sizes, odd, e.g. (3, 5, 7).
    strides: 1 or 2.

  Call args:
    x: [B, H, W, C] float32 (masked: all channels; sliced: the first `active_channels`).
    kernel_index: int32 scalar tensor, index into the ascending `kernel_sizes`.
    active_channels: int32 scalar (sliced mode) or None.
    mode: "masked" (one K x K conv with the smaller kernel zero-padded into it: one graph for
      every kernel size) or "sliced" (a conv with the active size x size kernel, tensor-valued
      size: each size at its own cost, one graph).

  Output: [B, ceil(H / s), ceil(W / s), C].
  """

  def __init__(self, kernel_sizes=(3, 5, 7), strides: int = 1, **kwargs):
    super().__init__(**kwargs)
    self.kernel_sizes = tuple(sorted(int(k) for k in kernel_sizes))
    self.strides = int(strides)

  @property
  def max_kernel_size(self) -> int:
    return self.kernel_sizes[-1]

  def build(self, input_shape):
    channels = int(input_shape[-1])
    k = self.max_kernel_size
    self.kernel = self.add_weight(
        "depthwise_kernel", (k, k, channels, 1),
        initializer=tf_keras.initializers.VarianceScaling(2.0, "fan_out", "truncated_normal"))
    self.transforms = {}
    for big, small in zip(self.kernel_sizes[:0:-1], self.kernel_sizes[-2::-1]):
      self.transforms[(big, small)] = self.add_weight(
          f"transform_{big}to{small}", (small * small, small * small), initializer="identity")
    super().build(input_shape)

  def get_config(self):
    return {**super().get_config(), "kernel_sizes": self.kernel_sizes, "strides": self.strides}

  def kernels(self) -> dict[int, tf.Tensor]:
    """Every elastic kernel size's [size, size, C, 1] kernel, by size (one transform chain)."""
    kernel = self.kernel
    out = {self.max_kernel_size: kernel}
    for big, small in zip(self.kernel_sizes[:0:-1], self.kernel_sizes[-2::-1]):
      start = (big - small) // 2
      centre = kernel[start:start + small, start:start + small]          # [s, s, C, 1]
      channels = tf.shape(centre)[2]
      flat = tf.reshape(tf.transpose(centre[..., 0], [2, 0, 1]), [channels, small * small])
      flat = tf.matmul(flat, self.transforms[(big, small)], transpose_b=True)
      kernel = tf.transpose(tf.reshape(flat, [channels, small, small]), [1, 2, 0])[..., None]
      out[small] = kernel
    return out

  def kernel_for(self, size: int) -> tf.Tensor:
    """The [size, size, C, 1] kernel of elastic kernel size `size` (transform chain)."""
    if size not in self.kernel_sizes:
      raise ValueError(f"kernel size {size} is not one of {self.kernel_sizes}")
    return self.kernels()[size]

  def padded_kernels(self) -> tf.Tensor:
    """All kernel sizes zero-padded to K x K: [len(kernel_sizes), K, K, C, 1]."""
    k_max = self.max_kernel_size
    kernels = self.kernels()
    out = []
    for k in self.kernel_sizes:
      p = (k_max - k) // 2
      out.append(tf.pad(kernels[k], [[p, p], [p, p], [0, 0], [0, 0]]))
    return tf.stack(out)

  def _conv(self, x, kernel, size):
    """Depthwise conv with symmetric size // 2 padding (`size` may be a tensor); for stride 1
    that is TF's 'SAME' (odd sizes), which needs no separate pad op."""
    strides = [1, self.strides, self.strides, 1]
    if self.strides == 1:
      return tf.nn.depthwise_conv2d(x, kernel, strides, "SAME")
    p = size // 2
    x = tf.pad(x, [[0, 0], [p, p], [p, p], [0, 0]])
    return tf.nn.depthwise_conv2d(x, kernel, strides, "VALID")

  def call(self, x, kernel_index, active_channels=None, mode="masked"):
    kernel = tf.gather(self.padded_kernels(), kernel_index)              # [K, K, C, 1]
    if mode == "masked":
      return self._conv(x, kernel, self.max_kernel_size)
    # Sliced: the centre size x size of the padded kernel (and the first active channels),
    # plain ops with tensor-valued sizes: the conv costs size^2, and no tf.switch_case, whose
    # branch outputs and gradient bookkeeping made every block's step slower.
    size = tf.gather(tf.constant(self.kernel_sizes, tf.int32), kernel_index)
    start = (self.max_kernel_size - size) // 2
    channels = -1 if active_channels is None else active_channels
    kernel = tf.slice(kernel, tf.stack([start, start, 0, 0]), tf.stack([size, size, channels, 1]))
    return self._conv(x, kernel, size)
