"""Supernet builders registered by family (TF Model Garden's `register_backbone_builder`):
`build_supernet(space)` builds the supernet of any registered family's space, and
`encode_arch(space, config)` gives a subnet in the tensor form that family's supernet takes."""

from __future__ import annotations

from typing import Callable

import numpy as np
import tensorflow as tf
import tf_keras

from ofa_tf.search_space import SearchSpace, family_names

Supernet = tf_keras.Model  # Any family's supernet: `space`, `named_weights()`, `static_weights(spec)`.

MODES = ("masked", "sliced")  # Execution modes of every supernet.
_BUILDERS: dict[str, Callable[..., tf_keras.Model]] = {}
_ARCH_ENCODERS: dict[str, Callable[..., dict[str, np.ndarray]]] = {}


def register_supernet(family: str, builder: Callable[..., tf_keras.Model],
                      arch_encoder: Callable[..., dict[str, np.ndarray]]) -> None:
  """Registers `builder(space, execution_mode=..., synchronized_bn=...)` for `family`, and
  `arch_encoder(space, config)`, the subnet's tensor form its `call(..., arch=...)` takes.

  Raises:
    ValueError: the family is not a registered search-space family, or already has a builder.
  """
  if family not in family_names():
    raise ValueError(f"unknown search-space family {family!r}; known: {family_names()}")
  if family in _BUILDERS:
    raise ValueError(f"family {family!r} already has a supernet builder")
  _BUILDERS[family] = builder
  _ARCH_ENCODERS[family] = arch_encoder


def encode_arch(space: SearchSpace, config) -> dict[str, np.ndarray]:
  """Subnet `config` as the arrays its family's supernet takes as `arch` (fixed shapes and
  dtypes per space, so stacked configs feed one traced step).

  Raises:
    ValueError: no supernet is registered for the family, or `config` is not valid.
  """
  if space.family not in _ARCH_ENCODERS:
    raise ValueError(f"no supernet registered for family {space.family!r} (space "
                     f"{space.name}); registered: {sorted(_ARCH_ENCODERS)}")
  return _ARCH_ENCODERS[space.family](space, config)


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


def arch_signature(space: SearchSpace, stacked: bool = False) -> dict[str, tf.TensorSpec]:
  """`tf.TensorSpec`s of `encode_arch(space, ...)` (with a leading [None] axis if `stacked`),
  for the input signatures of traced steps."""
  lead = [None] if stacked else []
  return {k: tf.TensorSpec(lead + list(v.shape), tf.as_dtype(v.dtype))
          for k, v in encode_arch(space, space.max_config()).items()}


class ActiveSubnet:
  """Mixin of the supernets: their space and modes, and the subnet `call(images)` runs
  without `arch`, held in non-trainable variables (traced graphs read the current value)."""

  def _init_space(self, space: SearchSpace, execution_mode: str, synchronized_bn: bool
                  ) -> dict:
    """Stores the space and modes; returns the `ElasticBatchNormalization` arguments.

    Raises:
      ValueError: an unknown execution mode.
    """
    if execution_mode not in MODES:
      raise ValueError(f"execution_mode must be one of {MODES}, got {execution_mode!r}")
    self.space = space
    self.execution_mode = execution_mode
    self.synchronized_bn = synchronized_bn
    return dict(epsilon=space.bn_epsilon, momentum=space.bn_momentum, synchronized=synchronized_bn)

  def _init_active_arch(self) -> None:
    self._active_arch = {k: tf.Variable(v, trainable=False, name=f"active_{k}")
                         for k, v in encode_arch(self.space, self.space.max_config()).items()}

  def set_active_subnet(self, config) -> None:
    """Makes `config` the subnet that `call(images)` runs when no `arch` is given.

    Raises:
      ValueError: `config` is not valid for this supernet's space.
    """
    for key, value in encode_arch(self.space, config).items():
      self._active_arch[key].assign(value)

  def arch_inputs(self, config) -> dict[str, tf.Tensor]:
    """`encode_arch` as tensors, ready to pass as `call(..., arch=...)`."""
    return {k: tf.constant(v) for k, v in encode_arch(self.space, config).items()}
