"""Tests for lowering."""

import numpy as np
import tensorflow as tf
import tf_keras

from ofa_tf.export import lowering
from ofa_tf.export import toy_model


class LoweringTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.model = toy_model.toy_mobilenet_v3()
    cls.images = np.random.default_rng(0).uniform(0, 1, (2, 32, 32, 3)).astype(np.float32)

  def test_finds_every_hswish_but_not_the_se_gate(self):
    # stem, 4 h-swish blocks x (expand, depthwise), final expand, feature mix: 11 h-swish,
    # found by pattern; the builder names each `<layer>_act_mul`. The SE gates are not.
    found = lowering.find_hswish(self.model.get_config())
    self.assertLen(found, 11)
    self.assertCountEqual([f["mul"] for f in found],
                          [l.name for l in self.model.layers if l.name.endswith("_act_mul")])
    self.assertNotIn("block5_se_mul", [f["mul"] for f in found])
    self.assertIn("block5_se_mul", [l.name for l in self.model.layers])

  def test_decomposed_is_the_same_function_with_static_batch(self):
    lowered = lowering.lower_model(self.model, "decomposed", batch_size=1)
    self.assertEqual(lowered.input_shape, (1, 32, 32, 3))
    for image in self.images:
      self.assertAllClose(lowered(image[None]), self.model(image[None]), atol=1e-6)

  def test_relu_variant_replaces_hswish(self):
    lowered = lowering.lower_model(self.model, "relu")
    self.assertEmpty(lowering.find_hswish(lowered.get_config()))
    self.assertEqual(type(lowered.get_layer("stem_act_mul")).__name__, "ReLU")
    self.assertEqual(lowered.predict(self.images, verbose=0).shape, (2, 10))

  def test_model_with_tf_op_layers(self):
    # Keras' MobileNetV3 builds hard sigmoid as `ReLU(6.)(x + 3.) * (1. / 6.)`: TFOpLambda
    # layers, whose one-tensor nodes serialize without the list around the entry.
    inputs = tf_keras.Input((4, 4, 3))
    x = tf_keras.layers.ReLU(6.0)(inputs + 3.0) * (1.0 / 6.0)
    x = tf_keras.layers.Multiply()([inputs, x])
    model = tf_keras.Model(inputs, tf_keras.layers.GlobalAveragePooling2D()(x))
    lowered = lowering.lower_model(model, "keep", batch_size=1)
    self.assertEqual(lowered.input_shape, (1, 4, 4, 3))
    self.assertAllClose(lowered(self.images[:1, :4, :4]), model(self.images[:1, :4, :4]))

  def test_unknown_mode(self):
    with self.assertRaisesRegex(ValueError, "hswish_mode='gelu'"):
      lowering.lower_model(self.model, "gelu")


if __name__ == "__main__":
  tf.test.main()
