"""The layers of a subnet and of a whole space, as lookup-table entries.

A subnet (`NetworkSpec`, any family) splits into the OFA lookup-table layers: its stem convs
(`Conv`; the ResNet stem's three convs and its `MaxPool`), one layer per block keyed by its
kind (`expanded_conv` for MBConv, block 0 included; `fused_conv` for fused MBConv; `bottleneck`
for ResNet), its head convs before pooling (`Conv_1`: MobileNetV3's final expand,
ProxylessNAS' feature mix), `AvgPool2D`, its head convs after pooling (`Conv_2`: MobileNetV3's
feature mix) and `Logits` (the classifier); the table names come from the spec's
`ConvSpec.table_name`. The key of a layer (see `ofa_tf.latency.lut`) fixes everything its
latency depends on; two layers with the same key are measured once.
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


def _mbconv_key(block: BlockSpec) -> str:
  return lut.block_key(block.input_size, block.in_channels, block.output_size,
                       block.out_channels, block.mid_channels, block.kernel_size, block.stride,
                       block.residual, block.use_se, block.activation == "hswish",
                       "fused_conv" if block.kind == "fused_mbconv" else "expanded_conv")


def _bottleneck_key(block: BlockSpec) -> str:
  return lut.bottleneck_key(block.input_size, block.in_channels, block.output_size,
                            block.out_channels, block.mid_channels, block.kernel_size,
                            block.stride, block.has_downsample)


_BLOCK_KEYS = {"mbconv": _mbconv_key, "fused_mbconv": _mbconv_key,
               "bottleneck": _bottleneck_key}


def block_layer(block: BlockSpec) -> LayerSpec:
  """The lookup-table layer of one block, keyed by its kind.

  Raises:
    ValueError: a block kind without a key format.
  """
  if block.kind not in _BLOCK_KEYS:
    raise ValueError(f"no latency-table key for block kind {block.kind!r}; known: "
                     f"{sorted(_BLOCK_KEYS)}")
  return LayerSpec("block", _BLOCK_KEYS[block.kind](block), block.input_size,
                   block.in_channels, block.out_channels, block)


def stem_pool_layer(spec: NetworkSpec) -> LayerSpec:
  """The stem's max pool (ResNet), on the last stem conv's output."""
  size, c = spec.stem[-1].output_size, spec.stem[-1].out_channels
  return LayerSpec("stem_pool", lut.conv_key("MaxPool", size, c, spec.stem_output_size, c),
                   size, c, c)


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
  pool = (stem_pool_layer(spec),) if spec.stem_pool else ()
  return (tuple(conv_layer(c) for c in spec.stem) + pool
          + tuple(block_layer(b) for b in spec.blocks) + head_layers(spec))


def _alternating(dim) -> list[tuple]:
  """Entry values of a stage- or network-scoped dimension such that every two adjacent entries
  take every pair of values: (a, b, a, b, ...) for each (a, b)."""
  out = []
  for a, b in itertools.product(dim.values, dim.values):
    values = tuple(a if i % 2 == 0 else b for i in range(dim.size))
    if all(v in entry for v, entry in zip(values, dim.choices)):
      out.append(values)
  return out


def covering_configs(space, resolution: int) -> Tuple[SubnetConfig, ...]:
  """Max-depth configs that together hold every layer the space can produce at `resolution`.

  One per combination of uniform values of the block-scoped dimensions (kernel x expand for
  the MBConv families) and alternating values of the other non-depth dimensions (OFA-ResNet's
  width groups: 9 patterns). Depth only drops blocks; a block's sizes depend on its own
  block-scoped values and on at most two adjacent entries of another dimension (the width
  groups it reads and writes), which the alternating patterns cover.
  """
  block_dims = [d for d in space.elastic_dims() if d.scope == "block"]
  other_dims = [d for d in space.elastic_dims() if d.scope != "block" and not d.depth]
  out = []
  for values in itertools.product(*[[(v,) for v in d.values] for d in block_dims]):
    base = space.extreme_config(True, resolution,
                                dict(zip([d.name for d in block_dims], values)))
    for patterns in itertools.product(*[_alternating(d) for d in other_dims]):
      out.append(space.validate(base.replace(
          **dict(zip([d.name for d in other_dims], patterns)))))
  return tuple(out)


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
