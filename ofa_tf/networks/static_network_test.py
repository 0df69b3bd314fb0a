"""Tests of the static MobileNetV3 builder."""

import numpy as np
import tensorflow as tf

from ofa_tf import search_space as ss
from ofa_tf.networks import static_network as static


class StaticMobileNetV3Test(tf.test.TestCase):

  def test_count_params_matches_the_analytic_counter(self):
    space = ss.get_space("ofa_mbv3_tiny")
    rng = np.random.default_rng(0)
    for config in [space.min_config(), space.max_config()] + [space.sample(rng)
                                                              for _ in range(3)]:
      model = static.build_static_model(space.network_spec(config))
      self.assertEqual(model.count_params(), space.params(config, include_bn_statistics=True))
      self.assertEqual(model.output_shape, (None, space.num_classes))

  def test_activations_follow_the_reference_formulas(self):
    x = tf.constant(np.linspace(-5, 5, 21, dtype=np.float32).reshape(1, 21))
    inputs = static.layers.Input((21,))
    hs = static.tf_keras.Model(inputs, static.hard_swish(inputs, "hs"))
    hsig = static.tf_keras.Model(inputs, static.hard_sigmoid(inputs, "hsig"))
    relu6 = np.clip(x.numpy() + 3, 0, 6)
    self.assertAllClose(hs(x), x.numpy() * relu6 / 6, atol=1e-6)
    self.assertAllClose(hsig(x), relu6 / 6, atol=1e-6)

  def test_stride_two_padding_is_symmetric(self):
    space = ss.get_space("ofa_mbv3_tiny")
    config = space.max_config(32).replace(ks=(7,) * space.num_blocks)
    spec = space.network_spec(config)
    block = spec.blocks[5]  # First block of stage 2: stride 2, kernel 7.
    self.assertEqual(block.stride, 2)
    inputs = static.layers.Input((block.input_size, block.input_size, block.in_channels))
    model = static.tf_keras.Model(inputs, static.apply_block(inputs, block, spec))
    dw = model.get_layer(f"block{block.index}_depthwise")
    x = tf.random.stateless_normal((1, block.input_size, block.input_size, block.mid_channels),
                                   seed=(1, 2))
    got = dw(model.get_layer(f"block{block.index}_depthwise_pad")(x))
    want = tf.nn.depthwise_conv2d(x, dw.depthwise_kernel, [1, 2, 2, 1],
                                  padding=[[0, 0], [3, 3], [3, 3], [0, 0]])
    self.assertAllClose(got, want, atol=1e-5)
    self.assertEqual(got.shape[1], block.output_size)


if __name__ == "__main__":
  tf.test.main()
