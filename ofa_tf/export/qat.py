"""Quantization-aware training (tensorflow-model-optimization) for extracted subnets.

tfmot's default 8-bit registry has no entry for `Rescaling` and `Multiply`, the layers that
build h-swish, the hard-sigmoid gate and the squeeze-excite product in the extracted subnets.
The `QuantizeConfig`s below quantize their outputs the way TFLite's int8 kernels compute
them (one per-tensor scale after each op), following TF Model Garden's QAT vision layers
(official/projects/qat/vision/quantization/configs.py: `NoOpQuantizeConfig`,
`Default8BitOutputQuantizeConfig`).

Pipeline: `lowering.lower_model` (the QAT graph then trains exactly the op sequence the
target runs) -> `quantize_aware_model` (every layer annotated) -> `calibrate_quantizers`
(ranges from training images, as PTQ calibration) -> `qat_finetune` -> `converter.export_tflite`
with an int8 recipe. The converted file then reproduces the QAT Keras model's fake-quant
outputs up to int8 rounding (`qat_test`).
"""

from typing import Iterable, Optional

import numpy as np
import tensorflow as tf
import tensorflow_model_optimization as tfmot
from tensorflow_model_optimization.python.core.quantization.keras import quantize_layer
from tensorflow_model_optimization.python.core.quantization.keras import quantize_wrapper
import tf_keras

_quantizers = tfmot.quantization.keras.quantizers


class OutputQuantizeConfig(tfmot.quantization.keras.QuantizeConfig):
  """Quantizes a weightless layer's output to 8 bits (moving-average min/max).

  For `Multiply` (h-swish product, squeeze-excite gating) and scale-only `Rescaling`
  (the 1/6 of the hard sigmoid): each is one int8 MUL in TFLite with its own output scale.
  """

  def get_weights_and_quantizers(self, layer):
    return []

  def get_activations_and_quantizers(self, layer):
    return []

  def set_quantize_weights(self, layer, quantize_weights):
    pass

  def set_quantize_activations(self, layer, quantize_activations):
    pass

  def get_output_quantizers(self, layer):
    return [_quantizers.MovingAverageQuantizer(num_bits=8, per_axis=False, symmetric=False,
                                               narrow_range=False)]

  def get_config(self):
    return {}


class NoOpQuantizeConfig(OutputQuantizeConfig):
  """Leaves a layer unquantized: its output feeds an op that TFLite fuses with it.

  For the `Rescaling(1, offset=3)` before ReLU6 in a hard sigmoid: TFLite fuses the RELU6
  into the ADD, so there is no int8 tensor between them to quantize.
  """

  def get_output_quantizers(self, layer):
    return []


def _fused_into_next(layer, model) -> bool:
  """True for a Rescaling whose only consumer is a ReLU (fused activation in TFLite)."""
  consumers = [n.outbound_layer for n in layer._outbound_nodes]  # pylint: disable=protected-access
  del model
  return len(consumers) == 1 and isinstance(consumers[0], tf_keras.layers.ReLU)


def quantize_aware_model(model: tf_keras.Model) -> tf_keras.Model:
  """Returns a quantize-aware copy of `model`: every layer the int8 file quantizes is simulated.

  All layers are annotated: `Rescaling`/`Multiply` with the configs above, every other layer
  with tfmot's default 8-bit registry (input quantizer, per-channel conv/depthwise kernels,
  Conv/Depthwise + BatchNormalization + ReLU patterns quantized after the activation, Dense,
  Add, pooling). Annotating only the custom layers would leave convolutions, BN, ReLU, the
  input and the logits float in the QAT graph while the int8 file quantizes them.

  The quantizer ranges start at tfmot's [-6, 6] (weights included: `LastValueQuantizer`
  keeps them until a training-mode call), so call `calibrate_quantizers` before evaluating or
  fine-tuning the result.

  Args:
    model: a tf_keras Functional model of stock layers (an extracted subnet, lowered for its
      target with `lowering.lower_model`).

  Returns:
    The tfmot quantize-aware model; export it with `converter.export_tflite` and an int8
    recipe.
  """
  def annotate(layer):
    if isinstance(layer, tf_keras.layers.Rescaling):
      config = NoOpQuantizeConfig() if _fused_into_next(layer, model) else OutputQuantizeConfig()
      return tfmot.quantization.keras.quantize_annotate_layer(layer, config)
    if isinstance(layer, tf_keras.layers.Multiply):
      return tfmot.quantization.keras.quantize_annotate_layer(layer, OutputQuantizeConfig())
    return layer

  annotated = tf_keras.models.clone_model(model, clone_function=annotate)
  annotated.set_weights(model.get_weights())
  annotated = tfmot.quantization.keras.quantize_annotate_model(annotated)
  with tfmot.quantization.keras.quantize_scope({"OutputQuantizeConfig": OutputQuantizeConfig,
                                                "NoOpQuantizeConfig": NoOpQuantizeConfig}):
    return tfmot.quantization.keras.quantize_apply(annotated)


