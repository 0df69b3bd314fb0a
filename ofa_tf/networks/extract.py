"""Subnet extraction: cut one subnet out of a supernet of any family as a plain tf_keras model.

The result is the static Functional model of `static_network.build_static_model` (stock
layers, fixed input (r, r, 3), stable names) with the supernet's weights sliced to the active
channels and kernels (reference `get_active_subnet`); the family's supernet says which weight
goes to which layer (`supernet.static_weights(spec)`). Its outputs equal the supernet's for the
same config.
"""

from __future__ import annotations

import tf_keras

from ofa_tf.networks.static_network import build_static_model
from ofa_tf.search_space import SubnetConfig


def extract_subnet(supernet: tf_keras.Model, config: SubnetConfig, *,
                   batch_size: int | None = None, name: str = "ofa_subnet") -> tf_keras.Model:
  """Returns subnet `config` of `supernet` as a standalone Functional model.

  Args:
    supernet: the trained supernet (any registered family; see `networks.build_supernet`).
    config: the subnet (validated against `supernet.space`).
    batch_size: fixed batch size of the input (1 for EdgeTPU), or None.
    name: model name.

  Returns:
    tf_keras.Model: float32 [B, r, r, 3] NHWC images -> [B, num_classes] logits, with the
    supernet's BN moving statistics (recalibrate them first for a shrunk subnet).

  Raises:
    ValueError: `config` is not valid for the supernet's space, or the family's weights do
      not cover every layer of the static model (a family bug, named).
  """
  spec = supernet.space.network_spec(config)
  model = build_static_model(spec, batch_size=batch_size, name=name)
  weights = supernet.static_weights(spec)
  missing = [l.name for l in model.layers if l.weights and l.name not in weights]
  if missing:
    raise ValueError(f"{type(supernet).__name__}.static_weights gives no weights for layers "
                     f"{missing}")
  for layer_name, values in weights.items():
    model.get_layer(layer_name).set_weights(values)
  return model
