"""Tests of the elastic supernet: extraction, masking, depth, BN updates, modes, tracing."""

import numpy as np
import tensorflow as tf

from ofa_tf import search_space as ss
from ofa_tf.networks.extract import extract_subnet
from ofa_tf.networks import Supernet, build_supernet, encode_arch


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


class ExtractionTest(tf.test.TestCase):

  def _check_extraction(self, space, count):
    supernet = build_supernet(space, execution_mode="masked")
    randomize(supernet)
    for i, config in enumerate(configs(space, count, seed=1)):
      x = images(config, i)
      arch = supernet.arch_inputs(config)
      model = extract_subnet(supernet, config)
      self.assertEqual(model.count_params(), space.params(config, include_bn_statistics=True))
      for training in (False, True):
        want = supernet(x, training=training, arch=arch, mode="masked")
        got = model(x, training=training)
        self.assertAllClose(got, want, atol=1e-4, rtol=0, msg=f"{config} training={training}")

  def test_tiny_space(self):
    self._check_extraction(ss.get_space("ofa_mbv3_tiny").replace(dropout_rate=0.0), 20)

  def test_full_w10_space(self):
    space = ss.get_space("ofa_mbv3_w1.0").replace(dropout_rate=0.0, resolutions=(128, 160))
    self._check_extraction(space, 20)


class KernelTransformTest(tf.test.TestCase):

  def test_chained_centre_crop_and_matrices(self):
    space = ss.get_space("ofa_mbv3_tiny")
    supernet = build_supernet(space)
    randomize(supernet, seed=3)
    dw = supernet.blocks[0].depthwise
    w7 = dw.kernel.numpy()[..., 0]                               # [7, 7, C]
    m75 = dw.transforms[(7, 5)].numpy()
    m53 = dw.transforms[(5, 3)].numpy()
    channels = w7.shape[-1]
    w7c = w7[1:6, 1:6].transpose(2, 0, 1).reshape(channels, 25)  # (C, 25), row-major (kh, kw)
    w5 = (w7c @ m75.T).reshape(channels, 5, 5)
    w5c = w5[:, 1:4, 1:4].reshape(channels, 9)
    w3 = (w5c @ m53.T).reshape(channels, 3, 3)
    self.assertAllClose(dw.kernel_for(5).numpy()[..., 0], w5.transpose(1, 2, 0), atol=1e-6)
    self.assertAllClose(dw.kernel_for(3).numpy()[..., 0], w3.transpose(1, 2, 0), atol=1e-6)
    self.assertAllEqual(dw.kernel_for(7), dw.kernel)
    padded = dw.padded_kernels().numpy()
    self.assertAllEqual(padded[0, :2], np.zeros_like(padded[0, :2]))  # 3x3 inside 7x7.


class MaskingAndDepthTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.space = ss.get_space("ofa_mbv3_tiny").replace(dropout_rate=0.0)
    self.supernet = build_supernet(self.space, execution_mode="masked")
    randomize(self.supernet)
    self.config = self.space.min_config(28).replace(d=(2, 3, 2))

  def test_inactive_channels_are_exactly_zero(self):
    block = self.supernet.blocks[4]  # Stage 2 (SE, h-swish), first block.
    arch = encode_arch(self.space, self.config)
    mid = int(arch["mid_channels"][4])
    self.assertLess(mid, block.max_mid_channels)
    x = tf.random.stateless_normal((2, 14, 14, block.in_channels), seed=(0, 1))
    expanded = tf.nn.conv2d(x, block.expand_kernel, 1, "VALID")
    for training in (False, True):
      y = block.expand_bn(expanded, training=training, active_channels=mid, mode="masked",
                          update=tf.constant(False))
      self.assertAllEqual(y[..., mid:], tf.zeros_like(y[..., mid:]))
      self.assertGreater(float(tf.reduce_max(tf.abs(y[..., :mid]))), 0.0)

  def test_inactive_weights_and_blocks_do_not_matter(self):
    x = images(self.config, 5)
    arch = self.supernet.arch_inputs(self.config)
    before = {m: self.supernet(x, arch=arch, mode=m) for m in ("masked", "sliced")}
    active = encode_arch(self.space, self.config)
    for b, block in enumerate(self.supernet.blocks):
      mid = int(active["mid_channels"][b])
      if not active["active"][b]:  # Skipped by elastic depth: scramble everything.
        block.project_kernel.assign(tf.random.normal(block.project_kernel.shape))
      else:  # Scramble only the inactive middle channels.
        k = block.expand_kernel.numpy()
        k[..., mid:] = 1e3
        block.expand_kernel.assign(k)
    for mode, want in before.items():
      self.assertAllClose(self.supernet(x, arch=arch, mode=mode), want, atol=1e-5)

  def test_training_step_keeps_inactive_bn_statistics(self):
    arch = encode_arch(self.space, self.config)
    for mode in ("masked", "sliced"):
      supernet = build_supernet(self.space, execution_mode=mode)
      randomize(supernet)
      stats = {k: v.numpy().copy() for k, v in supernet.named_weights().items()
               if "moving" in k}
      x = images(self.config, 7, batch=4)
      with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(supernet(x, training=True,
                                                 arch=supernet.arch_inputs(self.config))))
      grads = tape.gradient(loss, supernet.trainable_variables)
      for g, v in zip(grads, supernet.trainable_variables):
        if g is not None:
          v.assign_sub(0.1 * g)
      changed_somewhere = False
      for b, block in enumerate(supernet.blocks):
        mid = int(arch["mid_channels"][b])
        for bn_name in ("expand_bn", "depthwise_bn", "project_bn"):
          for stat in ("moving_mean", "moving_variance"):
            key = f"block{b + 1}.{bn_name}.{stat}"
            new, old = supernet.named_weights()[key].numpy(), stats[key]
            if not arch["active"][b]:
              self.assertAllEqual(new, old, msg=f"{mode} {key} (inactive block)")
            elif bn_name != "project_bn":
              self.assertAllEqual(new[mid:], old[mid:], msg=f"{mode} {key} (inactive channels)")
              changed_somewhere |= not np.allclose(new[:mid], old[:mid])
      self.assertTrue(changed_somewhere)


