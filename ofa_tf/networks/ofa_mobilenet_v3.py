"""The OFA-MobileNetV3 supernet (Cai et al., ICLR 2020, Sec. 3 and 4; reference
`OFAMobileNetV3`): elastic kernel size, expand ratio, depth and resolution over one set of
weights.

The active subnet is given to `call` as `arch`, a dict of small int32 tensors (see
`encode_arch`), so one traced graph serves every subnet at a given resolution; without `arch`
the subnet set by `set_active_subnet` is used (held in non-trainable variables, so traced
graphs read the current value). Two execution modes over the same weights:

  * "masked": static shapes; every block and channel is computed, inactive ones masked to zero
    (inactive blocks are identity and do not update BN statistics). For XLA and TPU.
  * "sliced": weights and activations sliced to the active sizes (tensor-valued sizes, the
    depthwise kernel's centre included), skipped blocks by `tf.cond`: compute proportional to
    the subnet. For CPU/GPU training and search-time evaluation.

Weights are exposed with stable names by `named_weights()` (used by extraction, import of the
released PyTorch checkpoints, and checkpoint mapping).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
import tf_keras

from ofa_tf.layers.elastic_batch_norm import ElasticBatchNormalization
from ofa_tf.layers.elastic_mbconv import ElasticMBConv, apply_activation, conv_initializer, pointwise
from ofa_tf.search_space import MobileNetV3Space, SubnetConfig

MODES = ("masked", "sliced")
ARCH_KEYS = ("kernel_index", "mid_channels", "se_channels", "active")


def encode_arch(space: MobileNetV3Space, config: SubnetConfig) -> dict[str, np.ndarray]:
  """The supernet's tensor form of a subnet: one entry per elastic block.

  Returns:
    dict with int32 arrays of shape [space.num_blocks]: `kernel_index` (into the ascending
    `space.kernel_sizes`), `mid_channels`, `se_channels` (0 without SE), and `active` (bool).

  Raises:
    ValueError: `config` is not valid for `space`.
  """
  space.validate(config)
  active = np.zeros(space.num_blocks, bool)
  active[list(config.active_blocks(space))] = True
  mids, ses = [], []
  for b in range(space.num_blocks):
    mid = space.mid_channels(space.block_input_channels(b), config.e[b])
    mids.append(mid)
    ses.append(space.se_channels(mid) if space.stages[space.stage_of_block(b)].use_se else 0)
  return {
      "kernel_index": np.array([space.kernel_sizes.index(k) for k in config.ks], np.int32),
      "mid_channels": np.array(mids, np.int32),
      "se_channels": np.array(ses, np.int32),
      "active": active,
  }


class OFAMobileNetV3(tf_keras.Model):
  """Elastic OFA-MobileNetV3 supernet.

  Args:
    space: the search space (widths, elastic choices, BN hyper-parameters, classes).
    execution_mode: default mode, "sliced" (CPU/GPU) or "masked" (XLA/TPU).
    synchronized_bn: BatchNorm statistics over all replicas of a tf.distribute strategy.

  Call args:
    images: [B, r, r, 3] float32 NHWC, r one of `space.resolutions` (not enforced here).
    training: Python bool (batch statistics and BN updates, dropout).
    arch: dict from `encode_arch` (arrays or int32/bool tensors), or None for the active
      subnet set by `set_active_subnet`.
    mode: "masked" / "sliced" or None for `execution_mode`.
    bn_momentum: float32 scalar overriding every BN momentum (BN recalibration), or None.
    dropout_seed: int32/int64 [2] seed of a stateless dropout mask (a function of the seed
      alone, so a resumed run replays it), or None for Keras' stateful dropout.

  Returns:
    logits [B, num_classes] float32.
  """

  def __init__(self, space: MobileNetV3Space, execution_mode: str = "sliced",
               synchronized_bn: bool = False, name: str = "ofa_mobilenet_v3", **kwargs):
    super().__init__(name=name, **kwargs)
    if execution_mode not in MODES:
      raise ValueError(f"execution_mode must be one of {MODES}, got {execution_mode!r}")
    self.space = space
    self.execution_mode = execution_mode
    self.synchronized_bn = synchronized_bn
    bn = dict(epsilon=space.bn_epsilon, momentum=space.bn_momentum, synchronized=synchronized_bn)
    block_bn = dict(bn_epsilon=space.bn_epsilon, bn_momentum=space.bn_momentum,
                    synchronized_bn=synchronized_bn)
    self.stem_bn = ElasticBatchNormalization(name="stem_bn", **bn)
    self.block0 = ElasticMBConv(space.stem_width, space.first_block_width, space.stem_width,
                                kernel_sizes=(3,), stride=1, activation="relu",
                                has_expand=False, name="block0", **block_bn)
    self.blocks = []
    for b in range(space.num_blocks):
      stage = space.stages[space.stage_of_block(b)]
      max_mid = space.max_mid_channels(b)
      self.blocks.append(ElasticMBConv(
          space.block_input_channels(b), stage.width, max_mid, kernel_sizes=space.kernel_sizes,
          stride=stage.stride if b % space.max_depth == 0 else 1, activation=stage.activation,
          max_se_channels=space.se_channels(max_mid) if stage.use_se else 0,
          name=f"block{b + 1}", **block_bn))
    self.final_expand_bn = ElasticBatchNormalization(name="final_expand_bn", **bn)
    self.dropout = tf_keras.layers.Dropout(space.dropout_rate, name="dropout")
    self._build_weights()

  def _build_weights(self):
    space = self.space
    self.stem_kernel = self.add_weight("stem_conv/kernel", (3, 3, 3, space.stem_width),
                                       initializer=conv_initializer())
    self.stem_bn.build((None, None, None, space.stem_width))
    self.block0.build()
    for block in self.blocks:
      block.build()
    last = space.stages[-1].width
    self.final_expand_kernel = self.add_weight(
        "final_expand_conv/kernel", (1, 1, last, space.final_expand_width), initializer=conv_initializer())
    self.final_expand_bn.build((None, None, None, space.final_expand_width))
    self.feature_mix_kernel = self.add_weight(
        "feature_mix_conv/kernel", (1, 1, space.final_expand_width, space.feature_mix_width),
        initializer=conv_initializer())
    self.classifier_kernel = self.add_weight(
        "classifier/kernel", (space.feature_mix_width, space.num_classes),
        initializer="glorot_uniform")
    self.classifier_bias = self.add_weight("classifier/bias", (space.num_classes,),
                                           initializer="zeros")
    arch = encode_arch(space, space.max_config())
    self._active_arch = {k: tf.Variable(v, trainable=False, name=f"active_{k}")
                         for k, v in arch.items()}
    self.built = True

  # --- Active subnet -------------------------------------------------------------------------

  def set_active_subnet(self, config: SubnetConfig) -> None:
    """Makes `config` the subnet that `call(images)` runs when no `arch` is given.

    Raises:
      ValueError: `config` is not valid for this supernet's space.
    """
    for key, value in encode_arch(self.space, config).items():
      self._active_arch[key].assign(value)

  def arch_inputs(self, config: SubnetConfig) -> dict[str, tf.Tensor]:
    """`encode_arch` as tensors, ready to pass as `call(..., arch=...)`."""
    return {k: tf.constant(v) for k, v in encode_arch(self.space, config).items()}

  # --- Forward -------------------------------------------------------------------------------

  def call(self, images, training=False, arch=None, mode=None, bn_momentum=None,
           dropout_seed=None):
    mode = mode or self.execution_mode
    if mode not in MODES:
      raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    arch = {k: tf.convert_to_tensor(v) for k, v in (arch or self._active_arch).items()}
    bn_args = dict(training=training, mode=mode, momentum=bn_momentum)
    x = tf.pad(images, [[0, 0], [1, 1], [1, 1], [0, 0]])
    x = tf.nn.conv2d(x, self.stem_kernel, 2, "VALID")
    x = apply_activation(self.stem_bn(x, **bn_args), "hswish")
    x = self.block0(x, 0, None, 0, training=training, mode=mode, bn_momentum=bn_momentum)
    always_active = min(self.space.depths)
    for b, block in enumerate(self.blocks):
      args = (arch["kernel_index"][b], arch["mid_channels"][b], arch["se_channels"][b])
      active = tf.cast(arch["active"][b], tf.bool)
      if b % self.space.max_depth < always_active:
        x = block(x, *args, training=training, mode=mode, bn_momentum=bn_momentum)
      elif mode == "masked":
        y = block(x, *args, training=training, mode=mode, update_bn=active,
                  bn_momentum=bn_momentum)
        x = tf.where(active, y, x)
      else:
        x = tf.cond(active,
                    lambda x=x, block=block, args=args: block(
                        x, *args, training=training, mode=mode, bn_momentum=bn_momentum),
                    lambda x=x: tf.identity(x))
    x = pointwise(x, self.final_expand_kernel)
    x = apply_activation(self.final_expand_bn(x, **bn_args), "hswish")
    x = tf.reduce_mean(x, [1, 2], keepdims=True)
    x = apply_activation(pointwise(x, self.feature_mix_kernel), "hswish")
    x = tf.reshape(x, [-1, self.space.feature_mix_width])
    if training and dropout_seed is not None and self.space.dropout_rate > 0:
      x = tf.nn.experimental.stateless_dropout(x, self.space.dropout_rate, dropout_seed)
    else:
      x = self.dropout(x, training=training)
    return tf.matmul(x, self.classifier_kernel) + self.classifier_bias

  # --- Weights by stable name ------------------------------------------------------------------

  def named_weights(self) -> dict[str, tf.Variable]:
    """All weights by stable name, e.g. `block3.expand_conv.kernel`, `block3.depthwise.
    transform_7to5`, `block3.project_bn.moving_mean`, `stem_conv.kernel`, `classifier.bias`.

    Block i is `BlockSpec.index` i (block0 = the first block; elastic block b is block{b+1}).
    Kernels are Keras layouts: conv [kh, kw, in, out], depthwise [kh, kw, C, 1], classifier
    [in, out].
    """
    out = {"stem_conv.kernel": self.stem_kernel}
    out.update(_bn_weights("stem_bn", self.stem_bn))
    for block in [self.block0] + self.blocks:
      p = block.name
      if block.has_expand:
        out[f"{p}.expand_conv.kernel"] = block.expand_kernel
        out.update(_bn_weights(f"{p}.expand_bn", block.expand_bn))
      out[f"{p}.depthwise.kernel"] = block.depthwise.kernel
      for (big, small), matrix in block.depthwise.transforms.items():
        out[f"{p}.depthwise.transform_{big}to{small}"] = matrix
      out.update(_bn_weights(f"{p}.depthwise_bn", block.depthwise_bn))
      if block.max_se_channels:
        out[f"{p}.se_reduce.kernel"] = block.se_reduce_kernel
        out[f"{p}.se_reduce.bias"] = block.se_reduce_bias
        out[f"{p}.se_expand.kernel"] = block.se_expand_kernel
        out[f"{p}.se_expand.bias"] = block.se_expand_bias
      out[f"{p}.project_conv.kernel"] = block.project_kernel
      out.update(_bn_weights(f"{p}.project_bn", block.project_bn))
    out["final_expand_conv.kernel"] = self.final_expand_kernel
    out.update(_bn_weights("final_expand_bn", self.final_expand_bn))
    out["feature_mix_conv.kernel"] = self.feature_mix_kernel
    out["classifier.kernel"] = self.classifier_kernel
    out["classifier.bias"] = self.classifier_bias
    return out


def _bn_weights(prefix: str, bn: ElasticBatchNormalization) -> dict[str, tf.Variable]:
  return {f"{prefix}.gamma": bn.gamma, f"{prefix}.beta": bn.beta,
          f"{prefix}.moving_mean": bn.moving_mean,
          f"{prefix}.moving_variance": bn.moving_variance}
