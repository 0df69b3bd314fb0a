"""`SubnetConfig`: one subnetwork of a `MobileNetV3Space`, and its validation and sampling.

The fields follow the reference format `{'ks': [...], 'e': [...], 'd': [...], 'r': ...}`:
one kernel size and one expand ratio per elastic block (`space.num_blocks` entries, including
the blocks a short stage skips), one depth per stage, and the input resolution.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import numpy as np

from ofa_tf.search_space.space import MobileNetV3Space, _normalize_ratio, _rng_choice


@dataclasses.dataclass(frozen=True)
class SubnetConfig:
  """An elastic choice: per-block kernel `ks`, per-block expand `e`, per-stage depth `d`, `r`.

  Attributes:
    ks: depthwise kernel size of each elastic block (inactive blocks included).
    e: expand ratio of each elastic block (inactive blocks included).
    d: active blocks per stage; stage s runs its first `d[s]` blocks (Cai et al., Sec. 3.2).
    r: input resolution in pixels (square NHWC input of shape [B, r, r, 3]).
    space: name of the space this config belongs to, or None when unknown (reference files).
  """
  ks: tuple[int, ...]
  e: tuple[int | float, ...]
  d: tuple[int, ...]
  r: int
  space: str | None = None

  def __post_init__(self):
    for field in ("ks", "d"):
      values = getattr(self, field)
      if not isinstance(values, (list, tuple)) or not all(
          isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values):
        raise ValueError(f"SubnetConfig.{field} must be a list of ints, got {values!r}")
      object.__setattr__(self, field, tuple(int(v) for v in values))
    if not isinstance(self.e, (list, tuple)) or not all(
        isinstance(v, (int, float, np.integer, np.floating)) for v in self.e):
      raise ValueError(f"SubnetConfig.e must be a list of numbers, got {self.e!r}")
    object.__setattr__(self, "e", tuple(_normalize_ratio(v) for v in self.e))
    if not isinstance(self.r, (int, np.integer)) or isinstance(self.r, bool):
      raise ValueError(f"SubnetConfig.r must be an int resolution, got {self.r!r}")
    object.__setattr__(self, "r", int(self.r))

  # --- Serialization -------------------------------------------------------------------------

  def to_dict(self) -> dict[str, Any]:
    data = {"ks": list(self.ks), "e": list(self.e), "d": list(self.d), "r": self.r}
    if self.space is not None:
      data["space"] = self.space
    return data

  def to_json(self) -> str:
    return json.dumps(self.to_dict())

  @classmethod
  def from_dict(cls, data: dict[str, Any]) -> "SubnetConfig":
    """Reads our format or the reference one (`image_size`/`resolution` accepted for `r`).

    Raises:
      ValueError: a field is missing, unknown or of the wrong type.
    """
    data = dict(data)
    for alias in ("image_size", "resolution"):
      if alias in data and "r" not in data:
        data["r"] = data.pop(alias)
    missing = [k for k in ("ks", "e", "d", "r") if k not in data]
    if missing:
      raise ValueError(f"subnet config lacks fields {missing}; expected ks, e, d, r")
    unknown = sorted(set(data) - {"ks", "e", "d", "r", "space"})
    if unknown:
      raise ValueError(f"subnet config has unknown fields {unknown}")
    return cls(ks=data["ks"], e=data["e"], d=data["d"], r=data["r"], space=data.get("space"))

  @classmethod
  def from_json(cls, text: str) -> "SubnetConfig":
    return cls.from_dict(json.loads(text))

  def to_reference(self) -> dict[str, Any]:
    """The reference OFA format `{'ks': [...], 'e': [...], 'd': [...], 'r': [r]}`."""
    return {"ks": list(self.ks), "e": list(self.e), "d": list(self.d), "r": [self.r]}

  @classmethod
  def from_reference(cls, data: dict[str, Any], resolution: int | None = None,
                     space: str | None = None) -> "SubnetConfig":
    """Reads the reference format; `r` may be a one-element list or given as `resolution`."""
    r = data.get("r", data.get("image_size", resolution))
    if isinstance(r, (list, tuple)):
      r = r[0] if len(r) == 1 else None
    if r is None:
      raise ValueError("reference subnet config has no resolution: pass `resolution`")
    return cls(ks=data["ks"], e=data["e"], d=data["d"], r=r, space=space)

  def replace(self, **changes) -> "SubnetConfig":
    return dataclasses.replace(self, **changes)

  # --- Relation to a space ---------------------------------------------------------------------

  def active_blocks(self, space: MobileNetV3Space) -> tuple[int, ...]:
    """Indices of the elastic blocks this subnet runs (the first `d[s]` of each stage)."""
    return tuple(s * space.max_depth + i for s, depth in enumerate(self.d) for i in range(depth))

  def canonical(self, space: MobileNetV3Space) -> "SubnetConfig":
    """The same subnet with inactive blocks' `ks`/`e` set to the smallest choice.

    Two configs that differ only in blocks a short stage skips describe the same network;
    their canonical forms are equal.
    """
    active = set(self.active_blocks(space))
    ks = tuple(k if b in active else min(space.kernel_sizes) for b, k in enumerate(self.ks))
    e = tuple(x if b in active else min(space.expand_ratios) for b, x in enumerate(self.e))
    return self.replace(ks=ks, e=e)


def validate(space: MobileNetV3Space, config: SubnetConfig) -> SubnetConfig:
  """Checks `config` against `space` and returns it.

  Raises:
    ValueError: naming the field (`ks`, `e`, `d`, `r` or `space`), the bad value and the
      allowed values.
  """
  if not isinstance(config, SubnetConfig):
    raise ValueError(f"expected a SubnetConfig, got {type(config).__name__}")
  if config.space is not None and config.space != space.name:
    raise ValueError(f"subnet config belongs to space {config.space!r}, not {space.name!r}")
  for field, count, allowed in (("ks", space.num_blocks, space.kernel_sizes),
                                ("e", space.num_blocks, space.expand_ratios),
                                ("d", space.num_stages, space.depths)):
    values = getattr(config, field)
    if len(values) != count:
      raise ValueError(f"{field} has {len(values)} entries; space {space.name} needs {count} "
                       f"({'one per stage' if field == 'd' else 'one per elastic block'})")
    for i, v in enumerate(values):
      if v not in allowed:
        raise ValueError(f"{field}[{i}] = {v} is not allowed; {field} values of space "
                         f"{space.name} are {allowed}")
  if config.r not in space.resolutions:
    raise ValueError(f"r = {config.r} is not a resolution of space {space.name}; allowed: "
                     f"{space.resolutions}")
  return config


def sample(space: MobileNetV3Space, rng: np.random.Generator, *,
           kernel_sizes: tuple[int, ...] | None = None,
           expand_ratios: tuple[float, ...] | None = None,
           depths: tuple[int, ...] | None = None,
           resolutions: tuple[int, ...] | None = None) -> SubnetConfig:
  """Samples a subnet uniformly per elastic choice (reference `sample_active_subnet`).

  Args:
    space: the search space.
    rng: the seeded generator the draws come from.
    kernel_sizes, expand_ratios, depths, resolutions: restrict a dimension to these values
      (progressive shrinking phases enable one dimension at a time); None = the space's.

  Returns:
    A valid SubnetConfig of `space`.

  Raises:
    ValueError: a restriction contains a value the space does not have.
  """
  choices = {}
  for field, given, allowed in (("kernel_sizes", kernel_sizes, space.kernel_sizes),
                                ("expand_ratios", expand_ratios, space.expand_ratios),
                                ("depths", depths, space.depths),
                                ("resolutions", resolutions, space.resolutions)):
    given = allowed if given is None else tuple(given)
    bad = [v for v in given if v not in allowed]
    if not given or bad:
      raise ValueError(f"{field} restriction {given} is not a non-empty subset of {allowed}")
    choices[field] = given
  ks = tuple(_rng_choice(rng, choices["kernel_sizes"]) for _ in range(space.num_blocks))
  e = tuple(_rng_choice(rng, choices["expand_ratios"]) for _ in range(space.num_blocks))
  d = tuple(_rng_choice(rng, choices["depths"]) for _ in range(space.num_stages))
  r = _rng_choice(rng, choices["resolutions"])
  return SubnetConfig(ks=ks, e=e, d=d, r=r, space=space.name)


def extreme_config(space: MobileNetV3Space, largest: bool, r: int | None = None) -> SubnetConfig:
  """The smallest or largest subnet of every elastic dimension, at `r` (default: min/max)."""
  pick = max if largest else min
  r = pick(space.resolutions) if r is None else r
  config = SubnetConfig(ks=(pick(space.kernel_sizes),) * space.num_blocks,
                        e=(pick(space.expand_ratios),) * space.num_blocks,
                        d=(pick(space.depths),) * space.num_stages, r=r, space=space.name)
  return validate(space, config)
