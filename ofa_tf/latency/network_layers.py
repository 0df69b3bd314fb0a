"""The layers of a subnet and of a whole space, as lookup-table entries.

A subnet (`NetworkSpec`) splits into the OFA lookup-table layers: stem `Conv`, one
`expanded_conv` per block (block 0 included), and the head `Conv_1` (final expand 1x1 conv +
BN + h-swish), `AvgPool2D`, `Conv_2` (feature mix 1x1 conv + h-swish) and `Logits` (the
classifier). The key of a layer (see `ofa_tf.latency.lut`) fixes everything its latency
depends on; two layers with the same key are measured once.
"""

import dataclasses
from typing import Dict, Iterable, Optional, Tuple

from ofa_tf.latency import lut
from ofa_tf.search_space import BlockSpec, NetworkSpec, SubnetConfig

KINDS = ("stem", "block", "final_expand", "pool", "feature_mix", "logits")


@dataclasses.dataclass(frozen=True)
class LayerSpec:
  """One measurable layer.

  Attributes:
    kind: one of KINDS.
    key: OFA-format lookup-table key.
    input_hw: spatial input size H (== W).
    in_channels: input channels.
    out_channels: output channels (classes for 'logits').
    block: the BlockSpec for kind 'block', else None.
  """
  kind: str
  key: str
  input_hw: int
  in_channels: int
  out_channels: int
  block: Optional[BlockSpec] = None


def block_layer(block: BlockSpec) -> LayerSpec:
  key = lut.block_key(block.input_size, block.in_channels, block.output_size,
                      block.out_channels, block.mid_channels, block.kernel_size, block.stride,
                      block.residual, block.use_se, block.activation == "hswish")
  return LayerSpec("block", key, block.input_size, block.in_channels, block.out_channels, block)


def stem_layer(spec: NetworkSpec) -> LayerSpec:
  r, s = spec.resolution, spec.stem_output_size
  return LayerSpec("stem", lut.conv_key("Conv", r, 3, s, spec.stem_channels), r, 3,
                   spec.stem_channels)


def head_layers(spec: NetworkSpec) -> Tuple[LayerSpec, ...]:
  size, c_in = spec.final_size, spec.last_block_channels
  c_exp, c_mix = spec.final_expand_channels, spec.feature_mix_channels
  return (
      LayerSpec("final_expand", lut.conv_key("Conv_1", size, c_in, size, c_exp), size, c_in,
                c_exp),
      LayerSpec("pool", lut.conv_key("AvgPool2D", size, c_exp, 1, c_exp), size, c_exp, c_exp),
      LayerSpec("feature_mix", lut.conv_key("Conv_2", 1, c_exp, 1, c_mix), 1, c_exp, c_mix),
      LayerSpec("logits", lut.logits_key(c_mix, spec.num_classes), 1, c_mix, spec.num_classes),
  )


def network_layers(spec: NetworkSpec) -> Tuple[LayerSpec, ...]:
  """The lookup-table layers of one subnet, in execution order."""
  return (stem_layer(spec),) + tuple(block_layer(b) for b in spec.blocks) + head_layers(spec)


def covering_configs(space, resolution: int) -> Tuple[SubnetConfig, ...]:
  """Max-depth configs with uniform (k, e), one per pair: together they hold every layer
  the space can produce at `resolution` (depth only drops blocks; spatial sizes and channel
  counts of a block do not depend on other blocks' choices)."""
  n, stages = space.num_blocks, space.num_stages
  return tuple(SubnetConfig(ks=(k,) * n, e=(e,) * n, d=(space.max_depth,) * stages,
                            r=resolution, space=space.name)
               for k in space.kernel_sizes for e in space.expand_ratios)


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
