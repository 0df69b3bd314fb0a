"""A small MobileNetV3 subnet with random weights, for the export tests and the export binary's
smoke model.

It is built by the one static builder (`ofa_tf.networks.static_network`) from a subnet of the
tiny OFA-MobileNetV3 space, so its layer vocabulary is exactly what subnet extraction emits:
ZeroPadding2D + Conv2D('valid', no bias) + BatchNormalization, DepthwiseConv2D, ReLU, h-swish
as `Multiply([x, Rescaling(1/6)(ReLU(6)(Rescaling(1, offset=3)(x)))])`, squeeze-excite with a
hard sigmoid, residual Add, and the MobileNetV3 head (Howard et al., ICCV 2019, Fig. 5).
"""

import numpy as np
import tf_keras

from ofa_tf.networks.static_network import build_static_model, hard_sigmoid, hard_swish
from ofa_tf.search_space import get_space

__all__ = ["hard_sigmoid", "hard_swish", "toy_mobilenet_v3", "synthetic_classification",
           "train_toy"]


def toy_mobilenet_v3(resolution=32, num_classes=10, seed=0):
  """The smallest subnet of `ofa_mbv3_tiny` (kernel 5 in its SE stages) with randomized BN.

  Args:
    resolution: input height and width in pixels.
    num_classes: number of logits.
    seed: seed for the weights and the BN statistics.

  Returns:
    A `tf_keras.Model` mapping float32 (N, resolution, resolution, 3) NHWC images in [0, 1] to
    float32 (N, num_classes) logits.
  """
  tf_keras.utils.set_random_seed(seed)
  space = get_space("ofa_mbv3_tiny").replace(num_classes=num_classes,
                                             resolutions=(resolution,))
  config = space.min_config()
  config = config.replace(ks=(3,) * 4 + (5,) * (space.num_blocks - 4))
  model = build_static_model(space.network_spec(config), name="toy_mobilenet_v3")
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
