"""Subnet configs as integer gene arrays, for batched search operations.

A population of N subnets of a space is an int64 array `genes` of shape [N, G + 1] holding
choice *indices* (not values): one column per entry of each elastic dimension, in the order
the family declares them (`space.elastic_dims()`), then the resolution index. For
OFA-MobileNetV3 (dimensions ks, e per block, d per stage) that is

  columns [0, B)          kernel size index of each elastic block
  columns [B, 2B)         expand ratio index of each elastic block
  columns [2B, 2B + S)    depth index of each stage
  column  2B + S          resolution index (into `space.resolutions`)

with B elastic blocks and S stages. Nothing here knows a family: the columns, their choice
counts, the active-block mask and the canonical form all come from the family's declared
dimensions. Sampling, mutation and crossover act on whole arrays at once and always produce
valid configs (every gene stays inside its choice list), following the reference evolution
finder (Cai et al., ICLR 2020, Sec. 3.4): mutation resamples each gene with probability
`mutate_prob` and the resolution with `resolution_mutate_prob`; crossover takes every gene
from either parent with p = 0.5.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ofa_tf.search_space import SearchSpace, SubnetConfig


class GeneCodec:
  """Converts between `SubnetConfig`s and gene arrays of one space, and varies gene arrays.

  Args:
    space: the search space.
  """

  def __init__(self, space: SearchSpace):
    self.space = space
    self.dims = space.elastic_dims()
    self.dim_cols, start = {}, 0
    for d in self.dims:
      self.dim_cols[d.name] = slice(start, start + d.size)
      start += d.size
    self.r_col = start
    self.num_genes = start + 1
    entries = [entry for d in self.dims for entry in d.choices] + [space.resolutions]
    self.num_choices = np.array([len(e) for e in entries], np.int64)
    # values[c, i]: value of choice i of column c (padded with the last choice).
    width = int(self.num_choices.max())
    self._values = np.array([list(e) + [e[-1]] * (width - len(e)) for e in entries], np.float64)
    self._int_dims = {d.name for d in self.dims if all(isinstance(v, int) for v in d.values)}
    self.num_blocks = space.num_blocks
    self._block_stage = np.array(space.block_stage(), np.int64)
    self._block_pos = np.array(space.block_position(), np.int64)
    depth = space.depth_dim
    self._depth_cols = self.dim_cols[depth.name]
    # active[s, i]: blocks of stage s that run for choice i of the stage's depth entry.
    self._active_depth = np.zeros((depth.size, width), np.int64)
    for s, entry in enumerate(depth.choices):
      for i, value in enumerate(entry):
        self._active_depth[s, i] = space.active_depth(s, value)
    self._block_cols = [self.dim_cols[d.name] for d in self.dims if d.scope == "block"]

  def cols(self, name: str) -> slice:
    """The gene columns of elastic dimension `name`."""
    if name not in self.dim_cols:
      raise ValueError(f"space {self.space.name} has no elastic dimension {name!r}; "
                       f"it has {list(self.dim_cols)}")
    return self.dim_cols[name]

  # --- Conversion ------------------------------------------------------------------------------

  def encode(self, configs: Sequence[SubnetConfig]) -> np.ndarray:
    """Gene array [N, num_genes] int64 of `configs` (validated against the space).

    Raises:
      ValueError: a config is not valid for the space.
    """
    index = [{v: i for i, v in enumerate(entry)} for d in self.dims for entry in d.choices]
    r_index = {r: i for i, r in enumerate(self.space.resolutions)}
    genes = np.empty((len(configs), self.num_genes), np.int64)
    for n, config in enumerate(configs):
      self.space.validate(config)
      values = [v for d in self.dims for v in getattr(config, d.name)]
      genes[n, :self.r_col] = [lookup[v] for lookup, v in zip(index, values)]
      genes[n, self.r_col] = r_index[config.r]
    return genes

  def decode(self, genes: np.ndarray) -> list[SubnetConfig]:
    """The `SubnetConfig`s (tagged with the space name) of a gene array [N, num_genes]."""
    genes = self._check(genes)
    values = self._values[np.arange(self.num_genes)[None, :], genes]
    columns = {}
    for d in self.dims:
      block = values[:, self.dim_cols[d.name]]
      columns[d.name] = (block.astype(np.int64) if d.name in self._int_dims else block).tolist()
    r = values[:, self.r_col].astype(np.int64).tolist()
    return [SubnetConfig(r=r[n], space=self.space.name,
                         **{name: col[n] for name, col in columns.items()})
            for n in range(len(genes))]

  def resolutions(self, genes: np.ndarray) -> np.ndarray:
    """Input resolution in pixels of each subnet, int64 [N]."""
    return self._values[self.r_col, genes[:, self.r_col]].astype(np.int64)

  def active_depths(self, genes: np.ndarray) -> np.ndarray:
    """int64 [N, S]: blocks each stage runs."""
    stages = np.arange(self._active_depth.shape[0])[None, :]
    return self._active_depth[stages, genes[:, self._depth_cols]]

  def active_mask(self, genes: np.ndarray) -> np.ndarray:
    """Bool [N, B]: whether each elastic block runs (its position < its stage's depth)."""
    return self._block_pos[None, :] < self.active_depths(genes)[:, self._block_stage]

  def canonical(self, genes: np.ndarray) -> np.ndarray:
    """Genes with the block-scoped genes of inactive blocks set to index 0 (the smallest).

    Two rows equal after `canonical` describe the same network (`space.canonical`).
    """
    genes = self._check(genes).copy()
    inactive = ~self.active_mask(genes)
    for cols in self._block_cols:
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
