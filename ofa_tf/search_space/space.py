"""The OFA-MobileNetV3 search space as data (Cai et al., ICLR 2020, Sec. 3.1 and 4).

A `MobileNetV3Space` fixes everything that is not elastic (channel widths, strides,
activations, squeeze-excite placement, head widths) and lists the elastic choices: kernel
sizes, expand ratios, per-stage depths and input resolutions. A `SubnetConfig`
(`ofa_tf.search_space.subnet`) picks one value per elastic dimension.

Network layout (reference `OFAMobileNetV3`): stem 3x3/2 conv + BN + h-swish; block 0 = an
expand-1 3x3 MBConv (ReLU, no SE); `len(stages)` elastic stages of up to `max(depths)`
MBConv blocks; head 1x1 conv to `final_expand_width` + BN + h-swish, global average pool,
1x1 conv to `feature_mix_width` (no bias, no BN) + h-swish, dropout, classifier.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Callable

import numpy as np

ACTIVATIONS = ("relu", "hswish")


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
  """Rounds `value` to the nearest multiple of `divisor`, never down by more than 10%.

  The channel-rounding rule of MobileNetV2/V3 and of the reference OFA code.

  Args:
    value: the unrounded channel count.
    divisor: the multiple to round to.
    min_value: the smallest result allowed (defaults to `divisor`).

  Returns:
    The rounded channel count (int).
  """
  if min_value is None:
    min_value = divisor
  rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
  if rounded < 0.9 * value:
    rounded += divisor
  return int(rounded)


def _as_tuple(value: Any) -> tuple:
  return tuple(value) if isinstance(value, (list, tuple)) else (value,)


def _normalize_ratio(value: float) -> int | float:
  value = float(value)
  return int(value) if value.is_integer() else value


@dataclasses.dataclass(frozen=True)
class StageSpec:
  """One elastic stage: `max(depths)` MBConv blocks of the same output width.

  Attributes:
    width: output channels of every block of the stage.
    stride: stride of the first block (the others have stride 1).
    activation: "relu" or "hswish".
    use_se: whether the blocks have squeeze-excite.
  """
  width: int
  stride: int
  activation: str
  use_se: bool

  def __post_init__(self):
    if not isinstance(self.width, int) or self.width <= 0:
      raise ValueError(f"StageSpec.width must be a positive int, got {self.width!r}")
    if self.stride not in (1, 2):
      raise ValueError(f"StageSpec.stride must be 1 or 2, got {self.stride!r}")
    if self.activation not in ACTIVATIONS:
      raise ValueError(
          f"StageSpec.activation must be one of {ACTIVATIONS}, got {self.activation!r}")


@dataclasses.dataclass(frozen=True)
class MobileNetV3Space:
  """An OFA-MobileNetV3 search space.

  Attributes:
    name: registry name, stored in subnet JSON files to catch mismatched spaces.
    stem_width: output channels of the 3x3/2 stem conv.
    first_block_width: output channels of block 0 (expand 1, kernel 3, ReLU).
    stages: the elastic stages.
    final_expand_width: channels of the head's 1x1 conv (960 at width 1.0).
    feature_mix_width: channels of the head's second 1x1 conv (1280 at width 1.0).
    kernel_sizes: elastic depthwise kernel sizes, ascending odd ints (largest is stored).
    expand_ratios: elastic expand ratios, ascending.
    depths: elastic blocks per stage, ascending.
    resolutions: elastic input resolutions in pixels (square inputs), ascending.
    num_classes: classifier outputs.
    dropout_rate: dropout before the classifier.
    bn_epsilon: BatchNorm epsilon (1e-5 in the reference MobileNetV3).
    bn_momentum: BatchNorm momentum in the Keras convention (0.9 == PyTorch 0.1).
    se_reduction: squeeze-excite reduction (hidden = make_divisible(mid // 4, 8)).
    channel_divisor: divisor of `make_divisible` for middle and SE channels.
  """
  name: str
  stem_width: int
  first_block_width: int
  stages: tuple[StageSpec, ...]
  final_expand_width: int
  feature_mix_width: int
  kernel_sizes: tuple[int, ...] = (3, 5, 7)
  expand_ratios: tuple[int | float, ...] = (3, 4, 6)
  depths: tuple[int, ...] = (2, 3, 4)
  resolutions: tuple[int, ...] = tuple(range(128, 225, 4))
  num_classes: int = 1000
  dropout_rate: float = 0.1
  bn_epsilon: float = 1e-5
  bn_momentum: float = 0.9
  se_reduction: int = 4
  channel_divisor: int = 8

  def __post_init__(self):
    stages = tuple(s if isinstance(s, StageSpec) else StageSpec(**s) for s in self.stages)
    object.__setattr__(self, "stages", stages)
    object.__setattr__(self, "kernel_sizes", tuple(int(k) for k in _as_tuple(self.kernel_sizes)))
    object.__setattr__(self, "expand_ratios",
                       tuple(_normalize_ratio(e) for e in _as_tuple(self.expand_ratios)))
    object.__setattr__(self, "depths", tuple(int(d) for d in _as_tuple(self.depths)))
    object.__setattr__(self, "resolutions", tuple(int(r) for r in _as_tuple(self.resolutions)))
    if not stages:
      raise ValueError("MobileNetV3Space.stages must not be empty")
    for field in ("stem_width", "first_block_width", "final_expand_width", "feature_mix_width",
                  "num_classes"):
      value = getattr(self, field)
      if not isinstance(value, int) or value <= 0:
        raise ValueError(f"MobileNetV3Space.{field} must be a positive int, got {value!r}")
    for field in ("kernel_sizes", "expand_ratios", "depths", "resolutions"):
      values = getattr(self, field)
      if not values or list(values) != sorted(set(values)) or min(values) <= 0:
        raise ValueError(
            f"MobileNetV3Space.{field} must be non-empty, positive, strictly ascending; "
            f"got {values}")
    if any(k % 2 == 0 for k in self.kernel_sizes):
      raise ValueError(f"MobileNetV3Space.kernel_sizes must be odd, got {self.kernel_sizes}")
    if not 0.0 <= self.dropout_rate < 1.0:
      raise ValueError(f"MobileNetV3Space.dropout_rate must be in [0, 1), got {self.dropout_rate}")

  # --- Derived sizes -------------------------------------------------------------------------

  @property
  def max_depth(self) -> int:
    return max(self.depths)

  @property
  def num_stages(self) -> int:
    return len(self.stages)

  @property
  def num_blocks(self) -> int:
    """Number of elastic blocks (block 0 excluded): `num_stages * max(depths)`."""
    return self.num_stages * self.max_depth

  @property
  def max_kernel_size(self) -> int:
    return max(self.kernel_sizes)

  def stage_of_block(self, block: int) -> int:
    """Stage index of elastic block `block` (0-based, block 0 of the network excluded)."""
    return block // self.max_depth

  def block_input_channels(self, block: int) -> int:
    """Input channels of elastic block `block` (fixed: only middle channels are elastic)."""
    stage = self.stage_of_block(block)
    if block % self.max_depth:
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

  # --- Subnets (implemented in subnet.py / network_spec.py / counters.py) ---------------------

  def validate(self, config):
    """Returns `config` if valid for this space; raises ValueError naming the bad field."""
    from ofa_tf.search_space import subnet
    return subnet.validate(self, config)

  def sample(self, rng: np.random.Generator, **restrictions):
    """A random SubnetConfig drawn with `rng`; see `subnet.sample` for the restrictions."""
    from ofa_tf.search_space import subnet
    return subnet.sample(self, rng, **restrictions)

  def min_config(self, r: int | None = None):
    """The smallest subnet (min k, e, d) at resolution `r` (default: the smallest)."""
    from ofa_tf.search_space import subnet
    return subnet.extreme_config(self, largest=False, r=r)

  def max_config(self, r: int | None = None):
    """The largest subnet (max k, e, d) at resolution `r` (default: the largest)."""
    from ofa_tf.search_space import subnet
    return subnet.extreme_config(self, largest=True, r=r)

  def network_spec(self, config):
    """The static `NetworkSpec` (stem, blocks, head) of `config`."""
    from ofa_tf.search_space import static_spec
    return static_spec.network_spec(self, config)

  def macs(self, config) -> int:
    """Multiply-accumulates of subnet `config` for one image."""
    from ofa_tf.search_space import counters
    return counters.count_macs(self.network_spec(config))

  def params(self, config, include_bn_statistics: bool = False) -> int:
    """Parameter count of subnet `config` (see `counters` for the BN convention)."""
    from ofa_tf.search_space import counters
    return counters.count_params(self.network_spec(config), include_bn_statistics)

  # --- Serialization -------------------------------------------------------------------------

  def to_dict(self) -> dict[str, Any]:
    return dataclasses.asdict(self)

  def to_json(self) -> str:
    return json.dumps(self.to_dict(), indent=1)

  @classmethod
  def from_dict(cls, data: dict[str, Any]) -> "MobileNetV3Space":
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
      raise ValueError(f"unknown MobileNetV3Space fields {unknown}; known: {sorted(known)}")
    return cls(**data)

  @classmethod
  def from_json(cls, text: str) -> "MobileNetV3Space":
    return cls.from_dict(json.loads(text))

  def replace(self, **changes) -> "MobileNetV3Space":
    return dataclasses.replace(self, **changes)


# --- Presets (named factories) -----------------------------------------------------------------

_BASE_WIDTHS = (16, 16, 24, 40, 80, 112, 160, 960, 1280)
_STRIDES = (2, 2, 2, 1, 2)
_ACTIVATIONS = ("relu", "relu", "hswish", "hswish", "hswish")
_USE_SE = (False, True, False, True, True)


def ofa_mobilenet_v3(width_mult: float = 1.0, num_classes: int = 1000) -> MobileNetV3Space:
  """The space of the released `ofa_mbv3_d234_e346_k357_w{width_mult}` supernets.

  Widths 16 | 16 | 24 40 80 112 160 | 960 1280 times `width_mult`, rounded with
  `make_divisible(., 8)`; k in {3, 5, 7}, e in {3, 4, 6}, d in {2, 3, 4}, r in 128..224 step 4.
  """
  widths = [make_divisible(w * width_mult, 8) for w in _BASE_WIDTHS]
  stages = tuple(StageSpec(w, s, a, se) for w, s, a, se in
                 zip(widths[2:7], _STRIDES, _ACTIVATIONS, _USE_SE))
  tag = f"{width_mult:.1f}"
  return MobileNetV3Space(
      name=f"ofa_mbv3_w{tag}", stem_width=widths[0], first_block_width=widths[1],
      stages=stages, final_expand_width=widths[7], feature_mix_width=widths[8],
      num_classes=num_classes)


def tiny_mobilenet_v3(num_classes: int = 10) -> MobileNetV3Space:
  """A small space for 8x8 digits upsampled to 24-32 px (used by the demo and the tests).

  Same block types as the full space (ReLU and h-swish stages, SE, residuals, a stride-1
  stage whose first block changes width) at about 1/10 of the widths and 3 stages.
  """
  stages = (StageSpec(16, 1, "relu", False), StageSpec(24, 2, "hswish", True),
            StageSpec(32, 2, "hswish", True))
  return MobileNetV3Space(
      name="ofa_mbv3_tiny", stem_width=16, first_block_width=16, stages=stages,
      final_expand_width=128, feature_mix_width=256, resolutions=(24, 28, 32),
      num_classes=num_classes, dropout_rate=0.1)


_SPACES: dict[str, Callable[[], MobileNetV3Space]] = {
    "ofa_mbv3_w1.0": lambda: ofa_mobilenet_v3(1.0),
    "ofa_mbv3_w1.2": lambda: ofa_mobilenet_v3(1.2),
    "ofa_mbv3_tiny": tiny_mobilenet_v3,
}


def get_space(name: str) -> MobileNetV3Space:
  """Returns the registered space `name` (e.g. "ofa_mbv3_w1.0", "ofa_mbv3_w1.2").

  Raises:
    ValueError: for an unknown name (the message lists the known ones).
  """
  if name not in _SPACES:
    raise ValueError(f"unknown search space {name!r}; known: {sorted(_SPACES)}")
  return _SPACES[name]()


def space_names() -> tuple[str, ...]:
  return tuple(sorted(_SPACES))


def _rng_choice(rng: np.random.Generator, values: tuple) -> Any:
  return values[int(rng.integers(len(values)))]
