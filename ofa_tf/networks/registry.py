"""Supernet builders registered by family (TF Model Garden's `register_backbone_builder`):
`build_supernet(space)` builds the supernet of any registered family's space."""

from __future__ import annotations

from typing import Callable

import tf_keras

from ofa_tf.search_space import SearchSpace, family_names

Supernet = tf_keras.Model  # Any family's supernet: `space`, `named_weights()`, `static_weights(spec)`.

_BUILDERS: dict[str, Callable[..., tf_keras.Model]] = {}


def register_supernet(family: str, builder: Callable[..., tf_keras.Model]) -> None:
  """Registers `builder(space, execution_mode=..., synchronized_bn=...)` for `family`.

  Raises:
    ValueError: the family is not a registered search-space family, or already has a builder.
  """
  if family not in family_names():
    raise ValueError(f"unknown search-space family {family!r}; known: {family_names()}")
  if family in _BUILDERS:
    raise ValueError(f"family {family!r} already has a supernet builder")
  _BUILDERS[family] = builder


def build_supernet(space: SearchSpace, execution_mode: str = "sliced",
                   synchronized_bn: bool = False, **kwargs) -> tf_keras.Model:
  """The supernet of `space` (weights built, largest subnet active).

  Args:
    space: a space of a registered family.
    execution_mode: "sliced" (compute proportional to the subnet) or "masked" (static shapes).
    synchronized_bn: BatchNorm statistics over all replicas.

  Raises:
    ValueError: no supernet is registered for the space's family.
  """
  if space.family not in _BUILDERS:
    raise ValueError(f"no supernet registered for family {space.family!r} (space "
                     f"{space.name}); registered: {sorted(_BUILDERS)}")
  return _BUILDERS[space.family](space, execution_mode=execution_mode,
                                 synchronized_bn=synchronized_bn, **kwargs)