class ModesAndTracingTest(tf.test.TestCase):

  def test_both_modes_trace_once_and_agree(self):
    space = ss.get_space("ofa_mbv3_tiny").replace(dropout_rate=0.0)
    supernet = build_supernet(space)
    randomize(supernet)
    traces = {"masked": 0, "sliced": 0}

    def make_step(mode):
      @tf.function
      def step(x, arch):
        traces[mode] += 1
        with tf.GradientTape() as tape:
          logits = supernet(x, training=True, arch=arch, mode=mode)
          loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
              tf.zeros([tf.shape(x)[0]], tf.int32), logits))
        return logits, tape.gradient(loss, supernet.trainable_variables)
      return step

    steps = {mode: make_step(mode) for mode in traces}
    stats = {k: v.numpy() for k, v in supernet.named_weights().items() if "moving" in k}
    rng = np.random.default_rng(11)
    x = tf.random.stateless_normal((2, 32, 32, 3), seed=(3, 4))
    for i in range(50):
      config = space.sample(rng, resolutions=(32,))
      arch = supernet.arch_inputs(config)
      outputs = {}
      for mode, step in steps.items():
        for k, v in stats.items():  # Same BN statistics before each mode's step.
          supernet.named_weights()[k].assign(v)
        outputs[mode] = step(x, arch)
      (lm, gm), (ls, gs) = outputs["masked"], outputs["sliced"]
      self.assertAllClose(lm, ls, atol=1e-5)
      for a, b, v in zip(gm, gs, supernet.trainable_variables):
        a = tf.zeros_like(v) if a is None else tf.convert_to_tensor(a)
        b = tf.zeros_like(v) if b is None else tf.convert_to_tensor(b)
        self.assertAllClose(a, b, atol=1e-5, msg=f"config {i} {v.name}")
    self.assertEqual(traces, {"masked": 1, "sliced": 1})

  def test_set_active_subnet(self):
    space = ss.get_space("ofa_mbv3_tiny").replace(dropout_rate=0.0)
    supernet = build_supernet(space)
    forward = tf.function(lambda x: supernet(x))
    config = space.min_config(32)
    x = images(config, 1)
    supernet.set_active_subnet(config)
    self.assertAllClose(forward(x), supernet(x, arch=supernet.arch_inputs(config)), atol=1e-6)
    supernet.set_active_subnet(space.max_config(32))
    self.assertAllClose(forward(x), supernet(x, arch=supernet.arch_inputs(space.max_config())),
                        atol=1e-6)
    with self.assertRaisesRegex(ValueError, r"ks\[0\] = 4"):
      supernet.set_active_subnet(config.replace(ks=(4,) + config.ks[1:]))
    with self.assertRaisesRegex(ValueError, "execution_mode"):
      build_supernet(space, execution_mode="fast")


if __name__ == "__main__":
  tf.test.main()
