"""OFA-EdgeTPU: an elastic space whose every subnet maps fully onto the Coral EdgeTPU.

Built from MobileNet-EdgeTPU (Gupta & Akin, "Accelerator-aware Neural Network Design using
AutoML", arXiv:2003.02838, 2020; TF Model Garden
`official/projects/edgetpu/vision/modeling/mobilenet_edgetpu_v1_model_blocks.py`,
`ModelConfig.blocks`, below "Model Garden") with OFA's elastic dimensions (Cai et al., ICLR
2020, Sec. 3.2). Only ops the EdgeTPU compiler maps: ReLU (no h-swish: google-coral/edgetpu
#272), no squeeze-excite, kernels of at most 5, and a head of 1x1 conv, average pool and
fully connected layer.

Layout (numbers for `ofa_edgetpu()`, each from Model Garden):
  * stem: 3x3/2 conv to 32 + BN + ReLU (`stem_base_filters` 32, `activation` 'relu');
  * block 0: expand-1 3x3 depthwise MBConv to 16 + ReLU (fixed). Model Garden's first block
    (32 -> 16, expand 1, `conv_type='no_depthwise'`) is the 1x1 projection alone; the 3x3
    depthwise (+3.6M MACs at 224 px) keeps OFA's fixed block 0, which every MBConv family and
    the generic latency/efficiency tables treat as the fixed base;
  * `fused_stages` fused-MBConv stages (`static_spec` kind "fused_mbconv": 3x3 conv to the
    expanded width + BN + ReLU, 1x1 project + BN): widths 32 and 48, stride 2 each
    (Model Garden's `fused_conv=True` / `'no_depthwise'` blocks 16->32 and 32->48, both 3x3);
  * MBConv stages: 96 s2, 96 s1, 160 s2, 192 s1 (the last one block: Model Garden's single
    160->192 block); Model Garden's kernels there are 3, 3, 5, 3;
  * head: 1x1 conv to 1280 + BN + ReLU (`top_base_filters`), global average pool, dropout
    0.1 (`dropout_rate`), classifier; BN epsilon 1e-3 (`bn_epsilon`).

Elastic dimensions (one `SubnetConfig` layout with the MBConv families: `ks`, `e` per block,
`d` per stage, `r`):
  * `ks`: {3, 5} in the MBConv stages (Model Garden uses both); fused blocks run the smallest
    kernel size, 3, only (their `ks` entry allows one value, so no phase makes it elastic);
  * `e`: {4, 6, 8} everywhere: 4 and 8 are the two expand ratios of MobileNet-EdgeTPU (4 in
    the repeated blocks, 8 in the first block of each stage), 6 lies between them;
  * `d`: {2, 3, 4} blocks per stage (Model Garden: 4 per stage, 1 + 3 repeats; the last
    stage has one block and ignores the value);
  * `r`: 128..224 step 4 (OFA; Model Garden trains at 224).
Deviations from Model Garden: the residual rule is OFA's (every stride-1 block with equal
widths adds its input; Model Garden drops the one of its 96 -> 96 expand-8 block), and BN
momentum is OFA's 0.9 (Keras convention) instead of 0.99.
"""

from __future__ import annotations

import dataclasses
import functools

from ofa_tf.search_space.family import ElasticDim, SearchSpace
from ofa_tf.search_space.mbconv_space import MBConvSpace, StageSpec
from ofa_tf.search_space.static_spec import NetworkSpec
from ofa_tf.search_space.subnet import SubnetConfig


