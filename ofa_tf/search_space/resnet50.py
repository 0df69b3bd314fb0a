"""The OFA-ResNet50 family's search space (reference `OFAResNets`; facts in
../shared/reference/README.md, section "ofa_resnet50_seed0.*").

Layout (ResNet-D): an input stem of three 3x3 convs (BN, ReLU each): `stem1` stride 2,
`stem2` stride 1 with a residual add (skippable: the stem's depth entry), `stem3` stride 1;
then a 3x3/2 max pool (padding 1); then stages of bottleneck blocks (1x1 -> 3x3/stride ->
1x1, BN after each, ReLU after the first two and after the add); the first block of a stage
has an avg-pool (kernel = stride) + 1x1 conv + BN shortcut, the others the identity; global
average pool; classifier. Every conv pads k // 2 symmetrically and has no bias.

Config `{'d': [1 + S], 'e': [B], 'w': [2 + S], 'r': r}` (S stages, B elastic blocks; 5, 18
and 6 for the released space):
  * `d[0]` in {min, max} of `depths`: max keeps the stem's middle conv, min skips it;
    `d[1 + s]` in `depths`: blocks of stage s over its base depth (uneven: 2 2 4 2);
  * `e[b]` in `expand_ratios`: middle channels `make_divisible(round(out * e), 8)` of the
    block's *active* output width;
  * `w[i]` indexes `width_mults`: `w[0]` the stem's first and middle conv
    (`make_divisible(make_divisible(stem_width * m, 8) // 2, 8)` channels), `w[1]` its last conv
    (`make_divisible(stem_width * m, 8)`), `w[2 + s]` stage s (`make_divisible(width * m, 8)`).
Every conv uses the first active output channels of its largest weight (widths are channel
slices, as expand ratios are).

Progressive shrinking (`shrinking_order`): full -> depth {1, 2} -> depth {0, 1, 2} -> expand
{0.25, 0.35} -> expand all -> width {0.8, 1.0} -> width all. Depth first because skipping the
last blocks of a stage changes no shared weight's shape; expand next because it shrinks only
the inside of a block (its interface and the residual stream stay); width last because it
shrinks every conv's input and output, the residual streams and the stem, which disturbs the
most shared weights. Expand and width phases start with channel re-organization (middle
channels, and then the width groups, sorted by importance within the bands already trained).
"""

from __future__ import annotations

import dataclasses
import functools

from ofa_tf.search_space.family import ElasticDim, SearchSpace, ascending_choices, make_divisible
from ofa_tf.search_space.static_spec import BlockSpec, ConvSpec, NetworkSpec, conv_output_size
from ofa_tf.search_space.subnet import SubnetConfig

_DIVISOR = 8


