"""`SubnetConfig`: one subnetwork of a search space, as data.

A config holds one tuple of values per elastic dimension of its space (the dimensions a
family declares, see `ofa_tf.search_space.family`) plus the input resolution `r`, in the
reference format: `{'ks': [...], 'e': [...], 'd': [...], 'r': r}` for OFA-MobileNetV3 and
OFA-ProxylessNAS, `{'d': [...], 'e': [...], 'w': [...], 'r': r}` for OFA-ResNet50. This
module knows no space: validation against a space is `space.validate(config)`.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

import numpy as np

_RESERVED = ("r", "space")
_RESOLUTION_ALIASES = ("image_size", "resolution")


def normalize_value(value: Any) -> int | float:
  """An elastic choice as a plain Python number: ints stay ints, 4.0 becomes 4, 0.25 stays.

  Raises:
    ValueError: `value` is not a number (bools are refused).
  """
  if isinstance(value, (bool, np.bool_)) or not isinstance(
      value, (int, float, np.integer, np.floating)):
    raise ValueError(f"an elastic choice must be a number, got {value!r}")
  value = float(value) if isinstance(value, (float, np.floating)) else int(value)
  return int(value) if isinstance(value, float) and value.is_integer() else value


class SubnetConfig:
  """An immutable elastic choice: named tuples of values, a resolution and a space tag.

  `SubnetConfig(ks=(3, 5), e=(4, 6), d=(2,), r=224, space="ofa_mbv3_w1.0")`; the dimensions
  read as attributes (`config.ks`). Equal configs hash equally.

  Args:
    r: input resolution in pixels (square NHWC input [B, r, r, 3]).
    space: name of the space this config belongs to, or None when unknown (reference files).
    **dims: one sequence of numbers per elastic dimension.

  Raises:
    ValueError: a dimension is not a sequence of numbers, or `r` is not an int.
  """

  __slots__ = ("_dims", "r", "space")

  def __init__(self, *, r: int, space: str | None = None, **dims):
    if not dims:
      raise ValueError("SubnetConfig needs at least one elastic dimension (e.g. ks, e, d)")
    values = {}
    for name, seq in dims.items():
      if not isinstance(seq, (list, tuple, np.ndarray)):
        raise ValueError(f"SubnetConfig.{name} must be a list of numbers, got {seq!r}")
      try:
        values[name] = tuple(normalize_value(v) for v in seq)
      except ValueError as e:
        raise ValueError(f"SubnetConfig.{name}: {e}") from None
    if isinstance(r, (bool, np.bool_)) or not isinstance(r, (int, np.integer)):
      raise ValueError(f"SubnetConfig.r must be an int resolution, got {r!r}")
    if space is not None and not isinstance(space, str):
      raise ValueError(f"SubnetConfig.space must be a space name or None, got {space!r}")
    object.__setattr__(self, "_dims", tuple(sorted(values.items())))
    object.__setattr__(self, "r", int(r))
    object.__setattr__(self, "space", space)

  def __getattr__(self, name: str):
    if name.startswith("__"):
      raise AttributeError(name)
    for key, value in object.__getattribute__(self, "_dims"):
      if key == name:
        return value
    raise AttributeError(f"SubnetConfig has no elastic dimension {name!r}; it has "
                         f"{[k for k, _ in self._dims]}")

  def __setattr__(self, name, value):
    raise AttributeError("SubnetConfig is immutable; use replace()")

  def __eq__(self, other) -> bool:
    return isinstance(other, SubnetConfig) and (self._dims, self.r, self.space) == (
        other._dims, other.r, other.space)

  def __hash__(self) -> int:
    return hash((self._dims, self.r, self.space))

  def __repr__(self) -> str:
    dims = ", ".join(f"{k}={v}" for k, v in self._dims)
    return f"SubnetConfig({dims}, r={self.r}, space={self.space!r})"

  def __reduce__(self):
    return (_rebuild, (self.to_dict(),))

  @property
  def dims(self) -> dict[str, tuple]:
    """{dimension name: values}, in sorted name order."""
    return dict(self._dims)

  def replace(self, **changes) -> "SubnetConfig":
    """A copy with the given dimensions, `r` or `space` replaced."""
    data = {**self.dims, "r": self.r, "space": self.space, **changes}
    return SubnetConfig(**data)

  # --- Serialization -------------------------------------------------------------------------

  def to_dict(self) -> dict[str, Any]:
    data = {k: list(v) for k, v in self._dims}
    data["r"] = self.r
    if self.space is not None:
      data["space"] = self.space
    return data

  def to_json(self) -> str:
    return json.dumps(self.to_dict())

  @classmethod
  def from_dict(cls, data: Mapping[str, Any]) -> "SubnetConfig":
    """Reads our format or the reference one (`image_size`/`resolution` accepted for `r`,
    as a number or a one-element list).

    Raises:
      ValueError: no resolution, no elastic dimension, or a field of the wrong type.
    """
    if not isinstance(data, Mapping):
      raise ValueError(f"a subnet config must be a JSON object, got {type(data).__name__}")
    data = dict(data)
    for alias in _RESOLUTION_ALIASES:
      if alias in data and "r" not in data:
        data["r"] = data.pop(alias)
    if "r" not in data:
      raise ValueError(f"subnet config {sorted(data)} has no resolution 'r'")
    r = data.pop("r")
    if isinstance(r, (list, tuple)):
      if len(r) != 1:
        raise ValueError(f"subnet config resolution must be one value, got {r}")
      r = r[0]
    space = data.pop("space", None)
    return cls(r=r, space=space, **data)

  @classmethod
  def from_json(cls, text: str) -> "SubnetConfig":
    return cls.from_dict(json.loads(text))

  def to_reference(self) -> dict[str, Any]:
    """The reference OFA format: the dimensions as lists and `'r': [r]`."""
    data = {k: list(v) for k, v in self._dims}
    data["r"] = [self.r]
    return data

  @classmethod
  def from_reference(cls, data: Mapping[str, Any], resolution: int | None = None,
                     space: str | None = None) -> "SubnetConfig":
    """Reads the reference format; the resolution may be absent and given as `resolution`."""
    data = dict(data)
    if not any(k in data for k in ("r",) + _RESOLUTION_ALIASES):
      if resolution is None:
        raise ValueError("reference subnet config has no resolution: pass `resolution`")
      data["r"] = resolution
    if space is not None:
      data["space"] = space
    return cls.from_dict(data)


def _rebuild(data):
  return SubnetConfig.from_dict(data)
