"""BatchNorm over an elastic number of channels (Cai et al., ICLR 2020, Sec. 3.2).

Holds statistics for the largest width and normalizes / updates only the first `n` (active)
channels. Two execution modes over the same variables:
  * masked: the input has all channels, inactive ones zero; the output's inactive channels are
    set to exactly zero and their moving statistics are left unchanged.
  * sliced: the input has only the `n` active channels (a tensor-valued size); the statistics
    are sliced to match.
"""

from __future__ import annotations

import tensorflow as tf
import tf_keras


class ElasticBatchNormalization(tf_keras.layers.Layer):
  """BatchNorm with elastic width, optional cross-replica (synchronized) statistics.

  Args:
    epsilon: added to the variance (1e-5 in the reference MobileNetV3).
    momentum: moving-average momentum, Keras convention (0.9 == PyTorch momentum 0.1).
    synchronized: compute batch statistics over all replicas of a `tf.distribute` strategy
      (the global batch), so that N replicas give the same result as one device. The
      all-reduce is a `merge_call`: call the layer outside `tf.cond` / `tf.while_loop`
      (masked mode, unrolled subnet loop). Without it, training uses the fused kernel.

  Call args:
    x: [B, H, W, C] float32 (masked: C = max channels; sliced: C = active channels).
    training: Python bool; True normalizes with batch statistics and updates the moving ones.
    active_channels: int32 scalar tensor n, or None for all channels.
    mode: "masked" or "sliced".
    update: bool scalar tensor; False leaves the moving statistics unchanged (masked mode
      blocks skipped by elastic depth still run and must not update them).
    momentum: float32 scalar tensor overriding `momentum` (BN recalibration uses
      i / (i + 1) for batch i, which makes the moving statistics the mean over batches).

  Attributes:
    torch_batches_tracked: None (default), or an int: then a training call (eager only)
      updates the moving statistics as a PyTorch `BatchNorm2d(momentum=None)` does: the
      cumulative average with factor 1 / (torch_batches_tracked + 1) and the unbiased batch
      variance, and increments it. `ofa_tf.interop.oracle` uses it to replay a reference
      recording whose train-mode cases updated the statistics later eval cases read.

  Output: same shape as `x`.
  """

  def __init__(self, epsilon: float = 1e-5, momentum: float = 0.9, synchronized: bool = False,
               **kwargs):
    super().__init__(**kwargs)
    self.epsilon = epsilon
    self.momentum = momentum
    self.synchronized = synchronized
    self.torch_batches_tracked = None

  def build(self, input_shape):
    channels = int(input_shape[-1])
    self.channels = channels
    self.gamma = self.add_weight("gamma", (channels,), initializer="ones")
    self.beta = self.add_weight("beta", (channels,), initializer="zeros")
    stats = dict(trainable=False, synchronization=tf.VariableSynchronization.ON_READ,
                 aggregation=tf.VariableAggregation.MEAN)
    self.moving_mean = self.add_weight("moving_mean", (channels,), initializer="zeros", **stats)
    self.moving_variance = self.add_weight("moving_variance", (channels,), initializer="ones",
                                           **stats)
    super().build(input_shape)

  def get_config(self):
    return {**super().get_config(), "epsilon": self.epsilon, "momentum": self.momentum,
            "synchronized": self.synchronized}

  def _moments(self, x):
    if self.synchronized:
      ctx = tf.distribute.get_replica_context()
      if ctx is not None and ctx.num_replicas_in_sync > 1:
        # Two passes (mean, then squared deviations), as tf.nn.moments computes them on one
        # device, so N replicas match one device to float32 rounding. all_reduce is a
        # merge_call: it must not sit inside tf.cond / tf.while_loop (masked mode, unrolled).
        count = tf.cast(tf.reduce_prod(tf.shape(x)[:-1]), x.dtype)
        total, count = ctx.all_reduce(tf.distribute.ReduceOp.SUM,
                                      [tf.reduce_sum(x, [0, 1, 2]), count])
        mean = total / count
        squared = ctx.all_reduce(tf.distribute.ReduceOp.SUM,
                                 tf.reduce_sum(tf.square(x - mean), [0, 1, 2]))
        return mean, squared / count
    return tf.nn.moments(x, [0, 1, 2])

  def call(self, x, training=False, active_channels=None, mode="masked", update=None,
           momentum=None):
    sliced = mode == "sliced" and active_channels is not None
    n = self.channels if active_channels is None else active_channels
    if sliced:
      gamma, beta = self.gamma[:n], self.beta[:n]
      moving_mean, moving_var = self.moving_mean[:n], self.moving_variance[:n]
    else:
      gamma, beta = self.gamma, self.beta
      moving_mean, moving_var = self.moving_mean, self.moving_variance
    if training:
      if not self.synchronized:
        # One fused kernel forward and backward, as Keras' BatchNormalization: far cheaper
        # than moments + batch_normalization. It returns the Bessel-corrected variance; the
        # moving variance keeps the biased one, as the unfused path and BN recalibration.
        # Do not run one such node in parallel iterations of a tf.while_loop: TF 2.21's oneDNN
        # CPU kernel keeps per-call sizes in the kernel object, and concurrent iterations with
        # different channel counts corrupt the heap ("malloc_consolidate(): invalid chunk
        # size", abort); the subnet loop of the train step runs parallel_iterations=1.
        y, mean, var = tf.compat.v1.nn.fused_batch_norm(
            x, gamma, beta, epsilon=self.epsilon, is_training=True)
        count = tf.cast(tf.reduce_prod(tf.shape(x)[:-1]), var.dtype)
        var = var * (count - 1.0) / count
      else:
        # Synchronized BN keeps the unfused form on any number of replicas, so that one
        # device and N replicas compute the same arithmetic.
        mean, var = self._moments(x)
        y = tf.nn.batch_normalization(x, mean, var, beta, gamma, self.epsilon)
      m = self.momentum if momentum is None else momentum
      if self.torch_batches_tracked is not None and (update is None or bool(update)):
        self.torch_batches_tracked += 1
        m = 1.0 - 1.0 / self.torch_batches_tracked
        count = tf.cast(tf.reduce_prod(tf.shape(x)[:-1]), var.dtype)
        var = var * count / (count - 1.0)
      new_mean = moving_mean * m + mean * (1.0 - m)
      new_var = moving_var * m + var * (1.0 - m)
      if sliced:
        new_mean = tf.concat([new_mean, self.moving_mean[n:]], 0)
        new_var = tf.concat([new_var, self.moving_variance[n:]], 0)
      else:
        keep = tf.range(self.channels) < n
        if update is not None:
          keep = tf.logical_and(keep, update)
        new_mean = tf.where(keep, new_mean, self.moving_mean)
        new_var = tf.where(keep, new_var, self.moving_variance)
      self.moving_mean.assign(new_mean)
      self.moving_variance.assign(new_var)
    else:  # The fused kernel, as Keras' BatchNormalization uses: same rounding as extracted.
      y, _, _ = tf.compat.v1.nn.fused_batch_norm(
          x, gamma, beta, moving_mean, moving_var, epsilon=self.epsilon, is_training=False)
    if not sliced and active_channels is not None:
      y = y * tf.cast(tf.range(self.channels) < n, y.dtype)
    return y
