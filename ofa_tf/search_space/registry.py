"""The registry of families and named spaces: `get_space(name)` finds any registered space,
`space_from_dict` reads a space JSON by its family tag (Model Garden's factory registry).

A family registers its space type once (`register_family`) and each named size once
(`register_space`); nothing else in ofa-tf branches on a family name.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from ofa_tf.search_space.family import SearchSpace

_FAMILIES: dict[str, type] = {}
_SPACES: dict[str, Callable[[], SearchSpace]] = {}
# Space JSON written before family tags existed (OFA-MobileNetV3 only).
_DEFAULT_FAMILY = "mobilenet_v3"


def register_family(space_type: type) -> type:
  """Registers a `SearchSpace` subclass under its `family` tag; returns it (a decorator).

  Raises:
    ValueError: the tag is empty or already taken by another type.
  """
  tag = getattr(space_type, "family", "")
  if not tag or not issubclass(space_type, SearchSpace):
    raise ValueError(f"{space_type!r} is not a SearchSpace with a family tag")
  if _FAMILIES.get(tag, space_type) is not space_type:
    raise ValueError(f"family {tag!r} is already registered ({_FAMILIES[tag].__name__})")
  _FAMILIES[tag] = space_type
  return space_type


def register_space(name: str, factory: Callable[[], SearchSpace]) -> None:
  """Registers a named space; `factory()` must return a space whose `name` is `name`.

  Raises:
    ValueError: `name` is already registered.
  """
  if name in _SPACES:
    raise ValueError(f"search space {name!r} is already registered")
  _SPACES[name] = factory


def get_space(name: str) -> SearchSpace:
  """Returns the registered space `name` (e.g. "ofa_mbv3_w1.0", "ofa_proxyless_w1.3").

  Raises:
    ValueError: for an unknown name (the message lists the known ones).
  """
  if name not in _SPACES:
    raise ValueError(f"unknown search space {name!r}; known: {sorted(_SPACES)}")
  return _SPACES[name]()


def space_names() -> tuple[str, ...]:
  return tuple(sorted(_SPACES))


def family_names() -> tuple[str, ...]:
  return tuple(sorted(_FAMILIES))


def family_of(name: str) -> str:
  """The family tag of registered space `name`."""
  return get_space(name).family


def space_from_dict(data: Mapping[str, Any]) -> SearchSpace:
  """Reads a space written by `space.to_dict()`, of any registered family.

  Raises:
    ValueError: unknown family tag or fields.
  """
  family = data.get("family", _DEFAULT_FAMILY)
  if family not in _FAMILIES:
    raise ValueError(f"unknown search-space family {family!r}; known: {family_names()}")
  return _FAMILIES[family].from_dict(data)
