"""The layers of a subnet and of a whole space, as lookup-table entries.

A subnet (`NetworkSpec`, any family) splits into the OFA lookup-table layers: its stem convs
(`Conv`), one `expanded_conv` per block (block 0 included; `fused_conv` for a fused-MBConv
block), its head convs before pooling (`Conv_1`: MobileNetV3's final expand, ProxylessNAS'
feature mix), `AvgPool2D`, its head convs after pooling (`Conv_2`: MobileNetV3's feature mix)
and `Logits` (the classifier); the table names come from the spec's `ConvSpec.table_name`.
The key of a layer (see `ofa_tf.latency.lut`) fixes everything its latency depends on; two
layers with the same key are measured once.
"""

import dataclasses
import itertools
from typing import Dict, Iterable, Optional, Tuple

from ofa_tf.latency import lut
from ofa_tf.search_space import BlockSpec, ConvSpec, NetworkSpec, SubnetConfig


@dataclasses.dataclass(frozen=True)
class LayerSpec:
  """One measurable layer.

  Attributes:
    kind: "block", "pool", "logits", or the name of a stem/head conv ("stem",
      "final_expand", "feature_mix").
    key: OFA-format lookup-table key.
    input_hw: spatial input size H (== W).
    in_channels: input channels.
    out_channels: output channels (classes for 'logits').
    block: the BlockSpec for kind 'block', else None.
    conv: the ConvSpec of a stem or head conv, else None.
  """
  kind: str
  key: str
  input_hw: int
  in_channels: int
  out_channels: int
  block: Optional[BlockSpec] = None
  conv: Optional[ConvSpec] = None


# Table name of each block kind (another kind is keyed by its kind's name).
_BLOCK_TABLE_NAMES = {"mbconv": "expanded_conv", "fused_mbconv": "fused_conv"}


def block_layer(block: BlockSpec) -> LayerSpec:
  key = lut.block_key(block.input_size, block.in_channels, block.output_size,
                      block.out_channels, block.mid_channels, block.kernel_size, block.stride,
                      block.residual, block.use_se, block.activation == "hswish",
                      _BLOCK_TABLE_NAMES.get(block.kind, block.kind))
  return LayerSpec("block", key, block.input_size, block.in_channels, block.out_channels, block)


def conv_layer(conv: ConvSpec) -> LayerSpec:
  key = lut.conv_key(conv.table_name, conv.input_size, conv.in_channels, conv.output_size,
                     conv.out_channels)
  return LayerSpec(conv.name, key, conv.input_size, conv.in_channels, conv.out_channels,
                   conv=conv)


def stem_layer(spec: NetworkSpec) -> LayerSpec:
  """The first stem conv (the MBConv families have one)."""
  return conv_layer(spec.stem[0])


def head_layers(spec: NetworkSpec) -> Tuple[LayerSpec, ...]:
  """Head convs before pooling, the pool, head convs after pooling, the classifier."""
  size, c_pool = spec.final_size, spec.pooled_channels
  c_in = spec.classifier_in_channels
  return (tuple(conv_layer(c) for c in spec.head_before_pool)
          + (LayerSpec("pool", lut.conv_key("AvgPool2D", size, c_pool, 1, c_pool), size, c_pool,
                       c_pool),)
          + tuple(conv_layer(c) for c in spec.head_after_pool)
          + (LayerSpec("logits", lut.logits_key(c_in, spec.num_classes), 1, c_in,
                       spec.num_classes),))


def network_layers(spec: NetworkSpec) -> Tuple[LayerSpec, ...]:
  """The lookup-table layers of one subnet, in execution order."""
  return (tuple(conv_layer(c) for c in spec.stem) + tuple(block_layer(b) for b in spec.blocks)
          + head_layers(spec))


def covering_configs(space, resolution: int) -> Tuple[SubnetConfig, ...]:
  """Max-depth configs with uniform values of the block-scoped dimensions, one per
  combination (kernel x expand for the MBConv families): together they hold every layer the
  space can produce at `resolution` (depth only drops blocks; spatial sizes and channel counts
  of a block do not depend on other blocks' choices)."""
  block_dims = [d for d in space.elastic_dims() if d.scope == "block"]
  return tuple(
      space.extreme_config(True, resolution, dict(zip([d.name for d in block_dims], values)))
      for values in itertools.product(*[[(v,) for v in d.values] for d in block_dims]))


def space_layers(space, resolutions: Iterable[int]) -> Dict[int, Tuple[LayerSpec, ...]]:
  """Every distinct layer of `space` at each resolution: {resolution: layers sorted by key}.

  For OFA-MobileNetV3 w1.0 that is 96 layers per resolution (stem, block 0, 5 stages x
  {first, other} block x 3 kernels x 3 expand ratios, 4 head layers).
  """
  out = {}
  for r in resolutions:
    found = {}
    for config in covering_configs(space, r):
      for layer in network_layers(space.network_spec(config)):
        found.setdefault(layer.key, layer)
    out[int(r)] = tuple(found[k] for k in sorted(found))
  return out
