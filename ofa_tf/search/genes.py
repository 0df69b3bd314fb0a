"""Subnet configs as integer gene arrays, for batched search operations.

A population of N subnets of a `MobileNetV3Space` is an int64 array `genes` of shape
[N, 2 * B + S + 1] holding choice *indices* (not values):

  columns [0, B)          kernel size index of each elastic block (into `space.kernel_sizes`)
  columns [B, 2B)         expand ratio index of each elastic block (into `space.expand_ratios`)
  columns [2B, 2B + S)    depth index of each stage (into `space.depths`)
  column  2B + S          resolution index (into `space.resolutions`)

with B = `space.num_blocks` and S = `space.num_stages`. Sampling, mutation and crossover
act on whole arrays at once and always produce valid configs (every gene stays inside its
choice list), following the reference evolution finder (Cai et al., ICLR 2020, Sec. 3.4):
mutation resamples each block/stage gene with probability `mutate_prob` and the resolution
with `resolution_mutate_prob`; crossover takes every gene from either parent with p = 0.5.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ofa_tf.search_space import MobileNetV3Space, SubnetConfig


class GeneCodec:
  """Converts between `SubnetConfig`s and gene arrays of one space, and varies gene arrays.

  Args:
    space: the search space.
  """

  def __init__(self, space: MobileNetV3Space):
    self.space = space
    b, s = space.num_blocks, space.num_stages
    self.num_blocks, self.num_stages = b, s
    self.ks_cols = slice(0, b)
    self.e_cols = slice(b, 2 * b)
    self.d_cols = slice(2 * b, 2 * b + s)
    self.r_col = 2 * b + s
    self.num_genes = 2 * b + s + 1
    self.num_choices = np.array([len(space.kernel_sizes)] * b + [len(space.expand_ratios)] * b +
                                [len(space.depths)] * s + [len(space.resolutions)], np.int64)
    self._ks = np.array(space.kernel_sizes, np.int64)
    self._e = np.array(space.expand_ratios, np.float64)
    self._d = np.array(space.depths, np.int64)
    self._r = np.array(space.resolutions, np.int64)
    # Position of each block inside its stage, to derive the active-block mask from depths.
    self._block_pos = np.arange(b) % space.max_depth
    self._block_stage = np.arange(b) // space.max_depth

  # --- Conversion ------------------------------------------------------------------------------

  def encode(self, configs: Sequence[SubnetConfig]) -> np.ndarray:
    """Gene array [N, num_genes] int64 of `configs` (validated against the space).

    Raises:
      ValueError: a config is not valid for the space.
    """
    space = self.space
    index = {f: {v: i for i, v in enumerate(vals)} for f, vals in (
        ("ks", space.kernel_sizes), ("e", space.expand_ratios), ("d", space.depths),
        ("r", space.resolutions))}
    genes = np.empty((len(configs), self.num_genes), np.int64)
    for n, config in enumerate(configs):
      space.validate(config)
      genes[n, self.ks_cols] = [index["ks"][k] for k in config.ks]
      genes[n, self.e_cols] = [index["e"][e] for e in config.e]
      genes[n, self.d_cols] = [index["d"][d] for d in config.d]
      genes[n, self.r_col] = index["r"][config.r]
    return genes

  def decode(self, genes: np.ndarray) -> list[SubnetConfig]:
    """The `SubnetConfig`s (tagged with the space name) of a gene array [N, num_genes]."""
    genes = self._check(genes)
    ks = self._ks[genes[:, self.ks_cols]].tolist()
    e = self._e[genes[:, self.e_cols]].tolist()
    d = self._d[genes[:, self.d_cols]].tolist()
    r = self._r[genes[:, self.r_col]].tolist()
    return [SubnetConfig(ks=ks[n], e=e[n], d=d[n], r=r[n], space=self.space.name)
            for n in range(len(genes))]

  def resolutions(self, genes: np.ndarray) -> np.ndarray:
    """Input resolution in pixels of each subnet, int64 [N]."""
    return self._r[genes[:, self.r_col]]

  def active_mask(self, genes: np.ndarray) -> np.ndarray:
    """Bool [N, B]: whether each elastic block runs (its position < its stage's depth)."""
    depths = self._d[genes[:, self.d_cols]]
    return self._block_pos[None, :] < depths[:, self._block_stage]

  def canonical(self, genes: np.ndarray) -> np.ndarray:
    """Genes with the kernel/expand genes of inactive blocks set to index 0 (the smallest).

    Two rows equal after `canonical` describe the same network (`SubnetConfig.canonical`).
    """
    genes = self._check(genes).copy()
    inactive = ~self.active_mask(genes)
    for cols in (self.ks_cols, self.e_cols):
      view = genes[:, cols]  # Basic slicing: a view, so the assignment writes through.
      view[inactive] = 0
    return genes

  def min_genes(self, n: int = 1) -> np.ndarray:
    """[n, num_genes] genes of the smallest subnet at the smallest resolution (all zeros)."""
    return np.zeros((n, self.num_genes), np.int64)

  def max_genes(self, n: int = 1) -> np.ndarray:
    """[n, num_genes] genes of the largest subnet at the largest resolution."""
    return np.tile(self.num_choices - 1, (n, 1))

  # --- Variation -------------------------------------------------------------------------------

  def sample(self, rng: np.random.Generator, n: int, shrink: float = 0.0) -> np.ndarray:
    """Draws n subnets, each gene uniform over its choices (reference `sample_active_subnet`).

    Args:
      rng: seeded generator.
      n: number of subnets.
      shrink: probability in [0, 1] that a gene is set to its smallest choice instead;
        0 = uniform sampling, 1 = always the smallest subnet at the smallest resolution.
        Used to find feasible subnets under tight budgets in a bounded number of rounds.

    Returns:
      int64 genes [n, num_genes].
    """
    if not 0.0 <= shrink <= 1.0:
      raise ValueError(f"shrink must be in [0, 1], got {shrink}")
    genes = self._uniform(rng, (n, self.num_genes))
    if shrink > 0.0:
      genes[rng.random((n, self.num_genes)) < shrink] = 0
    return genes

  def mutate(self, rng: np.random.Generator, parents: np.ndarray, mutate_prob: float,
             resolution_mutate_prob: float) -> np.ndarray:
    """Resamples each gene of each row with its probability (reference `mutate_sample`).

    Args:
      rng: seeded generator.
      parents: int64 genes [N, num_genes].
      mutate_prob: probability that a kernel, expand or depth gene is resampled.
      resolution_mutate_prob: probability that the resolution gene is resampled.

    Returns:
      New int64 genes [N, num_genes]; a resampled gene may draw its old value.
    """
    parents = self._check(parents)
    probs = np.full(self.num_genes, mutate_prob)
    probs[self.r_col] = resolution_mutate_prob
    mask = rng.random(parents.shape) < probs
    return np.where(mask, self._uniform(rng, parents.shape), parents)

  def crossover(self, rng: np.random.Generator, parents_a: np.ndarray,
                parents_b: np.ndarray) -> np.ndarray:
    """Takes each gene from `parents_a` or `parents_b` with p = 0.5 (reference crossover)."""
    parents_a, parents_b = self._check(parents_a), self._check(parents_b)
    return np.where(rng.random(parents_a.shape) < 0.5, parents_a, parents_b)

  def _uniform(self, rng: np.random.Generator, shape) -> np.ndarray:
    return (rng.random(shape) * self.num_choices).astype(np.int64)

  def _check(self, genes: np.ndarray) -> np.ndarray:
    genes = np.asarray(genes)
    if genes.ndim != 2 or genes.shape[1] != self.num_genes:
      raise ValueError(f"genes must have shape [N, {self.num_genes}] for space "
                       f"{self.space.name}, got {genes.shape}")
    return genes
