"""Tests for qat."""

import os

import numpy as np
import tensorflow as tf
import tf_keras

from ofa_tf.export import converter
from ofa_tf.export import lowering
from ofa_tf.export import qat
from ofa_tf.export import tflite_graph
from ofa_tf.export import toy_model
from ofa_tf.export import verify


def _hswish_se_model():
  """Conv-BN-h-swish, squeeze-excite with a hard sigmoid, residual, classifier: every layer
  kind QAT needs a config for, in a graph small enough for a fast test."""
  inputs = tf_keras.Input((16, 16, 3), name="image")
  x = tf_keras.layers.ZeroPadding2D(1, name="pad")(inputs)
  x = tf_keras.layers.Conv2D(8, 3, 2, use_bias=False, name="conv")(x)
  x = tf_keras.layers.BatchNormalization(name="bn")(x)
  x = toy_model.hard_swish(x, "a_hswish")
  z = tf_keras.layers.GlobalAveragePooling2D(keepdims=True, name="se_pool")(x)
  z = tf_keras.layers.Conv2D(8, 1, name="se_conv")(z)
  y = tf_keras.layers.Multiply(name="se_mul")([x, toy_model.hard_sigmoid(z, "se_gate")])
  x = tf_keras.layers.Add(name="add")([x, y])
  x = tf_keras.layers.GlobalAveragePooling2D(name="pool")(x)
  return tf_keras.Model(inputs, tf_keras.layers.Dense(4, name="logits")(x))


def _quantizer_ranges(model):
  return {v.name: v.numpy() for v in model.variables
          if v.name.endswith(("_min:0", "_max:0"))}


class QatTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    tf_keras.utils.set_random_seed(0)
    cls.model = lowering.lower_model(_hswish_se_model(), "decomposed")
    cls.images = np.random.default_rng(0).uniform(0, 1, (32, 16, 16, 3)).astype(np.float32)

  def test_every_layer_is_quantize_aware(self):
    qat_model = qat.quantize_aware_model(self.model)
    names = {v.name.split("/")[0] + "/" + v.name.split("/")[-1][:-2]
             for v in qat_model.variables}
    # The input, every kernel (per channel) and the logits are quantized, not only the
    # h-swish / SE layers that need custom configs.
    for name in ("quantize_layer/quantize_layer_min", "quant_conv/kernel_min",
                 "quant_bn/output_min", "quant_se_conv/kernel_min", "quant_add/output_min",
                 "quant_logits/kernel_min", "quant_logits/post_activation_min",
                 "quant_a_hswish_mul/output_min", "quant_se_mul/output_min"):
      self.assertIn(name, names)

  def test_calibrated_ranges_are_the_float_activation_ranges(self):
    qat_model = qat.quantize_aware_model(self.model)
    self.assertGreater(qat.calibrate_quantizers(qat_model, [self.images[:16],
                                                            self.images[16:]]), 5)
    ranges = _quantizer_ranges(qat_model)
    # Input: [min(0, images.min()), images.max()]; logits: the float model's logit range.
    self.assertAllClose(ranges["quantize_layer/quantize_layer_min:0"], 0.0)
    self.assertAllClose(ranges["quantize_layer/quantize_layer_max:0"], self.images.max())
    logits = self.model.predict(self.images, verbose=0)
    self.assertAllClose(ranges["quant_logits/post_activation_max:0"], max(logits.max(), 0),
                        atol=0.02 * np.ptp(logits))
    # Per-channel kernel ranges come from the weights (symmetric), not tfmot's [-6, 6].
    kernel = self.model.get_layer("conv").get_weights()[0]
    self.assertAllClose(ranges["quant_conv/kernel_max:0"],
                        np.abs(kernel).max(axis=(0, 1, 2)), rtol=1e-5)
    with self.assertRaisesRegex(ValueError, "empty"):
      qat.calibrate_quantizers(qat_model, [])

  def test_converted_qat_model_matches_keras_fake_quant_outputs(self):
    qat_model = qat.quantize_aware_model(self.model)
    qat.calibrate_quantizers(qat_model, [self.images])
    history = qat.qat_finetune(qat_model, [(self.images, np.arange(32) % 4)], steps=2,
                               teacher=self.model, learning_rate=1e-2)
    self.assertLen(history["loss"], 2)
    path = os.path.join(self.get_temp_dir(), "qat.tflite")
    result = converter.export_tflite(qat_model, "edgetpu_int8", self.images, path)
    graph = tflite_graph.read_tflite(path)
    self.assertContainsSubset(graph.activation_dtypes(), {"INT8", "UINT8"})
    self.assertTrue(result.edgetpu_report.fully_mapped, result.edgetpu_report.format())
    with open(path, "rb") as f:
      lite, _, out_q = verify.run_tflite(f.read(), self.images)
    fake_quant = qat_model.predict(self.images, verbose=0)
    # The int8 file computes what the QAT Keras graph simulates, up to int8 rounding: a few
    # output quanta (the broken QAT of before this fix was off by ~70 quanta).
    self.assertLessEqual(np.abs(lite - fake_quant).max(), 3 * out_q.scale)
    self.assertAllEqual(lite.argmax(-1), fake_quant.argmax(-1))

  def test_bad_steps(self):
    with self.assertRaisesRegex(ValueError, "steps=0"):
      qat.qat_finetune(None, [], steps=0)


if __name__ == "__main__":
  tf.test.main()
