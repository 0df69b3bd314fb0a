"""Quantization-aware training (tensorflow-model-optimization) for extracted subnets.

tfmot's default 8-bit registry has no entry for `Rescaling` and `Multiply`, the layers that
build h-swish, the hard-sigmoid gate and the squeeze-excite product in the extracted subnets.
The `QuantizeConfig`s below quantize their outputs the way TFLite's int8 kernels compute
them (one per-tensor scale after each op), following TF Model Garden's QAT vision layers
(official/projects/qat/vision/quantization/configs.py: `NoOpQuantizeConfig`,
`Default8BitOutputQuantizeConfig`).

Lower the model for its target (`lowering.lower_model`) before `quantize_aware_model`:
the QAT graph then trains exactly the op sequence the target runs.
"""

from typing import Iterable, Optional

import numpy as np
import tensorflow as tf
import tensorflow_model_optimization as tfmot
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
  """Returns a quantize-aware copy of `model` (fake-quant ops in training and inference).

  Args:
    model: a tf_keras Functional model of stock layers (an extracted subnet, lowered for its
      target). Conv2D/DepthwiseConv2D + BatchNormalization pairs are folded by tfmot.

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
  with tfmot.quantization.keras.quantize_scope({"OutputQuantizeConfig": OutputQuantizeConfig,
                                                "NoOpQuantizeConfig": NoOpQuantizeConfig}):
    return tfmot.quantization.keras.quantize_apply(annotated)


def qat_finetune(model: tf_keras.Model, train_ds: Iterable, steps: int,
                 teacher: Optional[tf_keras.Model] = None, *, learning_rate: float = 1e-4,
                 temperature: float = 1.0, distill_weight: float = 1.0,
                 freeze_batch_norm: bool = True, seed: int = 0) -> dict:
  """Fine-tunes a quantize-aware model for a few steps, distilling from `teacher` if given.

  Loss: cross-entropy on labels, plus `distill_weight` * KL(teacher || student) at
  `temperature` when `teacher` is given (Cai et al., ICLR 2020, Sec. 3.2 distils subnets
  from the largest network; here it recovers accuracy lost to quantization).

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
  return {"loss": losses}


def teacher_labels(teacher: tf_keras.Model, images: np.ndarray) -> np.ndarray:
  """Top-1 classes of `teacher` on float32 (N, H, W, C) images (pseudo-labels, (N,) int)."""
  return np.asarray(teacher.predict(images, batch_size=64, verbose=0)).argmax(-1)
