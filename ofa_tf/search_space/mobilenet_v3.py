"""The OFA-MobileNetV3 family's search space as data (Cai et al., ICLR 2020, Sec. 3.1 and 4).

A `MobileNetV3Space` fixes everything that is not elastic (channel widths, strides,
activations, squeeze-excite placement, head widths) and lists the elastic choices: kernel
sizes, expand ratios, per-stage depths and input resolutions. A `SubnetConfig`
(`ofa_tf.search_space.subnet`) picks `ks`/`e` per elastic block, `d` per stage and `r`.

Network layout (reference `OFAMobileNetV3`): stem 3x3/2 conv + BN + h-swish; block 0 = an
expand-1 3x3 MBConv (ReLU, no SE); `len(stages)` elastic stages of up to `max(depths)`
MBConv blocks; head 1x1 conv to `final_expand_width` + BN + h-swish, global average pool,
1x1 conv to `feature_mix_width` (no bias, no BN) + h-swish, dropout, classifier.
"""

from __future__ import annotations

import dataclasses

from ofa_tf.search_space.family import SearchSpace, make_divisible
from ofa_tf.search_space.mbconv_space import MBConvSpace, StageSpec
from ofa_tf.search_space.static_spec import ConvSpec, NetworkSpec
from ofa_tf.search_space.subnet import SubnetConfig


@dataclasses.dataclass(frozen=True)
class MobileNetV3Space(MBConvSpace, SearchSpace):
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
  family = "mobilenet_v3"
  block0_activation = "relu"
  stem_activation = "hswish"

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
    self.normalize_and_check(("final_expand_width", "feature_mix_width"))

  def network_spec(self, config: SubnetConfig) -> NetworkSpec:
    """The static layers of subnet `config`.

    Raises:
      ValueError: `config` is not valid for this space.
    """
    return self.assemble_network_spec(
        config, self.stem_activation,
        lambda last, size: (ConvSpec("final_expand", last, self.final_expand_width, 1, 1, size,
                                     activation="hswish", table_name="Conv_1"),),
        (ConvSpec("feature_mix", self.final_expand_width, self.feature_mix_width, 1, 1, 1,
                  batch_norm=False, activation="hswish", table_name="Conv_2"),))


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

