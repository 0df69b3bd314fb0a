"""The OFA-ProxylessNAS family's search space (reference `OFAProxylessNASNets`; facts in
../shared/reference/README.md).

Layout: stem 3x3/2 conv + BN + ReLU6; block 0, an expand-1 3x3 MBConv whose output width
differs from the stem's (no shortcut); 6 elastic stages of MBConv blocks (ReLU6, no SE), the
last one a single block (its depth value is clipped to 1); head: 1x1 "feature mix" conv + BN
+ ReLU6 *before* global average pooling, dropout, classifier. BatchNorm epsilon 1e-3. Config
`{'ks': [21], 'e': [21], 'd': [6], 'r': r}` for the released w1.3 space.
"""

from __future__ import annotations

import dataclasses

from ofa_tf.search_space.family import SearchSpace, make_divisible
from ofa_tf.search_space.mbconv_space import MBConvSpace, StageSpec
from ofa_tf.search_space.static_spec import NetworkSpec
from ofa_tf.search_space.subnet import SubnetConfig


@dataclasses.dataclass(frozen=True)
class ProxylessSpace(MBConvSpace, SearchSpace):
  """An OFA-ProxylessNAS search space.

  Attributes:
    name: registry name.
    stem_width: output channels of the 3x3/2 stem conv (ReLU6).
    first_block_width: output channels of block 0 (expand 1, kernel 3, ReLU6).
    stages: the elastic stages (ReLU6, no SE; the last with `max_blocks=1`).
    feature_mix_width: channels of the head's 1x1 conv before pooling (1664 at w1.3).
    kernel_sizes, expand_ratios, depths, resolutions: the elastic choices.
    num_classes: classifier outputs.
    dropout_rate: dropout before the classifier.
    bn_epsilon: BatchNorm epsilon (1e-3, the reference default of this family).
    bn_momentum: BatchNorm momentum in the Keras convention (0.9 == PyTorch 0.1).
    se_reduction, channel_divisor: as in `MobileNetV3Space` (no SE is used).
  """
  family = "proxyless"
  block0_activation = "relu6"

  name: str
  stem_width: int
  first_block_width: int
  stages: tuple[StageSpec, ...]
  feature_mix_width: int
  kernel_sizes: tuple[int, ...] = (3, 5, 7)
  expand_ratios: tuple[int | float, ...] = (3, 4, 6)
  depths: tuple[int, ...] = (2, 3, 4)
  resolutions: tuple[int, ...] = tuple(range(128, 225, 4))
  num_classes: int = 1000
  dropout_rate: float = 0.1
  bn_epsilon: float = 1e-3
  bn_momentum: float = 0.9
  se_reduction: int = 4
  channel_divisor: int = 8

  def __post_init__(self):
    self.normalize_and_check(("feature_mix_width",), stage_activation="relu6")

  @property
  def stem_activation(self) -> str:
    return "relu6"

  def network_spec(self, config: SubnetConfig) -> NetworkSpec:
    """The static layers of subnet `config` (ReLU6, feature mix before pooling).

    Raises:
      ValueError: `config` is not valid for this space.
    """
    return self.feature_mix_network_spec(config, "relu6")


# --- Presets (named factories) -----------------------------------------------------------------

_BASE_WIDTHS = (32, 16, 24, 40, 80, 96, 192, 320, 1280)
_STRIDES = (2, 2, 2, 1, 2, 1)


def ofa_proxyless(width_mult: float = 1.3, num_classes: int = 1000) -> ProxylessSpace:
  """The space of the released `ofa_proxyless_d234_e346_k357_w{width_mult}` supernet.

  Widths 32 | 16 | 24 40 80 96 192 320 | 1280 times `width_mult` with `make_divisible(., 8)`
  (40 | 24 | 32 56 104 128 248 416 | 1664 at w1.3); strides 2 2 2 1 2 1; 4 blocks per stage
  except the last (1): 21 elastic blocks.
  """
  widths = [make_divisible(w * width_mult, 8) for w in _BASE_WIDTHS]
  stages = tuple(StageSpec(w, s, "relu6", False, max_blocks=1 if i == 5 else None)
                 for i, (w, s) in enumerate(zip(widths[2:8], _STRIDES)))
  return ProxylessSpace(
      name=f"ofa_proxyless_w{width_mult:.1f}", stem_width=widths[0],
      first_block_width=widths[1], stages=stages, feature_mix_width=widths[8],
      num_classes=num_classes)


def tiny_proxyless(num_classes: int = 10) -> ProxylessSpace:
  """A small ProxylessNAS space for the digits (16-32 px): 3 stages (the last a single
  block, as in the full space), ReLU6, feature mix before pooling, about 1/10 of the widths."""
  stages = (StageSpec(16, 1, "relu6", False), StageSpec(24, 2, "relu6", False),
            StageSpec(32, 2, "relu6", False, max_blocks=1))
  return ProxylessSpace(
      name="ofa_proxyless_tiny", stem_width=16, first_block_width=8, stages=stages,
      feature_mix_width=128, resolutions=(16, 20, 24, 28, 32), num_classes=num_classes,
      dropout_rate=0.1)
