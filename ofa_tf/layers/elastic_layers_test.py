"""Tests of the elastic layers against NumPy and across execution modes."""

import numpy as np
import tensorflow as tf

from ofa_tf.layers import (ElasticBatchNormalization, ElasticBottleneck,
                           ElasticDepthwiseConv2D, ElasticFusedMBConv)
from ofa_tf.layers.elastic_bottleneck import shortcut_pool


class ElasticBatchNormalizationTest(tf.test.TestCase):

  def test_masked_and_sliced_match_numpy(self):
    rng = np.random.default_rng(0)
    x = rng.normal(2.0, 3.0, (4, 5, 5, 16)).astype(np.float32)
    n = 8
    results = {}
    for mode in ("masked", "sliced"):
      bn = ElasticBatchNormalization(epsilon=1e-5, momentum=0.9)
      bn.build(x.shape)
      inputs = x.copy()
      if mode == "masked":
        inputs[..., n:] = 0.0
      else:
        inputs = inputs[..., :n]
      y = bn(tf.constant(inputs), training=True, active_channels=tf.constant(n), mode=mode)
      results[mode] = (y.numpy()[..., :n], bn.moving_mean.numpy(), bn.moving_variance.numpy())
      if mode == "masked":
        self.assertAllEqual(y.numpy()[..., n:], np.zeros_like(y.numpy()[..., n:]))
    mean, var = x[..., :n].mean((0, 1, 2)), x[..., :n].var((0, 1, 2))
    want = (x[..., :n] - mean) / np.sqrt(var + 1e-5)
    want_mean = np.concatenate([0.1 * mean, np.zeros(8)])
    want_var = np.concatenate([0.9 + 0.1 * var, np.ones(8)])
    for mode, (y, moving_mean, moving_var) in results.items():
      self.assertAllClose(y, want, atol=1e-4, msg=mode)
      self.assertAllClose(moving_mean, want_mean, atol=1e-5, msg=mode)
      self.assertAllClose(moving_var, want_var, atol=1e-4, msg=mode)

  def test_update_gate_and_momentum_override(self):
    bn = ElasticBatchNormalization()
    bn.build((None, None, None, 4))
    x = tf.random.stateless_normal((2, 3, 3, 4), seed=(1, 2)) + 5.0
    bn(x, training=True, update=tf.constant(False))
    self.assertAllEqual(bn.moving_mean, np.zeros(4))
    bn(x, training=True, momentum=tf.constant(0.0))
    self.assertAllClose(bn.moving_mean, tf.reduce_mean(x, [0, 1, 2]), atol=1e-5)


class ElasticDepthwiseConv2DTest(tf.test.TestCase):

  def test_modes_agree_for_every_kernel_size_and_stride(self):
    x = tf.random.stateless_normal((2, 9, 9, 12), seed=(3, 4))
    for stride in (1, 2):
      layer = ElasticDepthwiseConv2D((3, 5, 7), stride)
      layer.build(x.shape)
      for index, size in enumerate((3, 5, 7)):
        masked = layer(x, tf.constant(index), mode="masked")
        sliced = layer(x[..., :8], tf.constant(index), active_channels=tf.constant(8),
                       mode="sliced")
        p = size // 2
        want = tf.nn.depthwise_conv2d(x, layer.kernel_for(size), [1, stride, stride, 1],
                                      padding=[[0, 0], [p, p], [p, p], [0, 0]])
        self.assertAllClose(masked, want, atol=1e-5)
        self.assertAllClose(sliced, want[..., :8], atol=1e-5)
        self.assertEqual(masked.shape[1], -(-9 // stride))


class ElasticBottleneckTest(tf.test.TestCase):

  def test_shortcut_pool_is_ceil_mode_average(self):
    x = np.arange(2 * 5 * 5 * 3, dtype=np.float32).reshape(2, 5, 5, 3)
    want = np.zeros((2, 3, 3, 3), np.float32)
    for i in range(3):
      for j in range(3):  # ceil mode: the last window covers what is left and averages it.
        want[:, i, j] = x[:, 2 * i:2 * i + 2, 2 * j:2 * j + 2].mean(axis=(1, 2))
    self.assertAllClose(shortcut_pool(tf.constant(x), 2), want)

  def test_modes_agree_and_first_channels_are_active(self):
    layer = ElasticBottleneck(16, 24, 8, stride=2, has_downsample=True)
    layer.build()
    for v in (layer.bn1.beta, layer.bn3.beta, layer.downsample_bn.beta):
      v.assign(tf.random.stateless_normal(v.shape, seed=(5, 6)))
    x = tf.nn.relu(tf.random.stateless_normal((2, 7, 7, 16), seed=(1, 2)))
    x = x * tf.cast(tf.range(16) < 8, tf.float32)  # Active input width 8.
    mid, out = tf.constant(8), tf.constant(16)
    for training in (False, True):
      masked = layer(x, mid, out, training=training, mode="masked")
      sliced = layer(x[..., :8], mid, out, training=training, mode="sliced")
      self.assertEqual(masked.shape, (2, 4, 4, 24))
      self.assertAllClose(masked[..., :16], sliced, atol=1e-5)
      self.assertAllEqual(masked[..., 16:], tf.zeros((2, 4, 4, 8)))
    with self.assertRaisesRegex(ValueError, "identity shortcut"):
      ElasticBottleneck(16, 24, 8)


class ElasticFusedMBConvTest(tf.test.TestCase):

  def test_modes_match_the_written_out_block(self):
    rng = np.random.default_rng(5)
    x = tf.constant(rng.normal(size=(2, 9, 9, 8)), tf.float32)
    mid = 16
    for stride, out_channels in ((1, 8), (2, 12)):
      layer = ElasticFusedMBConv(8, out_channels, 32, kernel_size=3, stride=stride)
      layer.build()
      for bn in (layer.fused_bn, layer.project_bn):
        for v in (bn.gamma, bn.beta, bn.moving_mean):
          v.assign(rng.normal(size=v.shape))
        bn.moving_variance.assign(rng.uniform(0.5, 2.0, bn.moving_variance.shape))

      def bn_eval(y, bn, n):
        mean, var = bn.moving_mean[:n], bn.moving_variance[:n]
        return (y - mean) / tf.sqrt(var + 1e-5) * bn.gamma[:n] + bn.beta[:n]

      y = tf.nn.conv2d(x, layer.fused_kernel[..., :mid], stride,
                       [[0, 0], [1, 1], [1, 1], [0, 0]])
      y = tf.nn.relu(bn_eval(y, layer.fused_bn, mid))
      y = bn_eval(tf.nn.conv2d(y, layer.project_kernel[:, :, :mid], 1, "VALID"),
                  layer.project_bn, out_channels)
      want = y + x if layer.residual else y
      self.assertEqual(layer.residual, stride == 1)
      for mode in ("masked", "sliced"):
        got = layer(x, None, tf.constant(mid), None, mode=mode)
        self.assertAllClose(got, want, atol=1e-4, msg=f"stride {stride} {mode}")
      self.assertEqual(ElasticFusedMBConv.from_config(layer.get_config()).get_config(),
                       layer.get_config())


if __name__ == "__main__":
  tf.test.main()