class _RangeRecorder:
  """Stands in for an activation quantizer: widens its [min, max] to the float tensor's
  range (0 included, as TFLite requires) and passes the tensor through unquantized."""

  def __call__(self, inputs, training, weights, **kwargs):
    del training, kwargs
    weights["min_var"].assign(tf.minimum(weights["min_var"], tf.reduce_min(inputs)))
    weights["max_var"].assign(tf.maximum(weights["max_var"], tf.reduce_max(inputs)))
    return inputs


def _activation_quantizers(model):
  """(owner, attribute or index, quantizer variables) of every activation quantizer."""
  # pylint: disable=protected-access
  found = []
  for layer in model.layers:
    if isinstance(layer, quantize_wrapper.QuantizeWrapper):
      if layer._output_quantizers:
        found.append((layer._output_quantizers, 0, layer._output_quantizer_vars))
      for act in layer._quantize_activations:
        for attr in ("_pre_activation_vars", "_post_activation_vars"):
          if hasattr(act, attr):
            found.append((act, "quantizer", getattr(act, attr)))
    elif isinstance(layer, quantize_layer.QuantizeLayer) and layer.quantizer is not None:
      found.append((layer, "quantizer", layer.quantizer_vars))
  return found


def calibrate_weight_ranges(model: tf_keras.Model) -> None:
  """Sets every weight quantizer's range from the current float weights.

  tfmot's `LastValueQuantizer` only updates its range in training mode; in inference mode it
  quantizes with the stored range ([-6, 6] after `quantize_aware_model`, stale after weight
  updates made in inference mode). The converter quantizes the weights with the stored range,
  so refresh it after any weight change.
  """
  for layer in model.layers:
    if isinstance(layer, quantize_wrapper.QuantizeWrapper):
      for weight, quantizer, variables in layer._weight_vars:  # pylint: disable=protected-access
        quantizer(weight, True, weights=variables)


def calibrate_quantizers(model: tf_keras.Model, batches: Iterable) -> int:
  """Calibrates a quantize-aware model's ranges, as TFLite post-training calibration would.

  Weight ranges come from the weights (`calibrate_weight_ranges`); every activation range
  becomes the [min, max] (0 included) of the float activation over `batches`, the statistic
  the TFLite converter's calibration uses. Without this, ranges stay at tfmot's initial
  [-6, 6]: its moving-average quantizers move towards the data by 0.1% per training step
  (EMA decay 0.999) and not at all in inference mode, so a short fine-tune trains against
  clipped activations and coarse weights.

  Args:
    model: a model from `quantize_aware_model`.
    batches: iterable of float32 (B, H, W, C) NHWC image batches (or (images, labels) pairs)
      from the training split.

  Returns:
    The number of activation quantizers calibrated.

  Raises:
    ValueError: for empty `batches`.
  """
  calibrate_weight_ranges(model)
  quantizers = _activation_quantizers(model)
  originals = []
  for owner, key, variables in quantizers:
    for var in variables.values():
      var.assign(tf.zeros_like(var))
    originals.append(owner[key] if isinstance(owner, list) else getattr(owner, key))
  recorder = _RangeRecorder()
  seen = False
  try:
    for owner, key, _ in quantizers:
      if isinstance(owner, list):
        owner[key] = recorder
      else:
        setattr(owner, key, recorder)
    for batch in batches:
      images = batch[0] if isinstance(batch, (tuple, list)) else batch
      model(tf.convert_to_tensor(images, tf.float32), training=False)
      seen = True
  finally:
    for (owner, key, _), original in zip(quantizers, originals):
      if isinstance(owner, list):
        owner[key] = original
      else:
        setattr(owner, key, original)
  if not seen:
    raise ValueError("calibrate_quantizers: batches is empty")
  return len(quantizers)


