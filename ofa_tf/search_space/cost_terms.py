"""A subnet's additive cost (MACs, params, table latency) as lookup-table terms, any family.

A subnet's cost is a base term (stem, fixed blocks, head) plus one term per active elastic
block. The family declares what each term depends on besides the resolution
(`space.block_cost_entries(b)`, `space.base_cost_entries()`: (dimension, entry) pairs; an MBConv
block: its kernel and expand entries; an OFA-ResNet block: its expand entry and the two width
groups it reads and writes), so a term is a table over the combinations of those entries'
choices, indexed by a mixed-radix number of the entries' choice indices. That needs every
block's input size to depend on the resolution alone, which holds because the blocks depth
skips all have stride 1. `tabulate` fills the tables of one resolution from `NetworkSpec`s,
sharing one spec among blocks whose entries do not conflict; `ofa_tf.search.efficiency`
(MACs, params) and `ofa_tf.latency.predictor` (table latency) evaluate them in batches.
"""

from __future__ import annotations

import itertools
from typing import Callable, Mapping

import numpy as np

from ofa_tf.search_space.family import SearchSpace
from ofa_tf.search_space.static_spec import BlockSpec, NetworkSpec
from ofa_tf.search_space.subnet import SubnetConfig


class CostTerms:
  """The terms of one space's additive cost and their index arithmetic.

  Args:
    space: the search space (any registered family).
  """

  def __init__(self, space: SearchSpace):
    self.space = space
    self.num_blocks = space.num_blocks
    block_entries = [space.block_cost_entries(b) for b in range(space.num_blocks)]
    width = max([len(e) for e in block_entries] + [1])
    # Per term: its entries (padded with None) and mixed-radix strides (padded with 0).
    self._block_entries, strides = zip(*[self._radix(e, width) for e in block_entries])
    self._block_strides = np.array(strides, np.int64)  # [B, width]
    base = space.base_cost_entries()
    self._base_entries, strides = self._radix(base, max(1, len(base)))
    self._base_strides = np.array(strides, np.int64)
    self.block_combos = [self._combinations(e) for e in block_entries]
    self.base_combos = self._combinations(base)
    self.num_combos = max([len(c) for c in self.block_combos] + [1])

  def _radix(self, entries, width):
    strides, stride = [], 1
    for name, entry in reversed(entries):
      strides.append(stride)
      stride *= len(self.space.dim(name).choices[entry])
    pad = width - len(entries)
    return tuple(entries) + (None,) * pad, strides[::-1] + [0] * pad

  def _combinations(self, entries) -> list[dict | None]:
    """{(dimension, entry): value} per mixed-radix index; None where one entry would take two
    values (an OFA-ResNet block that reads and writes the same width group)."""
    out = []
    choices = [self.space.dim(name).choices[entry] for name, entry in entries]
    for values in itertools.product(*choices):
      combo = {}
      for key, value in zip(entries, values):
        if combo.setdefault(key, value) != value:
          combo = None
          break
      out.append(combo)
    return out

  # --- Indices -----------------------------------------------------------------------------------

  def indices(self, choices: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(block term index [N, B], base term index [N]) from choice indices.

    Args:
      choices: {dimension: int array [N, entries]} of choice indices (gene columns).
    """
    n = len(next(iter(choices.values())))

    def index(entries, strides):
      cols = [choices[e[0]][:, e[1]] if e is not None else np.zeros(n, np.int64)
              for e in entries]
      return (np.stack(cols, -1) * strides).sum(-1)

    block = np.stack([index(e, s) for e, s in zip(self._block_entries, self._block_strides)], 1)
    return block, index(self._base_entries, self._base_strides)

  def config_choices(self, configs) -> dict[str, np.ndarray]:
    """{dimension: int64 [N, entries]} choice indices of `configs` (validated)."""
    dims = self.space.elastic_dims()
    lookup = {d.name: [{v: i for i, v in enumerate(entry)} for entry in d.choices]
              for d in dims}
    out = {d.name: np.empty((len(configs), d.size), np.int64) for d in dims}
    for n, config in enumerate(configs):
      self.space.validate(config)
      for d in dims:
        out[d.name][n] = [lookup[d.name][i][v] for i, v in enumerate(getattr(config, d.name))]
    return out

  # --- Tables ------------------------------------------------------------------------------------

  def elastic_blocks(self, config: SubnetConfig, spec: NetworkSpec) -> dict[int, BlockSpec]:
    """{elastic block: its BlockSpec} (a spec's last blocks are the active elastic ones)."""
    active = self.space.active_blocks(config)
    return dict(zip(active, spec.blocks[len(spec.blocks) - len(active):]))

  def tabulate(self, resolution: int, block_value: Callable[[BlockSpec], np.ndarray],
               base_value: Callable[[NetworkSpec, list[BlockSpec]], np.ndarray], size: int
               ) -> tuple[np.ndarray, np.ndarray]:
    """The term tables at `resolution`.

    Args:
      resolution: input resolution in pixels.
      block_value: the `size` values of one block (e.g. its MACs and params).
      base_value: the `size` values of a spec's base, given its elastic blocks.
      size: values per term.

    Returns:
      (block table float64 [B, num_combos, size], base table [len(base_combos), size]);
      impossible combinations stay 0.
    """
    largest = self.space.max_config(resolution)
    blocks = np.zeros((self.num_blocks, self.num_combos, size))
    for c in range(self.num_combos):
      pending = [b for b in range(self.num_blocks)
                 if c < len(self.block_combos[b]) and self.block_combos[b][c] is not None]
      while pending:  # Blocks whose entries do not conflict share one network spec.
        assignment, chosen, deferred = {}, [], []
        for b in pending:
          values = self.block_combos[b][c]
          if any(assignment.get(k, v) != v for k, v in values.items()):
            deferred.append(b)
          else:
            assignment.update(values)
            chosen.append(b)
        config = _assign(largest, assignment)
        found = self.elastic_blocks(config, self.space.network_spec(config))
        for b in chosen:
          blocks[b, c] = block_value(found[b])
        pending = deferred
    base = np.zeros((len(self.base_combos), size))
    for c, values in enumerate(self.base_combos):
      config = _assign(largest, values)
      spec = self.space.network_spec(config)
      base[c] = base_value(spec, list(self.elastic_blocks(config, spec).values()))
    return blocks, base


def _assign(config: SubnetConfig, assignment) -> SubnetConfig:
  changes = {}
  for (name, entry), value in assignment.items():
    values = list(changes.get(name, getattr(config, name)))
    values[entry] = value
    changes[name] = tuple(values)
  return config.replace(**changes)
