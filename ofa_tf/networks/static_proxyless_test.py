"""Tests of the static ProxylessNAS-family builder and its counters."""

import numpy as np
import tensorflow as tf

from ofa_tf import search_space as ss
from ofa_tf.networks import static_proxyless as sp


def _block(index, cin, cout, mid, k, stride, size, residual=False):
  """An expanding ReLU6 MBConv block."""
  return ss.BlockSpec(index=index, in_channels=cin, out_channels=cout, mid_channels=mid,
                      kernel_size=k, stride=stride, activation="relu6", se_channels=0,
                      input_size=size, has_expand=True, residual=residual)


def _tiny_spec():
  blocks = (ss.BlockSpec(index=0, in_channels=16, out_channels=8, mid_channels=16,
                         kernel_size=3, stride=1, activation="relu6", se_channels=0,
                         input_size=16, has_expand=False, residual=False),
            _block(1, 8, 16, 24, 5, 2, 16),
            _block(2, 16, 16, 48, 3, 1, 8, residual=True))
  return sp.ProxylessNetworkSpec(resolution=32, stem_channels=16, blocks=blocks,
                                 feature_mix_channels=64, num_classes=10)


class StaticProxylessTest(tf.test.TestCase):

  def test_counts_match_the_model_and_a_hand_count(self):
    spec = _tiny_spec()
    model = sp.build_static_model(spec)
    self.assertEqual(model.count_params(), sp.count_params(spec, include_bn_statistics=True))
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    self.assertEqual(trainable, sp.count_params(spec))
    # Stem 16x16x(27*16); block 0 dw 9*16 + proj 16*8 at 16x16; block 1 expand 8*24 at 16x16,
    # dw 25*24 + proj 24*16 at 8x8; block 2 expand 16*48, dw 9*48, proj 48*16 at 8x8;
    # feature mix 16*64 at 8x8; classifier 64*10.
    macs = (256 * 27 * 16 + 256 * (9 * 16 + 16 * 8) + 256 * 8 * 24 + 64 * (25 * 24 + 24 * 16)
            + 64 * (16 * 48 + 9 * 48 + 48 * 16) + 64 * 16 * 64 + 64 * 10)
    self.assertEqual(sp.count_macs(spec), macs)
    self.assertEqual(model(tf.zeros((2, 32, 32, 3))).shape, (2, 10))

  def test_block_computes_relu6_mbconv_with_residual(self):
    spec = _tiny_spec()
    block = spec.blocks[2]
    inputs = sp.layers.Input((8, 8, 16))
    model = sp.tf_keras.Model(inputs, sp.apply_block(inputs, block, spec))
    rng = np.random.default_rng(0)
    for w in model.weights:
      w.assign(rng.uniform(0.5, 1.5, w.shape).astype(np.float32) if "variance" in w.name
               else rng.normal(0, 0.5, w.shape).astype(np.float32))
    x = rng.normal(size=(2, 8, 8, 16)).astype(np.float32)

    def bn(y, name):
      layer = model.get_layer(name)
      g, b, m, v = (t.numpy() for t in layer.weights)
      return (y - m) / np.sqrt(v + spec.bn_epsilon) * g + b

    relu6 = lambda y: np.clip(y, 0, 6)
    kernel = lambda name: model.get_layer(name).kernel.numpy()[0, 0]
    y = relu6(bn(x @ kernel("block2_expand_conv"), "block2_expand_bn"))
    y = tf.nn.depthwise_conv2d(y, model.get_layer("block2_depthwise").depthwise_kernel,
                               [1, 1, 1, 1], "SAME").numpy()
    y = relu6(bn(y, "block2_depthwise_bn"))
    y = bn(y @ kernel("block2_project_conv"), "block2_project_bn")
    self.assertAllClose(model(x), x + y, atol=1e-4)

  def test_rejects_mobilenet_v3_blocks(self):
    spec = _tiny_spec()
    bad = spec.blocks[1].__class__(**{**spec.blocks[1].__dict__, "activation": "hswish"})
    with self.assertRaisesRegex(ValueError, r"blocks\[1\] must use activation 'relu6'"):
      sp.ProxylessNetworkSpec(resolution=32, stem_channels=16, blocks=(spec.blocks[0], bad),
                              feature_mix_channels=64, num_classes=10)


if __name__ == "__main__":
  tf.test.main()