@dataclasses.dataclass(frozen=True)
class ResNetSpace(SearchSpace):
  """An OFA-ResNet search space (ResNet-D bottleneck blocks).

  Attributes:
    name: registry name.
    stem_width: base channels of the stem's last conv (64); its first two convs have about half.
    stage_widths: base output channels of each stage (256 512 1024 2048).
    base_depths: blocks every subnet runs in each stage (2 2 4 2); a stage has
      `base_depth + max(depths)` blocks.
    stage_strides: stride of each stage's first block (1 2 2 2).
    expand_ratios: elastic middle-channel ratios of the output width (0.2 0.25 0.35).
    depths: elastic extra blocks per stage (0 1 2); the stem entry takes min or max.
    width_mults: width multipliers that `w` indexes (0.65 0.8 1.0).
    resolutions: input resolutions in pixels.
    num_classes: classifier outputs.
    dropout_rate: dropout before the classifier.
    bn_epsilon: BatchNorm epsilon (1e-5).
    bn_momentum: BatchNorm momentum in the Keras convention (0.9 == PyTorch 0.1).
    kernel_size: the middle conv's kernel (3).
  """
  family = "resnet50"

  name: str
  stem_width: int
  stage_widths: tuple[int, ...]
  base_depths: tuple[int, ...]
  stage_strides: tuple[int, ...]
  expand_ratios: tuple[float, ...] = (0.2, 0.25, 0.35)
  depths: tuple[int, ...] = (0, 1, 2)
  width_mults: tuple[float, ...] = (0.65, 0.8, 1.0)
  resolutions: tuple[int, ...] = tuple(range(128, 225, 16))
  num_classes: int = 1000
  dropout_rate: float = 0.0
  bn_epsilon: float = 1e-5
  bn_momentum: float = 0.9
  kernel_size: int = 3

  def __post_init__(self):
    cls = type(self).__name__
    for field in ("expand_ratios", "width_mults", "resolutions"):
      object.__setattr__(self, field, ascending_choices(cls, field, getattr(self, field)))
    depths = tuple(int(v) for v in self.depths)
    if not depths or list(depths) != sorted(set(depths)) or depths[0] < 0:
      raise ValueError(f"{cls}.depths must be non-empty, >= 0, strictly ascending; "
                       f"got {self.depths}")
    object.__setattr__(self, "depths", depths)
    for field in ("stage_widths", "base_depths", "stage_strides"):
      object.__setattr__(self, field, tuple(getattr(self, field)))
    for field in ("stem_width", "num_classes", "kernel_size"):
      value = getattr(self, field)
      if not isinstance(value, int) or value <= 0:
        raise ValueError(f"{cls}.{field} must be a positive int, got {value!r}")
    if any(not isinstance(w, int) or w <= 0 for w in self.stage_widths):
      raise ValueError(f"{cls}.stage_widths must be positive ints, got {self.stage_widths}")
    if not self.stage_widths or len({len(self.stage_widths), len(self.base_depths),
                                     len(self.stage_strides)}) != 1:
      raise ValueError(f"{cls}.stage_widths, base_depths and stage_strides must be non-empty "
                       f"and of equal length, got {self.stage_widths}, {self.base_depths}, "
                       f"{self.stage_strides}")
    if any(not isinstance(d, int) or d < 1 for d in self.base_depths):
      raise ValueError(f"{cls}.base_depths must be ints >= 1, got {self.base_depths}")
    if any(s not in (1, 2) for s in self.stage_strides):
      raise ValueError(f"{cls}.stage_strides must be 1 or 2, got {self.stage_strides}")
    if self.kernel_size % 2 == 0:
      raise ValueError(f"{cls}.kernel_size must be odd, got {self.kernel_size}")
    if not 0.0 <= self.dropout_rate < 1.0:
      raise ValueError(f"{cls}.dropout_rate must be in [0, 1), got {self.dropout_rate}")

  # --- Family protocol -------------------------------------------------------------------------

  @functools.cache
  def elastic_dims(self) -> tuple[ElasticDim, ...]:
    stem_depths = (min(self.depths), max(self.depths))
    depth_choices = (tuple(sorted(set(stem_depths))),) + (self.depths,) * self.num_stages
    widths = tuple(range(len(self.width_mults)))
    return (ElasticDim("d", depth_choices, "stage", depth=True, label="depth"),
            ElasticDim.uniform("e", self.expand_ratios, self.num_blocks, "block",
                               label="expand"),
            ElasticDim.uniform("w", widths, 2 + self.num_stages, "stage", label="width"))

  @functools.cache
  def stage_blocks(self) -> tuple[tuple[int, ...], ...]:
    """Stage 0 is the input stem (no elastic block); stage 1 + s holds stage s's blocks."""
    out, start = [()], 0
    for base in self.base_depths:
      count = base + max(self.depths)
      out.append(tuple(range(start, start + count)))
      start += count
    return tuple(out)

  def active_depth(self, stage: int, value: int) -> int:
    return 0 if stage == 0 else self.base_depths[stage - 1] + int(value)

  def shrinking_order(self):
    """Full -> depth x2 -> expand x2 -> width x2 (the module docstring says why)."""
    ds, es = self.depths, self.expand_ratios
    ws = tuple(range(len(self.width_mults)))
    return (("full", {}), ("depth_1", {"d": ds[-2:]}), ("depth_2", {"d": ds}),
            ("expand_1", {"d": ds, "e": es[-2:]}), ("expand_2", {"d": ds, "e": es}),
            ("width_1", {"d": ds, "e": es, "w": ws[-2:]}),
            ("width_2", {"d": ds, "e": es, "w": ws}))

  reorganize_dims = ("e", "w")

  def block_cost_entries(self, block: int) -> tuple[tuple[str, int], ...]:
    """A block depends on its expand ratio and the width groups it reads and writes."""
    g_in, g_out = self.block_groups(block)
    return (("e", block), ("w", g_in), ("w", g_out))

  def base_cost_entries(self) -> tuple[tuple[str, int], ...]:
    """The stem depends on its depth entry and first two width groups; the classifier on the
    last stage's width."""
    return (("d", 0), ("w", 0), ("w", 1), ("w", 1 + self.num_stages))

  # --- Geometry --------------------------------------------------------------------------------

  @property
  def num_stages(self) -> int:
    return len(self.stage_widths)

  def stem_widths(self, w_index: int) -> int:
    """Channels of the stem's first and middle conv at width index `w_index`."""
    full = make_divisible(self.stem_width * self.width_mults[w_index], _DIVISOR)
    return make_divisible(full // 2, _DIVISOR)

  def stem_out_width(self, w_index: int) -> int:
    """Channels of the stem's last conv at width index `w_index`."""
    return make_divisible(self.stem_width * self.width_mults[w_index], _DIVISOR)

  def stage_width(self, stage: int, w_index: int) -> int:
    """Output channels of stage `stage` (0-based) at width index `w_index`."""
    return make_divisible(self.stage_widths[stage] * self.width_mults[w_index], _DIVISOR)

  def width_groups(self, w: tuple[int, ...]) -> tuple[int, ...]:
    """Channels of every width group (one per `w` entry) for width indices `w`."""
    return ((self.stem_widths(w[0]), self.stem_out_width(w[1]))
            + tuple(self.stage_width(s, w[2 + s]) for s in range(self.num_stages)))

  def mid_channels(self, out_channels: int, expand_ratio: float) -> int:
    """Middle channels of a bottleneck: `make_divisible(round(out * e), 8)` (reference)."""
    return make_divisible(round(out_channels * expand_ratio), _DIVISOR)

  def bottleneck_stage(self, block: int) -> int:
    """Bottleneck stage (0-based, the stem excluded) of elastic block `block`."""
    return self.block_stage()[block] - 1

  def block_stride(self, block: int) -> int:
    stage = self.bottleneck_stage(block)
    return self.stage_strides[stage] if self.block_position()[block] == 0 else 1

  def block_groups(self, block: int) -> tuple[int, int]:
    """(input, output) width-group indices (`w` entries) of elastic block `block`."""
    stage = self.bottleneck_stage(block)
    return (1 + stage if self.block_position()[block] == 0 else 2 + stage), 2 + stage

  def max_mid_channels(self, block: int) -> int:
    out = self.stage_width(self.bottleneck_stage(block), len(self.width_mults) - 1)
    return self.mid_channels(out, max(self.expand_ratios))

  def keeps_stem_residual(self, config: SubnetConfig) -> bool:
    """Whether `config` runs the stem's skippable middle conv (`d[0]` at its largest)."""
    return config.d[0] == max(self.depths)

  # --- Static spec -----------------------------------------------------------------------------

  def network_spec(self, config: SubnetConfig) -> NetworkSpec:
    """The static layers of subnet `config`.

    Raises:
      ValueError: `config` is not valid for this space.
    """
    self.validate(config)
    groups = self.width_groups(config.w)
    size = conv_output_size(config.r, 2)
    stem = [ConvSpec("stem1", 3, groups[0], 3, 2, config.r, activation="relu",
                     table_name="StemConv1")]
    if self.keeps_stem_residual(config):
      stem.append(ConvSpec("stem2", groups[0], groups[0], 3, 1, size, activation="relu",
                           residual=True, table_name="StemResConv"))
    stem.append(ConvSpec("stem3", groups[0], groups[1], 3, 1, size, activation="relu",
                         table_name="StemConv3"))
    size = conv_output_size(size, 2)  # The max pool.
    blocks = []
    for b in self.active_blocks(config):
      g_in, g_out = self.block_groups(b)
      out = groups[g_out]
      blocks.append(BlockSpec(
          index=b, in_channels=groups[g_in], out_channels=out,
          mid_channels=self.mid_channels(out, config.e[b]), kernel_size=self.kernel_size,
          stride=self.block_stride(b), activation="relu", se_channels=0, input_size=size,
          has_expand=True, residual=self.block_position()[b] > 0, kind="bottleneck"))
      size = blocks[-1].output_size
    return NetworkSpec(
        resolution=config.r, stem=tuple(stem), blocks=tuple(blocks), head_before_pool=(),
        head_after_pool=(), num_classes=self.num_classes, dropout_rate=self.dropout_rate,
        bn_epsilon=self.bn_epsilon, bn_momentum=self.bn_momentum, stem_pool=True)


# --- Presets (named factories) -----------------------------------------------------------------

def ofa_resnet50(num_classes: int = 1000) -> ResNetSpace:
  """The space of the released `ofa_resnet50` supernet (reference `OFAResNets` with
  depth_list [0, 1, 2], expand_ratio_list [0.2, 0.25, 0.35], width_mult_list [0.65, 0.8,
  1.0]): stem 64, stages 256 512 1024 2048 of 4 4 6 4 blocks (base 2 2 4 2), strides
  1 2 2 2, resolutions 128-224 step 16."""
  return ResNetSpace(name="ofa_resnet50", stem_width=64, stage_widths=(256, 512, 1024, 2048),
                     base_depths=(2, 2, 4, 2), stage_strides=(1, 2, 2, 2),
                     num_classes=num_classes)


def tiny_resnet50(num_classes: int = 10) -> ResNetSpace:
  """A small OFA-ResNet for the digits (16-32 px): the same layout and elastic choices,
  3 stages of widths 40 80 120 with uneven base depths 1 2 1 (3 4 3 blocks)."""
  return ResNetSpace(name="ofa_resnet50_tiny", stem_width=32, stage_widths=(40, 80, 120),
                     base_depths=(1, 2, 1), stage_strides=(1, 2, 2),
                     resolutions=(16, 20, 24, 28, 32), num_classes=num_classes)