def qat_finetune(model: tf_keras.Model, train_ds: Iterable, steps: int,
                 teacher: Optional[tf_keras.Model] = None, *, learning_rate: float = 1e-4,
                 temperature: float = 1.0, distill_weight: float = 1.0,
                 freeze_batch_norm: bool = True, seed: int = 0) -> dict:
  """Fine-tunes a quantize-aware model for a few steps, distilling from `teacher` if given.

  Loss: cross-entropy on labels, plus `distill_weight` * KL(teacher || student) at
  `temperature` when `teacher` is given (Cai et al., ICLR 2020, Sec. 3.2 distils subnets
  from the largest network; here it recovers accuracy lost to quantization).

  Call `calibrate_quantizers` first. The weight ranges are refreshed from the final weights at
  the end (`calibrate_weight_ranges`), so the Keras model and its TFLite conversion agree.

  Args:
    model: a model from `quantize_aware_model` (trained in place).
    train_ds: iterable of (images float32 (B, H, W, C) NHWC, int labels (B,)) batches; cycled
      if shorter than `steps`.
    steps: number of optimizer steps (> 0).
    teacher: a float tf_keras model with the same input and classes (e.g. the supernet's
      largest subnet), or None for label-only fine-tuning.
    learning_rate: SGD-with-momentum learning rate.
    temperature: softmax temperature for distillation.
    distill_weight: weight of the distillation term.
    freeze_batch_norm: run the model in inference mode (moving BN statistics, frozen
      quantizer ranges; gradients still pass the fake-quant ops straight through). Short
      fine-tunes with small batches are unstable with batch statistics.
    seed: seed for the training randomness (dropout).

  Returns:
    {"loss": list of per-step total losses (float)}.

  Raises:
    ValueError: for steps <= 0 or an empty dataset.
  """
  if steps <= 0:
    raise ValueError(f"steps={steps}; must be > 0")
  tf.random.set_seed(seed)
  optimizer = tf_keras.optimizers.SGD(learning_rate, momentum=0.9)
  xent = tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True)

  @tf.function
  def step(images, labels):
    with tf.GradientTape() as tape:
      logits = model(images, training=not freeze_batch_norm)
      loss = xent(labels, logits)
      if teacher is not None:
        t = tf.nn.softmax(teacher(images, training=False) / temperature)
        log_s = tf.nn.log_softmax(logits / temperature)
        kl = tf.reduce_mean(tf.reduce_sum(t * (tf.math.log(t + 1e-8) - log_s), axis=-1))
        loss += distill_weight * temperature ** 2 * kl
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
    return loss

  losses = []
  while len(losses) < steps:
    seen = False
    for images, labels in train_ds:
      seen = True
      losses.append(float(step(tf.convert_to_tensor(images, tf.float32),
                               tf.convert_to_tensor(labels))))
      if len(losses) >= steps:
        break
    if not seen:
      raise ValueError("train_ds is empty")
  calibrate_weight_ranges(model)
  return {"loss": losses}


def teacher_labels(teacher: tf_keras.Model, images: np.ndarray) -> np.ndarray:
  """Top-1 classes of `teacher` on float32 (N, H, W, C) images (pseudo-labels, (N,) int)."""
  return np.asarray(teacher.predict(images, batch_size=64, verbose=0)).argmax(-1)
