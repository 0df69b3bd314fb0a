"""The family protocol: what every search space declares, and what is written once for all.

A *family* (OFA-MobileNetV3, OFA-ProxylessNAS, ...) is a frozen-dataclass space type that
subclasses `SearchSpace` and declares:

  * `family`: its tag (stored in the space's JSON, so `space_from_dict` finds the type);
  * `elastic_dims()`: its elastic dimensions (`ElasticDim`: name, per-entry choices, scope);
  * `stage_blocks()`: the elastic blocks of each stage, and `active_depth(stage, value)`: how
    many of them a value of the depth dimension keeps (the "active block" rule);
  * `network_spec(config)`: the static layers a subnet runs (`static_spec.NetworkSpec`);
  * `shrinking_order()`: its progressive-shrinking phases as the dimensions each one opens.

From those, `SearchSpace` derives validation, seeded sampling restricted per dimension (a
phase), min/max configs, canonical forms, the active-block mask, MACs and params; the
search's genes and the accuracy predictor's encoding read the same declarations
(`ofa_tf.search.genes`). Source of the semantics: Cai et al., ICLR 2020, Sec. 3, and the
reference `OFAMobileNetV3` / `OFAProxylessNASNets` / `OFAResNets`.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from typing import Any, ClassVar, Mapping, Sequence

import numpy as np

from ofa_tf.search_space import counters
from ofa_tf.search_space.static_spec import NetworkSpec
from ofa_tf.search_space.subnet import SubnetConfig, normalize_value

SCOPES = ("block", "stage", "network")


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


def as_tuple(value: Any) -> tuple:
  return tuple(value) if isinstance(value, (list, tuple)) else (value,)


def ascending_choices(owner: str, field: str, values) -> tuple:
  """`values` as a strictly ascending tuple of positive numbers, or a ValueError naming it."""
  values = tuple(normalize_value(v) for v in as_tuple(values))
  if not values or list(values) != sorted(set(values)) or min(values) <= 0:
    raise ValueError(f"{owner}.{field} must be non-empty, positive, strictly ascending; "
                     f"got {values}")
  return values


@dataclasses.dataclass(frozen=True)
class ElasticDim:
  """One elastic dimension of a space.

  Attributes:
    name: the config field ("ks", "e", "d", "w").
    choices: allowed values of each entry, ascending (one tuple per entry, e.g. per block).
    scope: "block" (one entry per elastic block, `stage_blocks` order), "stage" or "network".
    depth: whether this is the dimension that decides which blocks run (`active_depth`); it
      is not one-hot encoded (the zeroed inactive blocks carry it).
    label: a short name for tables and logs ("kernel", "expand", "depth", "width").
  """
  name: str
  choices: tuple[tuple, ...]
  scope: str
  depth: bool = False
  label: str = ""

  def __post_init__(self):
    if self.scope not in SCOPES:
      raise ValueError(f"ElasticDim({self.name}).scope must be one of {SCOPES}")
    choices = tuple(tuple(normalize_value(v) for v in entry) for entry in self.choices)
    if not choices or any(not c or list(c) != sorted(set(c)) for c in choices):
      raise ValueError(f"ElasticDim({self.name}).choices must be non-empty ascending tuples")
    object.__setattr__(self, "choices", choices)

  @classmethod
  def uniform(cls, name: str, values, count: int, scope: str, **kwargs) -> "ElasticDim":
    """`count` entries with the same choices."""
    return cls(name, (tuple(values),) * count, scope, **kwargs)

  @property
  def size(self) -> int:
    """Number of entries (values in a config)."""
    return len(self.choices)

  @functools.cached_property
  def values(self) -> tuple:
    """Every value any entry allows, ascending."""
    return tuple(sorted({v for entry in self.choices for v in entry}))


class SearchSpace:
  """Base of every family's space type (a frozen dataclass with `name` and `resolutions`).

  Subclasses set `family` and implement `elastic_dims`, `stage_blocks`, `active_depth`,
  `network_spec` and `shrinking_order`; see the module docstring.
  """

  family: ClassVar[str] = ""
  name: str
  resolutions: tuple[int, ...]

  # --- Declared by the family ------------------------------------------------------------------

  def elastic_dims(self) -> tuple[ElasticDim, ...]:
    raise NotImplementedError

  def stage_blocks(self) -> tuple[tuple[int, ...], ...]:
    """Elastic block indices of each stage (a stage may hold none, e.g. a skippable stem)."""
    raise NotImplementedError

  def active_depth(self, stage: int, value: int) -> int:
    """Blocks of `stage` that run when the depth dimension's entry is `value` (first ones)."""
    raise NotImplementedError

  def network_spec(self, config: SubnetConfig) -> NetworkSpec:
    raise NotImplementedError

  def shrinking_order(self) -> tuple[tuple[str, Mapping[str, tuple]], ...]:
    """Progressive-shrinking phases as (name, {dimension: values opened}); dimensions a phase
    does not name stay at their largest value."""
    raise NotImplementedError

  def block_cost_entries(self, block: int) -> tuple[tuple[str, int], ...]:
    """(dimension, entry) pairs that elastic block `block`'s layers depend on besides the
    resolution (batched MACs/params tables, `ofa_tf.search.efficiency`): by default the
    block's own entry of every block-scoped dimension."""
    return tuple((d.name, block) for d in self.elastic_dims() if d.scope == "block")

  def base_cost_entries(self) -> tuple[tuple[str, int], ...]:
    """(dimension, entry) pairs that the layers outside the elastic blocks (stem, fixed
    blocks, head) depend on besides the resolution; by default none."""
    return ()

  # --- Derived, generic ------------------------------------------------------------------------

  def dim(self, name: str) -> ElasticDim:
    """The elastic dimension `name`; ValueError naming the space's dimensions otherwise."""
    for d in self.elastic_dims():
      if d.name == name:
        return d
    raise ValueError(f"space {self.name} (family {self.family}) has no elastic dimension "
                     f"{name!r}; its dimensions are {self.dim_names}")

  @property
  def dim_names(self) -> tuple[str, ...]:
    return tuple(d.name for d in self.elastic_dims())

  @property
  def depth_dim(self) -> ElasticDim:
    return next(d for d in self.elastic_dims() if d.depth)

  @property
  def num_blocks(self) -> int:
    """Number of elastic blocks (entries of a block-scoped dimension)."""
    return sum(len(b) for b in self.stage_blocks())

  def block_stage(self) -> tuple[int, ...]:
    """Stage of each elastic block."""
    return tuple(s for s, blocks in enumerate(self.stage_blocks()) for _ in blocks)

  def block_position(self) -> tuple[int, ...]:
    """Position of each elastic block inside its stage (0 = the stage's first block)."""
    return tuple(i for blocks in self.stage_blocks() for i in range(len(blocks)))

  def active_blocks(self, config: SubnetConfig) -> tuple[int, ...]:
    """Indices of the elastic blocks `config` runs (the first `active_depth` of each stage)."""
    depth = getattr(config, self.depth_dim.name)
    return tuple(b for s, blocks in enumerate(self.stage_blocks())
                 for b in blocks[:self.active_depth(s, depth[s])])

  def validate(self, config: SubnetConfig) -> SubnetConfig:
    """Returns `config` if it is a subnet of this space.

    Raises:
      ValueError: naming the space of another family's config, a missing or unknown
        dimension, a wrong entry count, a value not allowed (with the allowed ones), or a
        resolution of another space.
    """
    if not isinstance(config, SubnetConfig):
      raise ValueError(f"expected a SubnetConfig, got {type(config).__name__}")
    if config.space is not None and config.space != self.name:
      raise ValueError(f"subnet config belongs to space {config.space!r}, not {self.name!r}")
    have, want = set(config.dims), set(self.dim_names)
    if have != want:
      raise ValueError(f"subnet config has dimensions {sorted(have)}; space {self.name} "
                       f"(family {self.family}) has {sorted(want)}")
    for d in self.elastic_dims():
      values = getattr(config, d.name)
      if len(values) != d.size:
        raise ValueError(f"{d.name} has {len(values)} entries; space {self.name} needs "
                         f"{d.size} (one per {d.scope})")
      for i, (v, allowed) in enumerate(zip(values, d.choices)):
        if v not in allowed:
          raise ValueError(f"{d.name}[{i}] = {v} is not allowed; {d.name}[{i}] values of "
                           f"space {self.name} are {allowed}")
    if config.r not in self.resolutions:
      raise ValueError(f"r = {config.r} is not a resolution of space {self.name}; allowed: "
                       f"{self.resolutions}")
    return config

  def restricted_choices(self, restrictions: Mapping[str, Sequence] | None = None
                         ) -> dict[str, tuple[tuple, ...]]:
    """Per-entry choices of every dimension under `restrictions` ({dimension: values}).

    An entry keeps the restricted values it allows; an entry that allows none of them keeps
    its largest value (e.g. a stage with fewer blocks than the phase's depths).

    Raises:
      ValueError: a restriction names a dimension the space lacks, or is not a non-empty
        subset of the dimension's values.
    """
    restrictions = dict(restrictions or {})
    for name, given in restrictions.items():
      d = self.dim(name)
      given = tuple(normalize_value(v) for v in as_tuple(given))
      bad = [v for v in given if v not in d.values]
      if not given or bad:
        raise ValueError(f"restriction of {name} to {given} is not a non-empty subset of "
                         f"space {self.name}'s {name} values {d.values}")
      restrictions[name] = given
    out = {}
    for d in self.elastic_dims():
      given = restrictions.get(d.name)
      out[d.name] = d.choices if given is None else tuple(
          tuple(v for v in entry if v in given) or (entry[-1],) for entry in d.choices)
    return out

  def sample(self, rng: np.random.Generator, restrictions: Mapping[str, Sequence] | None = None,
             resolutions: Sequence[int] | None = None) -> SubnetConfig:
    """A subnet drawn uniformly per entry (reference `sample_active_subnet`).

    Args:
      rng: the seeded generator the draws come from.
      restrictions: {dimension: values} a phase allows; other dimensions are unrestricted.
      resolutions: restrict the resolution to these; None = the space's.

    Raises:
      ValueError: see `restricted_choices`, or a resolution of another space.
    """
    choices = self.restricted_choices(restrictions)
    resolutions = self.resolutions if resolutions is None else tuple(resolutions)
    bad = [r for r in resolutions if r not in self.resolutions]
    if not resolutions or bad:
      raise ValueError(f"resolutions {tuple(resolutions)} are not a non-empty subset of space "
                       f"{self.name}'s {self.resolutions}")
    dims = {name: tuple(entry[int(rng.integers(len(entry)))] for entry in entries)
            for name, entries in choices.items()}
    r = resolutions[int(rng.integers(len(resolutions)))]
    return SubnetConfig(r=r, space=self.name, **dims)

  def extreme_config(self, largest: bool, r: int | None = None,
                     restrictions: Mapping[str, Sequence] | None = None) -> SubnetConfig:
    """The smallest or largest subnet of every dimension (under `restrictions`), at `r`."""
    pick = -1 if largest else 0
    choices = self.restricted_choices(restrictions)
    r = (max if largest else min)(self.resolutions) if r is None else r
    dims = {name: tuple(entry[pick] for entry in entries) for name, entries in choices.items()}
    return self.validate(SubnetConfig(r=r, space=self.name, **dims))

  def min_config(self, r: int | None = None) -> SubnetConfig:
    """The smallest subnet at resolution `r` (default: the smallest)."""
    return self.extreme_config(False, r)

  def max_config(self, r: int | None = None) -> SubnetConfig:
    """The largest subnet at resolution `r` (default: the largest)."""
    return self.extreme_config(True, r)

  def canonical(self, config: SubnetConfig) -> SubnetConfig:
    """The same subnet with the block-scoped entries of inactive blocks at their smallest
    value: two configs that describe the same network have equal canonical forms."""
    active = set(self.active_blocks(config))
    changes = {}
    for d in self.elastic_dims():
      if d.scope == "block":
        values = getattr(config, d.name)
        changes[d.name] = tuple(v if b in active else d.choices[b][0]
                                for b, v in enumerate(values))
    return config.replace(**changes)

  def macs(self, config: SubnetConfig) -> int:
    """Multiply-accumulates of subnet `config` for one image."""
    return counters.count_macs(self.network_spec(config))

  def params(self, config: SubnetConfig, include_bn_statistics: bool = False) -> int:
    """Parameter count of subnet `config` (see `counters` for the BN convention)."""
    return counters.count_params(self.network_spec(config), include_bn_statistics)

  # --- Serialization -------------------------------------------------------------------------

  def to_dict(self) -> dict[str, Any]:
    return {"family": self.family, **dataclasses.asdict(self)}

  def to_json(self) -> str:
    return json.dumps(self.to_dict(), indent=1)

  @classmethod
  def from_dict(cls, data: Mapping[str, Any]):
    data = dict(data)
    family = data.pop("family", cls.family)
    if family != cls.family:
      raise ValueError(f"space JSON of family {family!r} cannot be read as {cls.family!r}")
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
      raise ValueError(f"unknown {cls.__name__} fields {unknown}; known: {sorted(known)}")
    return cls(**data)

  @classmethod
  def from_json(cls, text: str):
    return cls.from_dict(json.loads(text))

  def replace(self, **changes):
    return dataclasses.replace(self, **changes)
