"""Tests of the elastic supernet: extraction, masking, depth, BN updates, modes, tracing."""

import numpy as np
import tensorflow as tf

from ofa_tf import search_space as ss
from ofa_tf.networks import build_supernet, encode_arch
from ofa_tf.networks.supernet_test_util import configs, images, randomize


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

  def test_set_active_subnet(self):
    space = ss.get_space("ofa_mbv3_tiny").replace(dropout_rate=0.0)
    supernet = build_supernet(space)
    forward = tf.function(lambda x: supernet(x))
    config = space.min_config(32)
    x = images(config, 1)
    supernet.set_active_subnet(config)
    # A traced and an eager call may order float sums differently (CI's CPU differed by more
    # than 1e-6 once): 1e-5, the masked = sliced tolerance of the conformance checks.
    self.assertAllClose(forward(x), supernet(x, arch=supernet.arch_inputs(config)), atol=1e-5)
    supernet.set_active_subnet(space.max_config(32))
    self.assertAllClose(forward(x), supernet(x, arch=supernet.arch_inputs(space.max_config())),
                        atol=1e-5)
    with self.assertRaisesRegex(ValueError, r"ks\[0\] = 4"):
      supernet.set_active_subnet(config.replace(ks=(4,) + config.ks[1:]))
    with self.assertRaisesRegex(ValueError, "execution_mode"):
      build_supernet(space, execution_mode="fast")


if __name__ == "__main__":
  tf.test.main()
