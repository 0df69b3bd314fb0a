"""The supernet of the OFA-ResNet50 family (reference `OFAResNets`; Cai et al., ICLR 2020):
elastic depth (the stem's residual conv and the extra blocks of each stage), expand ratio
(middle channels) and width multiplier (every conv's output channels), over one set of
weights. Layout and config semantics: `ofa_tf.search_space.resnet50`.

As `OFAMBConvNet`, the active subnet is `call(..., arch=...)` (int32/bool tensors from
`encode_arch`, one traced graph for every subnet at a resolution) or the one set by
`set_active_subnet`; "masked" mode computes every channel and block and masks the inactive
ones to zero (static shapes, XLA/TPU), "sliced" mode slices weights and activations to the
active sizes and skips blocks by `tf.cond`. Width multipliers are channel slices: every conv
uses the first `width` output channels of its largest weight.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
import tf_keras

from ofa_tf.layers.elastic_batch_norm import ElasticBatchNormalization
from ofa_tf.layers.elastic_bottleneck import ElasticBottleneck, elastic_conv
from ofa_tf.layers.elastic_mbconv import conv_initializer
from ofa_tf.networks import reorganize as reorg
from ofa_tf.networks.ofa_mbconv import bn_arrays, bn_weights
from ofa_tf.networks.registry import MODES, ActiveSubnet
from ofa_tf.search_space import SubnetConfig
from ofa_tf.search_space.resnet50 import ResNetSpace

_STEM = ("stem1", "stem2", "stem3")


def encode_arch(space: ResNetSpace, config: SubnetConfig) -> dict[str, np.ndarray]:
  """The supernet's tensor form of a subnet.

  Returns:
    dict of arrays: `widths` int32 [2 + S] (active channels of each width group: stem first
    and middle conv, stem last conv, stage s), `mid_channels` int32 [B], `active` bool [B]
    (elastic block runs), `stem_residual` bool [] (the stem's middle conv runs).

  Raises:
    ValueError: `config` is not valid for `space`.
  """
  space.validate(config)
  widths = space.width_groups(config.w)
  active = np.zeros(space.num_blocks, bool)
  active[list(space.active_blocks(config))] = True
  mids = [space.mid_channels(widths[space.block_groups(b)[1]], config.e[b])
          for b in range(space.num_blocks)]
  return {"widths": np.array(widths, np.int32), "mid_channels": np.array(mids, np.int32),
          "active": active, "stem_residual": np.array(space.keeps_stem_residual(config))}


class OFAResNet(ActiveSubnet, tf_keras.Model):
  """Elastic OFA-ResNet supernet.

  Args:
    space: a `ResNetSpace`.
    execution_mode: default mode, "sliced" (CPU/GPU) or "masked" (XLA/TPU).
    synchronized_bn: BatchNorm statistics over all replicas of a tf.distribute strategy.

  Call args: as `OFAMBConvNet.call` (images [B, r, r, 3] float32 NHWC, training, arch from
  `encode_arch`, mode, bn_momentum, dropout_seed). Returns logits [B, num_classes] float32.

  Raises:
    ValueError: an unknown execution mode.
  """

  def __init__(self, space: ResNetSpace, execution_mode: str = "sliced",
               synchronized_bn: bool = False, name: str = "ofa_resnet", **kwargs):
    super().__init__(name=name, **kwargs)
    bn = self._init_space(space, execution_mode, synchronized_bn)
    self.max_widths = space.width_groups((len(space.width_mults) - 1,) * (2 + space.num_stages))
    for name_ in _STEM:
      setattr(self, f"{name_}_bn", ElasticBatchNormalization(name=f"{name_}_bn", **bn))
    self.blocks = []
    for b in range(space.num_blocks):
      g_in, g_out = space.block_groups(b)
      self.blocks.append(ElasticBottleneck(
          self.max_widths[g_in], self.max_widths[g_out], space.max_mid_channels(b),
          stride=space.block_stride(b), has_downsample=space.block_position()[b] == 0,
          kernel_size=space.kernel_size, bn_epsilon=space.bn_epsilon,
          bn_momentum=space.bn_momentum, synchronized_bn=synchronized_bn, name=f"block{b}"))
    self.dropout = tf_keras.layers.Dropout(space.dropout_rate, name="dropout")
    self._build_weights()

  def _build_weights(self):
    c0, c1 = self.max_widths[:2]
    shapes = {"stem1": (3, 3, 3, c0), "stem2": (3, 3, c0, c0), "stem3": (3, 3, c0, c1)}
    for name, shape in shapes.items():
      setattr(self, f"{name}_kernel", self.add_weight(f"{name}_conv/kernel", shape,
                                                      initializer=conv_initializer()))
      getattr(self, f"{name}_bn").build((None, None, None, shape[-1]))
    for block in self.blocks:
      block.build()
    self.classifier_kernel = self.add_weight(
        "classifier/kernel", (self.max_widths[-1], self.space.num_classes),
        initializer="glorot_uniform")
    self.classifier_bias = self.add_weight("classifier/bias", (self.space.num_classes,),
                                           initializer="zeros")
    self._init_active_arch()
    self.built = True

  # --- Active subnet (`ActiveSubnet`) and channel re-organization -----------------------------

  def reorganize(self, trained_values) -> None:
    """Channel re-organization before an expand or width phase: `trained_values` is
    {"e": expand ratios, "w": width indices} trained so far (`Phase.trained_values`); middle
    channels and then the width groups are sorted by importance within the trained bands
    (see `networks.reorganize.reorganize_resnet`)."""
    reorg.reorganize_resnet(self, trained_values["e"], trained_values["w"])

  # --- Forward -------------------------------------------------------------------------------

  def call(self, images, training=False, arch=None, mode=None, bn_momentum=None,
           dropout_seed=None):
    mode = mode or self.execution_mode
    if mode not in MODES:
      raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    sliced = mode == "sliced"
    arch = {k: tf.convert_to_tensor(v) for k, v in (arch or self._active_arch).items()}
    widths, mids = arch["widths"], arch["mid_channels"]
    bn_args = dict(training=training, mode=mode, momentum=bn_momentum)

    def stem_conv(x, name, width, stride, update=None):
      x = elastic_conv(x, getattr(self, f"{name}_kernel"), width, stride, sliced)
      return tf.nn.relu(getattr(self, f"{name}_bn")(x, active_channels=width, update=update,
                                                    **bn_args))

    x = stem_conv(images, "stem1", widths[0], 2)
    residual = tf.cast(arch["stem_residual"], tf.bool)
    if sliced:
      x = tf.cond(residual, lambda x=x: x + stem_conv(x, "stem2", widths[0], 1),
                  lambda x=x: tf.identity(x))
    else:
      x = tf.where(residual, x + stem_conv(x, "stem2", widths[0], 1, update=residual), x)
    x = stem_conv(x, "stem3", widths[1], 1)
    x = tf.nn.max_pool2d(tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]), 3, 2, "VALID")
    positions = self.space.block_position()
    stages = [self.space.bottleneck_stage(b) for b in range(self.space.num_blocks)]
    for b, block in enumerate(self.blocks):
      args = (mids[b], widths[self.space.block_groups(b)[1]])
      kwargs = dict(training=training, mode=mode, bn_momentum=bn_momentum)
      active = tf.cast(arch["active"][b], tf.bool)
      if positions[b] < self.space.base_depths[stages[b]]:
        x = block(x, *args, **kwargs)
      elif sliced:
        x = tf.cond(active, lambda x=x, block=block, args=args: block(x, *args, **kwargs),
                    lambda x=x: tf.identity(x))
      else:
        x = tf.where(active, block(x, *args, update_bn=active, **kwargs), x)
    x = tf.reduce_mean(x, [1, 2])
    if training and dropout_seed is not None and self.space.dropout_rate > 0:
      x = tf.nn.experimental.stateless_dropout(x, self.space.dropout_rate, dropout_seed)
    else:
      x = self.dropout(x, training=training)
    kernel = self.classifier_kernel[:tf.shape(x)[-1]] if sliced else self.classifier_kernel
    return tf.matmul(x, kernel) + self.classifier_bias

  # --- Weights by stable name ------------------------------------------------------------------

  def static_weights(self, spec) -> dict[str, list[np.ndarray]]:
    """Weights of the static model of `spec` (`static_network` layer names), sliced to the
    first active channels of every conv (reference `get_active_subnet`)."""
    out = {}
    for conv in spec.stem:
      kernel = getattr(self, f"{conv.name}_kernel").numpy()
      out[f"{conv.name}_conv"] = [kernel[:, :, :conv.in_channels, :conv.out_channels]]
      out[f"{conv.name}_bn"] = bn_arrays(getattr(self, f"{conv.name}_bn"), conv.out_channels)
    for spec_block in spec.blocks:
      block, p = self.blocks[spec_block.index], f"block{spec_block.index}_"
      cin, mid, cout = spec_block.in_channels, spec_block.mid_channels, spec_block.out_channels
      out[p + "conv1"] = [block.conv1_kernel.numpy()[:, :, :cin, :mid]]
      out[p + "bn1"] = bn_arrays(block.bn1, mid)
      out[p + "conv2"] = [block.conv2_kernel.numpy()[:, :, :mid, :mid]]
      out[p + "bn2"] = bn_arrays(block.bn2, mid)
      out[p + "conv3"] = [block.conv3_kernel.numpy()[:, :, :mid, :cout]]
      out[p + "bn3"] = bn_arrays(block.bn3, cout)
      if spec_block.has_downsample:
        out[p + "downsample_conv"] = [block.downsample_kernel.numpy()[:, :, :cin, :cout]]
        out[p + "downsample_bn"] = bn_arrays(block.downsample_bn, cout)
    c = spec.classifier_in_channels
    out["classifier"] = [self.classifier_kernel.numpy()[:c], self.classifier_bias.numpy()]
    return out

  def named_weights(self) -> dict[str, tf.Variable]:
    """All weights by stable name: `stem{1,2,3}_conv.kernel`, `stem{1,2,3}_bn.{gamma, beta,
    moving_mean, moving_variance}`, `block{b}.{conv1, conv2, conv3, downsample_conv}.kernel`,
    `block{b}.{bn1, bn2, bn3, downsample_bn}.*` (b = elastic block index, 0-based),
    `classifier.kernel` [in, out] and `classifier.bias`. Kernels are Keras layouts
    [kh, kw, in, out]."""
    out = {}
    for name in _STEM:
      out[f"{name}_conv.kernel"] = getattr(self, f"{name}_kernel")
      out.update(bn_weights(f"{name}_bn", getattr(self, f"{name}_bn")))
    for block in self.blocks:
      p = block.name
      for conv in ("conv1", "conv2", "conv3") + (("downsample",) if block.has_downsample else ()):
        out[f"{p}.{conv}{'_conv' if conv == 'downsample' else ''}.kernel"] = getattr(
            block, f"{conv}_kernel")
      for bn in ("bn1", "bn2", "bn3") + (("downsample_bn",) if block.has_downsample else ()):
        out.update(bn_weights(f"{p}.{bn}", getattr(block, bn)))
    out["classifier.kernel"] = self.classifier_kernel
    out["classifier.bias"] = self.classifier_bias
    return out
