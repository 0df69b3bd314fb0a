"""Tiny .tflite models of single layers and of whole subnets, in a profile's precision.

Conversion path (profiled on the 2-core dev machine): the Keras model is traced once into a
concrete function and converted with `TFLiteConverter.from_concrete_functions` (which freezes
the variables itself). This skips the SavedModel export and reload of `from_keras_model`,
which dominated conversion time: about 8 s wall for an SE block against under 1 s, same TFLite
ops. What remains per layer (about 0.4 s CPU) is split between building the Keras layers,
freezing, and the MLIR conversion.

Precision recipes: 'fp32'; 'fp16' (float16 weights, float32 compute on CPU); 'int8'
(full-integer post-training quantization with int8 input and output, calibrated on
`num_calibration` random inputs uniform in [-1, 1] from the given generator).
Weights are freshly initialized: latency does not depend on trained values.
"""

import warnings
from typing import Optional

import numpy as np
import tensorflow as tf
import tf_keras

from ofa_tf.latency.network_layers import LayerSpec
from ofa_tf.networks import static_network as smv
from ofa_tf.search_space import NetworkSpec

layers = tf_keras.layers


def build_layer_model(layer: LayerSpec, spec: NetworkSpec, batch: int = 1) -> tf_keras.Model:
  """A Functional model computing exactly `layer` as the static subnet builder does.

  Args:
    layer: the layer.
    spec: the NetworkSpec it comes from (BN hyper-parameters, resolution).
    batch: fixed batch size.
  """
  inputs = layers.Input((layer.input_hw, layer.input_hw, layer.in_channels), batch_size=batch)
  if layer.conv is not None:
    x = smv.apply_conv(inputs, layer.conv, spec)
  elif layer.kind == "block":
    x = smv.apply_block(inputs, layer.block, spec)
  elif layer.kind == "stem_pool":
    x = smv.apply_stem_pool(inputs)
  elif layer.kind == "pool":
    x = layers.GlobalAveragePooling2D(keepdims=True, name="avg_pool")(inputs)
  elif layer.kind == "logits":
    x = layers.Flatten(name="flatten")(inputs)
    x = layers.Dense(layer.out_channels, name="classifier")(x)
  else:
    raise ValueError(f"unknown layer kind {layer.kind!r}")
  return tf_keras.Model(inputs, x)


def _concrete_function(model: tf_keras.Model):
  spec = tf.TensorSpec(model.inputs[0].shape, tf.float32)
  fn = tf.function(lambda x: model(x, training=False), autograph=False)
  return fn.get_concrete_function(spec)


def convert(model: tf_keras.Model, precision: str = "fp32",
            rng: Optional[np.random.Generator] = None, num_calibration: int = 4) -> bytes:
  """Converts a single-input Keras model to .tflite bytes with the given precision recipe.

  Args:
    model: Functional model with one fixed-shape float32 input (NHWC).
    precision: 'fp32', 'fp16' or 'int8'.
    rng: generator of the int8 calibration inputs (default seed 0).
    num_calibration: calibration batches for int8.

  Returns:
    The flatbuffer bytes.

  Raises:
    ValueError: unknown precision.
  """
  if precision not in ("fp32", "fp16", "int8"):
    raise ValueError(f"precision must be 'fp32', 'fp16' or 'int8', got {precision!r}")
  function = _concrete_function(model)
  with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    converter = tf.lite.TFLiteConverter.from_concrete_functions([function])
  if precision == "fp16":
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.target_spec.supported_types = [tf.float16]
  elif precision == "int8":
    rng = rng or np.random.default_rng(0)
    shape = tuple(model.inputs[0].shape)
    samples = [rng.uniform(-1.0, 1.0, size=shape).astype(np.float32)
               for _ in range(num_calibration)]
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([s] for s in samples)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
  return converter.convert()


def layer_tflite(layer: LayerSpec, spec: NetworkSpec, precision: str = "fp32", batch: int = 1,
                 rng: Optional[np.random.Generator] = None) -> bytes:
  """.tflite bytes of one layer (see `build_layer_model`, `convert`)."""
  tf_keras.backend.clear_session()
  return convert(build_layer_model(layer, spec, batch), precision, rng)


def subnet_tflite(spec: NetworkSpec, precision: str = "fp32", batch: int = 1,
                  rng: Optional[np.random.Generator] = None) -> bytes:
  """.tflite bytes of a whole static subnet (`build_static_model`, dropout inactive)."""
  tf_keras.backend.clear_session()
  return convert(smv.build_static_model(spec, batch_size=batch), precision, rng)
