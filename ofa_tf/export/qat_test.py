"""Tests for qat."""

import os
import unittest

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from ofa_tf.export import converter
from ofa_tf.export import lowering
from ofa_tf.export import qat
from ofa_tf.export import tflite_graph
from ofa_tf.export import toy_model


def _hswish_se_model():
  """Conv-BN-h-swish, squeeze-excite with a hard sigmoid, classifier: every layer kind QAT
  needs a config for, in a graph small enough for a fast test."""
  inputs = tf_keras.Input((16, 16, 3))
  x = tf_keras.layers.ZeroPadding2D(1)(inputs)
  x = tf_keras.layers.Conv2D(8, 3, 2, use_bias=False)(x)
  x = tf_keras.layers.BatchNormalization()(x)
  x = toy_model.hard_swish(x, "a_")
  z = tf_keras.layers.GlobalAveragePooling2D(keepdims=True)(x)
  z = tf_keras.layers.Conv2D(8, 1)(z)
  x = tf_keras.layers.Multiply()([x, toy_model.hard_sigmoid(z, "se_")])
  x = tf_keras.layers.GlobalAveragePooling2D()(x)
  return tf_keras.Model(inputs, tf_keras.layers.Dense(4)(x))


class QatTest(tf.test.TestCase):

  def test_quantize_aware_model_converts_to_int8(self):
    model = lowering.lower_model(_hswish_se_model(), "decomposed")
    images = np.random.default_rng(0).uniform(0, 1, (8, 16, 16, 3)).astype(np.float32)
    qat_model = qat.quantize_aware_model(model)
    self.assertTrue(any("quant" in type(l).__name__.lower() for l in qat_model.layers))
    self.assertAllClose(qat_model.predict(images, verbose=0), model.predict(images, verbose=0),
                        atol=0.1)
    history = qat.qat_finetune(qat_model, [(images, np.arange(8) % 4)], steps=2,
                               teacher=model)
    self.assertLen(history["loss"], 2)
    path = os.path.join(self.get_temp_dir(), "qat.tflite")
    result = converter.export_tflite(qat_model, "edgetpu_int8", images, path)
    graph = tflite_graph.read_tflite(path)
    self.assertContainsSubset(graph.activation_dtypes(), {"INT8", "UINT8"})
    self.assertTrue(result.edgetpu_report.fully_mapped, result.edgetpu_report.format())
    self.assertGreaterEqual(result.check.top1_agreement, 0.75)

  def test_bad_steps(self):
    with self.assertRaisesRegex(ValueError, "steps=0"):
      qat.qat_finetune(None, [], steps=0)

  # Known open problem: on this toy task (float 51%, PTQ edgetpu_int8 51%) the exported QAT
  # model reaches only ~16% top-1 (LiteRT vs QAT-Keras max |diff| ~4): quantizer ranges /
  # BN folding during the short fine-tune need fixing before QAT is the recommended path.
  @unittest.expectedFailure
  @pytest.mark.slow
  def test_qat_recovers_ptq_accuracy_on_toy_task(self):
    images, labels = toy_model.synthetic_classification(1024, seed=0)
    eval_images, eval_labels = toy_model.synthetic_classification(256, seed=1)
    model = toy_model.train_toy(toy_model.toy_mobilenet_v3(), images, labels, epochs=8)
    float_top1 = np.mean(model.predict(eval_images, verbose=0).argmax(-1) == eval_labels)
    qat_model = qat.quantize_aware_model(lowering.lower_model(model, "decomposed"))
    batches = [(images[i:i + 32], labels[i:i + 32]) for i in range(0, 1024, 32)]
    qat.qat_finetune(qat_model, batches, steps=32, teacher=model)
    path = os.path.join(self.get_temp_dir(), "toy_qat.tflite")
    result = converter.export_tflite(qat_model, "edgetpu_int8", images[:100], path)
    from ofa_tf.export import verify  # pylint: disable=g-import-not-at-top
    with open(path, "rb") as f:
      report = verify.verify_tflite(f.read(), model, eval_images, eval_labels)
    self.assertTrue(result.edgetpu_report.fully_mapped)
    self.assertGreaterEqual(report.top1, float_top1 - 0.05)


if __name__ == "__main__":
  tf.test.main()
