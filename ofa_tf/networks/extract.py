"""Subnet extraction: cut one subnet out of the supernet as a plain tf_keras model.

The result is the static Functional model of `static_mobilenet_v3.build_static_model` (stock
layers, fixed input (r, r, 3), stable names) with the supernet's weights sliced to the active
channels and the depthwise kernels transformed to their elastic size (reference
`get_active_subnet`). Its outputs equal the supernet's for the same config.
"""

from __future__ import annotations

import numpy as np
import tf_keras

from ofa_tf.networks.ofa_mobilenet_v3 import OFAMobileNetV3
from ofa_tf.networks.static_mobilenet_v3 import build_static_model
from ofa_tf.search_space import SubnetConfig


def _bn(supernet_bn, n=None) -> list[np.ndarray]:
  return [v.numpy()[:n] for v in (supernet_bn.gamma, supernet_bn.beta, supernet_bn.moving_mean,
                                  supernet_bn.moving_variance)]


def extract_subnet(supernet: OFAMobileNetV3, config: SubnetConfig, *,
                   batch_size: int | None = None, name: str = "ofa_subnet") -> tf_keras.Model:
  """Returns subnet `config` of `supernet` as a standalone Functional model.

  Args:
    supernet: the trained supernet.
    config: the subnet (validated against `supernet.space`).
    batch_size: fixed batch size of the input (1 for EdgeTPU), or None.
    name: model name.

  Returns:
    tf_keras.Model: float32 [B, r, r, 3] NHWC images -> [B, num_classes] logits, with the
    supernet's BN moving statistics (recalibrate them first for a shrunk subnet).

  Raises:
    ValueError: `config` is not valid for the supernet's space.
  """
  spec = supernet.space.network_spec(config)
  model = build_static_model(spec, batch_size=batch_size, name=name)
  model.get_layer("stem_conv").set_weights([supernet.stem_kernel.numpy()])
  model.get_layer("stem_bn").set_weights(_bn(supernet.stem_bn))
  sources = [supernet.block0] + [supernet.blocks[b.index - 1] for b in spec.blocks[1:]]
  for block, source in zip(spec.blocks, sources):
    p, mid, se = f"block{block.index}_", block.mid_channels, block.se_channels
    if block.has_expand:
      model.get_layer(p + "expand_conv").set_weights([source.expand_kernel.numpy()[..., :mid]])
      model.get_layer(p + "expand_bn").set_weights(_bn(source.expand_bn, mid))
    kernel = source.depthwise.kernel_for(block.kernel_size).numpy()[:, :, :mid]
    model.get_layer(p + "depthwise").set_weights([kernel])
    model.get_layer(p + "depthwise_bn").set_weights(_bn(source.depthwise_bn, mid))
    if block.use_se:
      model.get_layer(p + "se_reduce").set_weights([
          source.se_reduce_kernel.numpy()[:, :, :mid, :se], source.se_reduce_bias.numpy()[:se]])
      model.get_layer(p + "se_expand").set_weights([
          source.se_expand_kernel.numpy()[:, :, :se, :mid], source.se_expand_bias.numpy()[:mid]])
    model.get_layer(p + "project_conv").set_weights([source.project_kernel.numpy()[:, :, :mid]])
    model.get_layer(p + "project_bn").set_weights(_bn(source.project_bn))
  model.get_layer("final_expand_conv").set_weights([supernet.final_expand_kernel.numpy()])
  model.get_layer("final_expand_bn").set_weights(_bn(supernet.final_expand_bn))
  model.get_layer("feature_mix_conv").set_weights([supernet.feature_mix_kernel.numpy()])
  model.get_layer("classifier").set_weights([supernet.classifier_kernel.numpy(),
                                             supernet.classifier_bias.numpy()])
  return model