@dataclasses.dataclass(frozen=True)
class EdgeTpuSpace(MBConvSpace, SearchSpace):
  """An OFA-EdgeTPU search space (see the module docstring).

  Attributes:
    name: registry name.
    stem_width: output channels of the 3x3/2 stem conv (ReLU).
    first_block_width: output channels of block 0 (expand 1, depthwise 3x3, ReLU).
    stages: the elastic stages, ReLU without SE; the first `fused_stages` are fused-MBConv.
    fused_stages: how many leading stages are fused-MBConv (0 <= fused_stages <= stages).
    feature_mix_width: channels of the head's 1x1 conv before pooling (1280).
    kernel_sizes: elastic depthwise kernel sizes of the MBConv stages; fused blocks run the
      smallest one.
    expand_ratios, depths, resolutions: the elastic choices.
    num_classes: classifier outputs.
    dropout_rate: dropout before the classifier.
    bn_epsilon: BatchNorm epsilon (1e-3, Model Garden's).
    bn_momentum: BatchNorm momentum in the Keras convention.
    se_reduction, channel_divisor: as in `MobileNetV3Space` (no SE is used).

  Raises (construction):
    ValueError: naming the field: a stage that is not ReLU or has SE, `fused_stages` out of
      range, or the checks shared by the MBConv spaces.
  """
  family = "edgetpu"
  block0_activation = "relu"
  stem_activation = "relu"

  name: str
  stem_width: int
  first_block_width: int
  stages: tuple[StageSpec, ...]
  fused_stages: int
  feature_mix_width: int
  kernel_sizes: tuple[int, ...] = (3, 5)
  expand_ratios: tuple[int | float, ...] = (4, 6, 8)
  depths: tuple[int, ...] = (2, 3, 4)
  resolutions: tuple[int, ...] = tuple(range(128, 225, 4))
  num_classes: int = 1000
  dropout_rate: float = 0.1
  bn_epsilon: float = 1e-3
  bn_momentum: float = 0.9
  se_reduction: int = 4
  channel_divisor: int = 8

  def __post_init__(self):
    # ReLU without SE: what the EdgeTPU maps.
    self.normalize_and_check(("feature_mix_width",), stage_activation="relu")
    if (not isinstance(self.fused_stages, int)
        or not 0 <= self.fused_stages <= len(self.stages)):
      raise ValueError(f"EdgeTpuSpace.fused_stages must be an int in [0, {len(self.stages)}], "
                       f"got {self.fused_stages!r}")

  # --- Family protocol ---------------------------------------------------------------------------

  @functools.cache
  def elastic_dims(self) -> tuple[ElasticDim, ...]:
    fused = (self.kernel_sizes[0],)
    ks = tuple(fused if self.block_kind(b) == "fused_mbconv" else self.kernel_sizes
               for b in range(self.num_blocks))
    return (ElasticDim("ks", ks, "block", label="kernel"),
            ElasticDim.uniform("e", self.expand_ratios, self.num_blocks, "block",
                               label="expand"),
            ElasticDim.uniform("d", self.depths, len(self.stages), "stage", depth=True,
                               label="depth"))

  def block_kind(self, block: int) -> str:
    return "fused_mbconv" if self.stage_of_block(block) < self.fused_stages else "mbconv"

  def network_spec(self, config: SubnetConfig) -> NetworkSpec:
    """The static layers of subnet `config` (ReLU, 1x1 conv to `feature_mix_width` before
    pooling).

    Raises:
      ValueError: `config` is not valid for this space.
    """
    return self.feature_mix_network_spec(config, "relu")


# --- Presets (named factories) -----------------------------------------------------------------

# Model Garden `ModelConfig`: stem_base_filters 32; blocks' output_filters 16 | 32 48 | 96 96
# 160 192; strides 1 | 2 2 | 2 1 2 1; top_base_filters 1280.
_STAGES = ((32, 2), (48, 2), (96, 2), (96, 1), (160, 2), (192, 1))


def ofa_edgetpu(num_classes: int = 1000) -> EdgeTpuSpace:
  """The full-size OFA-EdgeTPU space (MobileNet-EdgeTPU v1 widths and strides): 21 elastic
  blocks, the first 8 fused. Model Garden's layout is one of its subnets (depth 4, expand 8
  in stage-first blocks and 4 elsewhere, its kernels, 224 px: 994.3M MACs, 4.09M parameters
  by this project's counters, 1000 classes; `edgetpu_test`)."""
  stages = tuple(StageSpec(w, s, "relu", False, max_blocks=1 if i == 5 else None)
                 for i, (w, s) in enumerate(_STAGES))
  return EdgeTpuSpace(name="ofa_edgetpu", stem_width=32, first_block_width=16, stages=stages,
                      fused_stages=2, feature_mix_width=1280, num_classes=num_classes)


def tiny_edgetpu(num_classes: int = 10) -> EdgeTpuSpace:
  """A small OFA-EdgeTPU space for the digits (16-32 px): two fused stages (one stride 1,
  one stride 2) then two MBConv stages (the last a single block), about 1/6 of the widths."""
  stages = (StageSpec(16, 1, "relu", False), StageSpec(24, 2, "relu", False),
            StageSpec(32, 2, "relu", False), StageSpec(48, 1, "relu", False, max_blocks=1))
  return EdgeTpuSpace(
      name="ofa_edgetpu_tiny", stem_width=16, first_block_width=8, stages=stages,
      fused_stages=2, feature_mix_width=128, resolutions=(16, 20, 24, 28, 32),
      num_classes=num_classes, dropout_rate=0.1)
