"""The supernet of the MBConv families (Cai et al., ICLR 2020, Sec. 3 and 4): OFA-MobileNetV3
(reference `OFAMobileNetV3`), OFA-ProxylessNAS (reference `OFAProxylessNASNets`) and
OFA-EdgeTPU (whose first stages are fused-MBConv blocks, `ElasticFusedMBConv`): elastic
kernel size, expand ratio, depth and resolution over one set of weights. The stem, block 0
and the head convs follow the space's `network_spec` (h-swish head with a conv after pooling
for MobileNetV3; ReLU6 and the feature-mix conv before pooling for ProxylessNAS).

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
from ofa_tf.layers.elastic_fused_mbconv import ElasticFusedMBConv
from ofa_tf.layers.elastic_mbconv import ElasticMBConv, apply_activation, conv_initializer, pointwise
from ofa_tf.networks.registry import MODES, ActiveSubnet
from ofa_tf.networks.reorganize import reorganize_channels
from ofa_tf.search_space import SearchSpace, SubnetConfig

ARCH_KEYS = ("kernel_index", "mid_channels", "se_channels", "active")


def encode_arch(space: SearchSpace, config: SubnetConfig) -> dict[str, np.ndarray]:
  """The supernet's tensor form of a subnet: one entry per elastic block.

  Returns:
    dict with int32 arrays of shape [space.num_blocks]: `kernel_index` (into the ascending
    `space.kernel_sizes`), `mid_channels`, `se_channels` (0 without SE), and `active` (bool).

  Raises:
    ValueError: `config` is not valid for `space`.
  """
  space.validate(config)
  active = np.zeros(space.num_blocks, bool)
  active[list(space.active_blocks(config))] = True
  mids, ses = [], []
  for b in range(space.num_blocks):
    mid = space.mid_channels(space.block_input_channels(b), config.e[b])
    mids.append(mid)
    ses.append(space.block_se_channels(b, mid))
  return {
      "kernel_index": np.array([space.kernel_sizes.index(k) for k in config.ks], np.int32),
      "mid_channels": np.array(mids, np.int32),
      "se_channels": np.array(ses, np.int32),
      "active": active,
  }


class OFAMBConvNet(ActiveSubnet, tf_keras.Model):
  """Elastic supernet of an MBConv family (OFA-MobileNetV3, OFA-ProxylessNAS, OFA-EdgeTPU);
  each elastic block is the layer of its `space.block_kind` ("mbconv": `ElasticMBConv`,
  "fused_mbconv": `ElasticFusedMBConv`).

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

  def __init__(self, space: SearchSpace, execution_mode: str = "sliced",
               synchronized_bn: bool = False, name: str = "ofa_mbconv", **kwargs):
    super().__init__(name=name, **kwargs)
    bn = self._init_space(space, execution_mode, synchronized_bn)
    block_bn = dict(bn_epsilon=space.bn_epsilon, bn_momentum=space.bn_momentum,
                    synchronized_bn=synchronized_bn)
    largest = space.network_spec(space.max_config())
    self.stem_spec = largest.stem[0]
    self.head_before_pool, self.head_after_pool = largest.head_before_pool, largest.head_after_pool
    self.stem_bn = ElasticBatchNormalization(name="stem_bn", **bn)
    self.block0 = ElasticMBConv(space.stem_width, space.first_block_width, space.stem_width,
                                kernel_sizes=(3,), stride=1, activation=space.block0_activation,
                                has_expand=False, name="block0", **block_bn)
    self.blocks = []
    for b in range(space.num_blocks):
      stage = space.stages[space.stage_of_block(b)]
      max_mid = space.max_mid_channels(b)
      if space.block_kind(b) == "fused_mbconv":
        self.blocks.append(ElasticFusedMBConv(
            space.block_input_channels(b), stage.width, max_mid,
            kernel_size=space.dim("ks").choices[b][0], stride=space.block_stride(b),
            activation=stage.activation, name=f"block{b + 1}", **block_bn))
        continue
      self.blocks.append(ElasticMBConv(
          space.block_input_channels(b), stage.width, max_mid, kernel_sizes=space.kernel_sizes,
          stride=space.block_stride(b), activation=stage.activation,
          max_se_channels=space.block_se_channels(b, max_mid),
          name=f"block{b + 1}", **block_bn))
    for conv in self.head_before_pool + self.head_after_pool:
      if conv.batch_norm:
        setattr(self, f"{conv.name}_bn", ElasticBatchNormalization(name=f"{conv.name}_bn", **bn))
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
    # Head convs: attributes `{name}_kernel` / `{name}_bn` (final_expand, feature_mix).
    for conv in self.head_before_pool + self.head_after_pool:
      setattr(self, f"{conv.name}_kernel", self.add_weight(
          f"{conv.name}_conv/kernel", (1, 1, conv.in_channels, conv.out_channels),
          initializer=conv_initializer()))
      if conv.batch_norm:
        getattr(self, f"{conv.name}_bn").build((None, None, None, conv.out_channels))
    self.classifier_in_channels = (self.head_after_pool or self.head_before_pool)[-1].out_channels
    self.classifier_kernel = self.add_weight(
        "classifier/kernel", (self.classifier_in_channels, space.num_classes),
        initializer="glorot_uniform")
    self.classifier_bias = self.add_weight("classifier/bias", (space.num_classes,),
                                           initializer="zeros")
    self._init_active_arch()
    self.built = True

  # --- Active subnet (`ActiveSubnet`) and channel re-organization -----------------------------

  def reorganize(self, trained_values) -> None:
    """Channel re-organization before an elastic-width phase: `trained_values` is
    {"e": expand ratios trained so far} (`Phase.trained_values`); see `reorganize_channels`."""
    reorganize_channels(self, trained_values["e"])

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
    x = apply_activation(self.stem_bn(x, **bn_args), self.stem_spec.activation)
    x = self.block0(x, 0, None, 0, training=training, mode=mode, bn_momentum=bn_momentum)
    always_active = min(self.space.depths)
    positions = self.space.block_position()
    for b, block in enumerate(self.blocks):
      args = (arch["kernel_index"][b], arch["mid_channels"][b], arch["se_channels"][b])
      active = tf.cast(arch["active"][b], tf.bool)
      if positions[b] < always_active:
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
    for conv in self.head_before_pool:
      x = self._head_conv(x, conv, bn_args)
    x = tf.reduce_mean(x, [1, 2], keepdims=True)
    for conv in self.head_after_pool:
      x = self._head_conv(x, conv, bn_args)
    x = tf.reshape(x, [-1, self.classifier_in_channels])
    if training and dropout_seed is not None and self.space.dropout_rate > 0:
      x = tf.nn.experimental.stateless_dropout(x, self.space.dropout_rate, dropout_seed)
    else:
      x = self.dropout(x, training=training)
    return tf.matmul(x, self.classifier_kernel) + self.classifier_bias

  def _head_conv(self, x, conv, bn_args):
    x = pointwise(x, getattr(self, f"{conv.name}_kernel"))
    if conv.batch_norm:
      x = getattr(self, f"{conv.name}_bn")(x, **bn_args)
    return apply_activation(x, conv.activation)

  # --- Weights by stable name ------------------------------------------------------------------

  def static_weights(self, spec) -> dict[str, list[np.ndarray]]:
    """Weights of the static model of `spec` (`static_network` layer names), sliced to the
    active channels; depthwise kernels transformed to their elastic size (reference
    `get_active_subnet`)."""
    out = {"stem_conv": [self.stem_kernel.numpy()], "stem_bn": bn_arrays(self.stem_bn)}
    sources = [self.block0] + [self.blocks[b.index - 1] for b in spec.blocks[1:]]
    for block, source in zip(spec.blocks, sources):
      p, mid, se = f"block{block.index}_", block.mid_channels, block.se_channels
      if block.kind == "fused_mbconv":
        out[p + "fused_conv"] = [source.fused_kernel.numpy()[..., :mid]]
        out[p + "fused_bn"] = bn_arrays(source.fused_bn, mid)
      else:
        if block.has_expand:
          out[p + "expand_conv"] = [source.expand_kernel.numpy()[..., :mid]]
          out[p + "expand_bn"] = bn_arrays(source.expand_bn, mid)
        out[p + "depthwise"] = [
            source.depthwise.kernel_for(block.kernel_size).numpy()[:, :, :mid]]
        out[p + "depthwise_bn"] = bn_arrays(source.depthwise_bn, mid)
      if block.use_se:
        out[p + "se_reduce"] = [source.se_reduce_kernel.numpy()[:, :, :mid, :se],
                                source.se_reduce_bias.numpy()[:se]]
        out[p + "se_expand"] = [source.se_expand_kernel.numpy()[:, :, :se, :mid],
                                source.se_expand_bias.numpy()[:mid]]
      out[p + "project_conv"] = [source.project_kernel.numpy()[:, :, :mid]]
      out[p + "project_bn"] = bn_arrays(source.project_bn)
    for conv in spec.head_before_pool + spec.head_after_pool:
      out[f"{conv.name}_conv"] = [getattr(self, f"{conv.name}_kernel").numpy()]
      if conv.batch_norm:
        out[f"{conv.name}_bn"] = bn_arrays(getattr(self, f"{conv.name}_bn"))
    out["classifier"] = [self.classifier_kernel.numpy(), self.classifier_bias.numpy()]
    return out

  def named_weights(self) -> dict[str, tf.Variable]:
    """All weights by stable name, e.g. `block3.expand_conv.kernel`, `block3.depthwise.
    transform_7to5`, `block3.project_bn.moving_mean`, `stem_conv.kernel`, `classifier.bias`;
    a fused block has `blockN.fused_conv.kernel`, `blockN.fused_bn.*`, `blockN.project_*`.

    Block i is `BlockSpec.index` i (block0 = the first block; elastic block b is block{b+1}).
    Kernels are Keras layouts: conv [kh, kw, in, out], depthwise [kh, kw, C, 1], classifier
    [in, out].
    """
    out = {"stem_conv.kernel": self.stem_kernel}
    out.update(bn_weights("stem_bn", self.stem_bn))
    for block in [self.block0] + self.blocks:
      p = block.name
      if isinstance(block, ElasticFusedMBConv):
        out[f"{p}.fused_conv.kernel"] = block.fused_kernel
        out.update(bn_weights(f"{p}.fused_bn", block.fused_bn))
      else:
        if block.has_expand:
          out[f"{p}.expand_conv.kernel"] = block.expand_kernel
          out.update(bn_weights(f"{p}.expand_bn", block.expand_bn))
        out[f"{p}.depthwise.kernel"] = block.depthwise.kernel
        for (big, small), matrix in block.depthwise.transforms.items():
          out[f"{p}.depthwise.transform_{big}to{small}"] = matrix
        out.update(bn_weights(f"{p}.depthwise_bn", block.depthwise_bn))
      if block.max_se_channels:
        out[f"{p}.se_reduce.kernel"] = block.se_reduce_kernel
        out[f"{p}.se_reduce.bias"] = block.se_reduce_bias
        out[f"{p}.se_expand.kernel"] = block.se_expand_kernel
        out[f"{p}.se_expand.bias"] = block.se_expand_bias
      out[f"{p}.project_conv.kernel"] = block.project_kernel
      out.update(bn_weights(f"{p}.project_bn", block.project_bn))
    for conv in self.head_before_pool + self.head_after_pool:
      out[f"{conv.name}_conv.kernel"] = getattr(self, f"{conv.name}_kernel")
      if conv.batch_norm:
        out.update(bn_weights(f"{conv.name}_bn", getattr(self, f"{conv.name}_bn")))
    out["classifier.kernel"] = self.classifier_kernel
    out["classifier.bias"] = self.classifier_bias
    return out


def bn_arrays(bn: ElasticBatchNormalization, n=None) -> list[np.ndarray]:
  """[gamma, beta, moving_mean, moving_variance] of the first `n` channels (Keras order)."""
  return [v.numpy()[:n] for v in (bn.gamma, bn.beta, bn.moving_mean, bn.moving_variance)]


def bn_weights(prefix: str, bn: ElasticBatchNormalization) -> dict[str, tf.Variable]:
  return {f"{prefix}.gamma": bn.gamma, f"{prefix}.beta": bn.beta,
          f"{prefix}.moving_mean": bn.moving_mean,
          f"{prefix}.moving_variance": bn.moving_variance}
