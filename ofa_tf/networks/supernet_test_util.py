"""Helpers of the supernet tests: random but well-scaled supernet weights, configs, images."""

import numpy as np
import tensorflow as tf


def randomize(supernet, seed=0):
  """Random BN affine parameters, biases and kernel transforms (defaults are identities), and
  BN statistics gathered on random images for the largest subnet (as in the shared oracle), so
  that logits stay O(1) in inference mode."""
  rng = np.random.default_rng(seed)
  for name, v in supernet.named_weights().items():
    if name.endswith("beta") or name.endswith("bias"):
      v.assign(rng.normal(0.0, 0.1, v.shape))
    elif name.endswith("gamma"):
      v.assign(rng.uniform(0.5, 1.5, v.shape))
    elif "transform" in name:
      v.assign(np.eye(v.shape[0]) + 0.05 * rng.normal(size=v.shape))
  space = supernet.space
  largest = space.max_config()
  x = tf.random.stateless_normal((8, largest.r, largest.r, 3), seed=(seed, 99))
  supernet(x, training=True, arch=supernet.arch_inputs(largest), mode="masked",
           bn_momentum=tf.constant(0.0))


def configs(space, count, seed):
  rng = np.random.default_rng(seed)
  return [space.min_config(), space.max_config()] + [space.sample(rng) for _ in range(count - 2)]


def images(config, seed, batch=2):
  return tf.random.stateless_normal((batch, config.r, config.r, 3), seed=(seed, 0))
