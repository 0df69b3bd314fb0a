"""A tiny MobileNetV3-style tf_keras model in the extracted-subnet layer vocabulary.

Used by the export tests (and as a smoke model for the export binary) until subnets extracted
from a trained supernet are available. The layer vocabulary is exactly what subnet extraction
emits (see `ofa_tf/networks/extract.py`): ZeroPadding2D + Conv2D('valid', no bias) +
BatchNormalization, DepthwiseConv2D, ReLU, h-swish as
``Multiply([x, Rescaling(1/6)(ReLU(6)(Rescaling(1, offset=3)(x)))])``, squeeze-excite with a
hard sigmoid, residual Add, and the MobileNetV3 head (Howard et al., ICCV 2019, Fig. 5).
"""

import numpy as np
import tf_keras


def hard_sigmoid(x, prefix):
  """Returns relu6(x + 3) / 6 built from stock layers (Howard et al., ICCV 2019, Sec. 5.2)."""
  x = tf_keras.layers.Rescaling(1.0, offset=3.0, name=f"{prefix}hsig_add")(x)
  x = tf_keras.layers.ReLU(6.0, name=f"{prefix}hsig_relu6")(x)
  return tf_keras.layers.Rescaling(1.0 / 6.0, name=f"{prefix}hsig_scale")(x)


def hard_swish(x, prefix):
  """Returns x * relu6(x + 3) / 6 built from stock layers."""
  return tf_keras.layers.Multiply(name=f"{prefix}hswish_mul")(
      [x, hard_sigmoid(x, f"{prefix}hswish_")])


def _conv_bn(x, filters, kernel, stride, prefix, depthwise=False):
  if kernel > 1:
    x = tf_keras.layers.ZeroPadding2D(kernel // 2, name=f"{prefix}pad")(x)
  if depthwise:
    x = tf_keras.layers.DepthwiseConv2D(kernel, stride, padding="valid", use_bias=False,
                                        name=f"{prefix}depthwise")(x)
  else:
    x = tf_keras.layers.Conv2D(filters, kernel, stride, padding="valid", use_bias=False,
                               name=f"{prefix}conv")(x)
  return tf_keras.layers.BatchNormalization(name=f"{prefix}bn")(x)


def _activation(x, act, prefix):
  if act == "relu":
    return tf_keras.layers.ReLU(name=f"{prefix}relu")(x)
  return hard_swish(x, prefix)


def _squeeze_excite(x, channels, prefix):
  z = tf_keras.layers.GlobalAveragePooling2D(keepdims=True, name=f"{prefix}se_pool")(x)
  z = tf_keras.layers.Conv2D(max(channels // 4, 8), 1, name=f"{prefix}se_reduce")(z)
  z = tf_keras.layers.ReLU(name=f"{prefix}se_relu")(z)
  z = tf_keras.layers.Conv2D(channels, 1, name=f"{prefix}se_expand")(z)
  z = hard_sigmoid(z, f"{prefix}se_")
  return tf_keras.layers.Multiply(name=f"{prefix}se_mul")([x, z])


# (kernel, expand ratio, out channels, stride, activation, squeeze-excite)
_BLOCKS = ((3, 1, 16, 1, "relu", False), (5, 3, 24, 2, "hswish", True),
           (3, 4, 24, 1, "hswish", True))


def toy_mobilenet_v3(resolution=32, num_classes=10, seed=0):
  """Builds a 3-block MobileNetV3-style Functional model with randomized BN statistics.

  Args:
    resolution: input height and width in pixels.
    num_classes: number of logits.
    seed: seed for the weights and the BN statistics.

  Returns:
    A `tf_keras.Model` mapping float32 (1 or N, resolution, resolution, 3) NHWC images in
    [0, 1] to float32 (N, num_classes) logits.
  """
  tf_keras.utils.set_random_seed(seed)
  inputs = tf_keras.Input((resolution, resolution, 3), name="image")
  x = _conv_bn(inputs, 16, 3, 2, "stem_")
  x = hard_swish(x, "stem_")
  channels = 16
  for i, (kernel, expand, out, stride, act, se) in enumerate(_BLOCKS):
    prefix = f"block{i}_"
    shortcut = x
    h = x
    if expand != 1:
      h = _conv_bn(h, channels * expand, 1, 1, f"{prefix}expand_")
      h = _activation(h, act, f"{prefix}expand_")
    h = _conv_bn(h, None, kernel, stride, f"{prefix}dw_", depthwise=True)
    h = _activation(h, act, f"{prefix}dw_")
    if se:
      h = _squeeze_excite(h, channels * expand, prefix)
    h = _conv_bn(h, out, 1, 1, f"{prefix}project_")
    if stride == 1 and out == channels:
      h = tf_keras.layers.Add(name=f"{prefix}add")([shortcut, h])
    x, channels = h, out
  x = _conv_bn(x, channels * 6, 1, 1, "head_")
  x = hard_swish(x, "head_")
  x = tf_keras.layers.GlobalAveragePooling2D(keepdims=True, name="head_pool")(x)
  x = tf_keras.layers.Conv2D(64, 1, use_bias=False, name="head_feature")(x)
  x = hard_swish(x, "head_feature_")
  x = tf_keras.layers.Flatten(name="head_flatten")(x)
  x = tf_keras.layers.Dropout(0.1, name="head_dropout")(x)
  outputs = tf_keras.layers.Dense(num_classes, name="classifier")(x)
  model = tf_keras.Model(inputs, outputs, name="toy_mobilenet_v3")
  rng = np.random.default_rng(seed)
  for layer in model.layers:
    if isinstance(layer, tf_keras.layers.BatchNormalization):
      gamma, beta, mean, var = layer.get_weights()
      layer.set_weights([rng.uniform(0.5, 1.5, gamma.shape), rng.normal(0, 0.1, beta.shape),
                         rng.normal(0, 0.1, mean.shape), rng.uniform(0.5, 1.5, var.shape)])
  return model


def synthetic_classification(num_images, resolution=32, num_classes=10, seed=0):
  """A learnable toy task: class k = a colour tint plus horizontal stripes of frequency k.

  Args:
    num_images: number of images.
    resolution: height and width in pixels.
    num_classes: number of classes.
    seed: seed of the noise and the labels.

  Returns:
    (float32 (N, resolution, resolution, 3) images in [0, 1], int64 (N,) labels).
  """
  rng = np.random.default_rng(seed)
  labels = rng.integers(0, num_classes, num_images)
  rows = np.arange(resolution)[None, :, None, None]
  freq = (labels + 1)[:, None, None, None]
  stripes = 0.5 + 0.25 * np.sin(2 * np.pi * freq * rows / resolution)
  tint = np.stack([np.cos(2 * np.pi * labels / num_classes), np.sin(2 * np.pi * labels /
                                                                     num_classes),
                   np.zeros(num_images)], -1)[:, None, None, :] * 0.15
  images = stripes + tint + rng.normal(0, 0.1, (num_images, resolution, resolution, 3))
  return np.clip(images, 0, 1).astype(np.float32), labels


def train_toy(model, images, labels, epochs=3, seed=0):
  """Trains `model` on (images, labels) with Adam (a stand-in for a trained subnet)."""
  tf_keras.utils.set_random_seed(seed)
  model.compile(tf_keras.optimizers.Adam(3e-3),
                tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True))
  model.fit(images, labels, batch_size=32, epochs=epochs, verbose=0)
  return model
