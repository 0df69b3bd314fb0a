"""Synthetic accuracy functions for search tests (no trained supernet needed)."""

import os

import numpy as np

from ofa_tf.search import accuracy_dataset as dataset
from ofa_tf.search.encoding import ArchEncoder
from ofa_tf.search_space import get_space


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


def resnet50_space():
  """The registered ofa_resnet50 space (what the released ResNet50 encoding reads)."""
  return get_space("ofa_resnet50")
