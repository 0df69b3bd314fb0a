"""What the MBConv families share (OFA-MobileNetV3, OFA-ProxylessNAS): stages of inverted
residual blocks with elastic kernel size `ks` and expand ratio `e` per block and depth `d`
per stage (Cai et al., ICLR 2020, Sec. 3.2; reference `DynamicMBConvLayer`).

Layout: stem 3x3/2 conv, block 0 (expand 1, kernel 3, fixed), then `len(stages)` stages of
up to `max(depths)` elastic blocks (a stage may have fewer: `StageSpec.max_blocks`), then the
family's head. Stage s runs its first `min(d[s], blocks of s)` blocks.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Callable

from ofa_tf.search_space.family import ElasticDim, ascending_choices, make_divisible
from ofa_tf.search_space.static_spec import (ACTIVATIONS, BlockSpec, ConvSpec, NetworkSpec,
                                             conv_output_size)
from ofa_tf.search_space.subnet import SubnetConfig


@dataclasses.dataclass(frozen=True)
class StageSpec:
  """One elastic stage of MBConv blocks of the same output width.

  Attributes:
    width: output channels of every block of the stage.
    stride: stride of the first block (the others have stride 1).
    activation: "relu", "relu6" or "hswish".
    use_se: whether the blocks have squeeze-excite.
    max_blocks: blocks of this stage; None = the space's largest depth (ProxylessNAS' last
      stage has 1: its depth value is clipped to it).
  """
  width: int
  stride: int
  activation: str
  use_se: bool
  max_blocks: int | None = None

  def __post_init__(self):
    if not isinstance(self.width, int) or self.width <= 0:
      raise ValueError(f"StageSpec.width must be a positive int, got {self.width!r}")
    if self.stride not in (1, 2):
      raise ValueError(f"StageSpec.stride must be 1 or 2, got {self.stride!r}")
    if self.activation not in ACTIVATIONS:
      raise ValueError(
          f"StageSpec.activation must be one of {ACTIVATIONS}, got {self.activation!r}")
    if self.max_blocks is not None and (not isinstance(self.max_blocks, int)
                                        or self.max_blocks < 1):
      raise ValueError(f"StageSpec.max_blocks must be a positive int or None, "
                       f"got {self.max_blocks!r}")


def stages_from_json(stages) -> tuple[StageSpec, ...]:
  return tuple(s if isinstance(s, StageSpec) else StageSpec(**s) for s in stages)


class MBConvSpace:
  """Mixin of the MBConv families. Needs the dataclass fields `stem_width`,
  `first_block_width`, `stages`, `kernel_sizes`, `expand_ratios`, `depths`, `resolutions`,
  `channel_divisor`, `se_reduction` and the class attributes `block0_activation`."""

  block0_activation = "relu"

  # --- Family protocol ---------------------------------------------------------------------------

  @functools.cache
  def elastic_dims(self) -> tuple[ElasticDim, ...]:
    n = self.num_blocks
    return (ElasticDim.uniform("ks", self.kernel_sizes, n, "block", label="kernel"),
            ElasticDim.uniform("e", self.expand_ratios, n, "block", label="expand"),
            ElasticDim.uniform("d", self.depths, len(self.stages), "stage", depth=True,
                               label="depth"))

  @functools.cache
  def stage_blocks(self) -> tuple[tuple[int, ...], ...]:
    out, start = [], 0
    for stage in self.stages:
      count = stage.max_blocks or max(self.depths)
      out.append(tuple(range(start, start + count)))
      start += count
    return tuple(out)

  def active_depth(self, stage: int, value: int) -> int:
    return min(int(value), len(self.stage_blocks()[stage]))

  def shrinking_order(self):
    """Full network -> elastic kernel -> depth in two steps -> expand in two steps (paper)."""
    ks, es, ds = self.kernel_sizes, self.expand_ratios, self.depths
    return (("full", {}), ("kernel", {"ks": ks}),
            ("depth_1", {"ks": ks, "d": ds[-2:]}), ("depth_2", {"ks": ks, "d": ds}),
            ("expand_1", {"ks": ks, "d": ds, "e": es[-2:]}),
            ("expand_2", {"ks": ks, "d": ds, "e": es}))

  reorganize_dims = ("e",)

  # --- Block geometry ----------------------------------------------------------------------------

  @property
  def max_depth(self) -> int:
    return max(self.depths)

  @property
  def num_stages(self) -> int:
    return len(self.stages)

  @property
  def max_kernel_size(self) -> int:
    return max(self.kernel_sizes)

  def stage_of_block(self, block: int) -> int:
    """Stage index of elastic block `block` (0-based, block 0 of the network excluded)."""
    return self.block_stage()[block]

  def is_first_of_stage(self, block: int) -> bool:
    return self.block_position()[block] == 0

  def block_stride(self, block: int) -> int:
    return self.stages[self.stage_of_block(block)].stride if self.is_first_of_stage(block) else 1

  def block_input_channels(self, block: int) -> int:
    """Input channels of elastic block `block` (fixed: only middle channels are elastic)."""
    stage = self.stage_of_block(block)
    if not self.is_first_of_stage(block):
      return self.stages[stage].width
    return self.stages[stage - 1].width if stage else self.first_block_width

  def mid_channels(self, in_channels: int, expand_ratio: float) -> int:
    """Middle channels of an MBConv block: `make_divisible(round(in * e), 8)` (reference)."""
    return make_divisible(round(in_channels * expand_ratio), self.channel_divisor)

  def se_channels(self, mid_channels: int) -> int:
    """SE hidden channels: `make_divisible(mid // 4, 8)` (reference DynamicSE)."""
    return make_divisible(mid_channels // self.se_reduction, self.channel_divisor)

  def max_mid_channels(self, block: int) -> int:
    return self.mid_channels(self.block_input_channels(block), max(self.expand_ratios))

  def block_kind(self, block: int) -> str:
    """`BlockSpec.kind` of elastic block `block` ("mbconv"; OFA-EdgeTPU's first stages are
    "fused_mbconv")."""
    return "mbconv"

  def block_se_channels(self, block: int, mid: int) -> int:
    return self.se_channels(mid) if self.stages[self.stage_of_block(block)].use_se else 0

  # --- Static spec pieces ------------------------------------------------------------------------

  def stem_spec(self, r: int, activation: str) -> ConvSpec:
    return ConvSpec("stem", 3, self.stem_width, 3, 2, r, activation=activation,
                    table_name="Conv")

  def mbconv_blocks(self, config: SubnetConfig) -> list[BlockSpec]:
    """Block 0 and the active elastic blocks of `config` (validated by the caller)."""
    size = conv_output_size(config.r, 2)
    blocks = [BlockSpec(
        index=0, in_channels=self.stem_width, out_channels=self.first_block_width,
        mid_channels=self.stem_width, kernel_size=3, stride=1,
        activation=self.block0_activation, se_channels=0, input_size=size, has_expand=False,
        residual=self.stem_width == self.first_block_width)]
    for b in self.active_blocks(config):
      stage = self.stages[self.stage_of_block(b)]
      in_channels = self.block_input_channels(b)
      stride = self.block_stride(b)
      mid = self.mid_channels(in_channels, config.e[b])
      blocks.append(BlockSpec(
          index=b + 1, in_channels=in_channels, out_channels=stage.width, mid_channels=mid,
          kernel_size=config.ks[b], stride=stride, activation=stage.activation,
          se_channels=self.block_se_channels(b, mid), input_size=size, has_expand=True,
          residual=stride == 1 and in_channels == stage.width, kind=self.block_kind(b)))
      size = blocks[-1].output_size
    return blocks

  def assemble_network_spec(self, config: SubnetConfig, stem_activation: str,
                            head_before_pool: Callable[[int, int], tuple[ConvSpec, ...]],
                            head_after_pool: tuple[ConvSpec, ...] = ()) -> NetworkSpec:
    """Stem, block 0 and the active blocks of `config`, then the family's head:
    `head_before_pool(last_block_channels, final_size)` and `head_after_pool`.

    Raises:
      ValueError: `config` is not valid for this space.
    """
    self.validate(config)
    blocks = self.mbconv_blocks(config)
    return NetworkSpec(
        resolution=config.r, stem=(self.stem_spec(config.r, stem_activation),),
        blocks=tuple(blocks),
        head_before_pool=head_before_pool(blocks[-1].out_channels, blocks[-1].output_size),
        head_after_pool=head_after_pool, num_classes=self.num_classes,
        dropout_rate=self.dropout_rate, bn_epsilon=self.bn_epsilon, bn_momentum=self.bn_momentum)

  def feature_mix_network_spec(self, config: SubnetConfig, activation: str) -> NetworkSpec:
    """A network whose head is one 1x1 "feature mix" conv (`feature_mix_width`) + BN + act
    before pooling, then the classifier (ProxylessNAS, OFA-EdgeTPU)."""
    return self.assemble_network_spec(config, activation, lambda last, size: (ConvSpec(
        "feature_mix", last, self.feature_mix_width, 1, 1, size, activation=activation,
        table_name="Conv_1"),))

  def normalize_and_check(self, positive_fields: tuple[str, ...],
                          stage_activation: str | None = None):
    """`__post_init__` of the MBConv spaces: stages from JSON, ascending elastic choices,
    positive widths, odd kernels, dropout in [0, 1), and, given `stage_activation`, stages of
    that activation without SE; ValueError naming the field."""
    cls = type(self).__name__
    object.__setattr__(self, "stages", stages_from_json(self.stages))
    if stage_activation is not None:
      bad = [s for s in self.stages if s.activation != stage_activation or s.use_se]
      if bad:
        name = {"relu": "ReLU", "relu6": "ReLU6"}.get(stage_activation, stage_activation)
        raise ValueError(f"{cls}.stages must use {name} without SE, got {bad}")
    for field in ("kernel_sizes", "expand_ratios", "depths", "resolutions"):
      object.__setattr__(self, field, ascending_choices(cls, field, getattr(self, field)))
    for field in positive_fields + ("stem_width", "first_block_width", "num_classes"):
      value = getattr(self, field)
      if not isinstance(value, int) or value <= 0:
        raise ValueError(f"{cls}.{field} must be a positive int, got {value!r}")
    if not self.stages:
      raise ValueError(f"{cls}.stages must not be empty")
    if any(k % 2 == 0 for k in self.kernel_sizes):
      raise ValueError(f"{cls}.kernel_sizes must be odd, got {self.kernel_sizes}")
    if not 0.0 <= self.dropout_rate < 1.0:
      raise ValueError(f"{cls}.dropout_rate must be in [0, 1), got {self.dropout_rate}")
