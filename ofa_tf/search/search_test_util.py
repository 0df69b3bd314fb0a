"""Synthetic accuracy functions for search tests (no trained supernet needed)."""

import dataclasses
import os
from typing import ClassVar

import numpy as np

from ofa_tf.search import accuracy_dataset as dataset
from ofa_tf.search.encoding import ArchEncoder
from ofa_tf.search_space import ElasticDim, SearchSpace, get_space, space_names


def linear_accuracy_fn(space, seed=0):
  """Returns (fn, weights): fn(genes) = 60 + features @ weights, larger subnets favoured."""
  encoder = ArchEncoder(space)
  rng = np.random.default_rng(seed)
  weights = rng.normal(0.0, 0.3, encoder.dim)
  # Bigger kernels, expand ratios and resolutions help on average (as in real nets).
  for offset, count in ((encoder.dim_offsets["ks"], len(space.kernel_sizes)),
                        (encoder.dim_offsets["e"], len(space.expand_ratios))):
    for b in range(space.num_blocks):
      weights[offset + b * count: offset + (b + 1) * count] += np.arange(count) * 0.5
  r_slice = slice(encoder.resolution_offset, encoder.resolution_offset + len(space.resolutions))
  weights[r_slice] += np.linspace(0, 3, len(space.resolutions))
  return (lambda genes: 60.0 + encoder.encode_genes(genes) @ weights), weights


def synthetic_evaluate(space):
  """A deterministic fake 'BN-recalibrate and evaluate': top-1 grows with MACs."""
  top = space.macs(space.max_config())

  def evaluate(config):
    macs = space.macs(config)
    return 0.5 + 0.4 * macs / top, 2.0 - macs / top
  return evaluate


def write_synthetic_dataset(workdir, num_subnets, space_name="ofa_mbv3_tiny"):
  """Writes `<workdir>/accuracy_dataset.jsonl` measured with `synthetic_evaluate`."""
  space = get_space(space_name)
  dataset.build_accuracy_dataset(space, synthetic_evaluate(space),
                                 os.path.join(workdir, dataset.DATASET_FILE),
                                 num_subnets=num_subnets, seed=0)
  return space


@dataclasses.dataclass(frozen=True)
class ResNet50LikeSpace(SearchSpace):
  """The elastic dimensions of OFA-ResNet50 (reference README) without its network: what the
  released ResNet50 encoding reads. Stage 0 is the input stem (no elastic blocks)."""
  family: ClassVar[str] = "resnet50_encoding_test"
  name: str = "ofa_resnet50"
  resolutions: tuple = (128, 144, 160, 176, 192, 224, 240, 256)

  def elastic_dims(self):
    return (ElasticDim("d", ((0, 2),) + ((0, 1, 2),) * 4, "stage", depth=True),
            ElasticDim.uniform("e", (0.2, 0.25, 0.35), 18, "block"),
            ElasticDim.uniform("w", (0, 1, 2), 6, "network"))

  def stage_blocks(self):
    return ((), tuple(range(0, 4)), tuple(range(4, 8)), tuple(range(8, 14)),
            tuple(range(14, 18)))

  def active_depth(self, stage, value):
    return 0 if stage == 0 else (2, 2, 4, 2)[stage - 1] + value


def resnet50_space():
  """The registered ofa_resnet50 space, or a stand-in of its dimensions while it is absent."""
  if "ofa_resnet50" in space_names():
    return get_space("ofa_resnet50")
  return ResNet50LikeSpace()
