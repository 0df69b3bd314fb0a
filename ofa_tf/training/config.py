"""Progressive-shrinking configuration as data: `Phase` records, `TrainConfig`, presets.

The schedule is a tuple of `Phase` records (Cai et al., ICLR 2020, Sec. 3.2-3.3, and the
reference README's table): full network -> elastic kernel -> depth {3,4} -> depth {2,3,4} ->
expand {4,6} -> expand {3,4,6}. Each phase says which elastic values subnets may take, how
long it runs, its learning rate and warmup, and how many subnets each step trains. Presets
are named factories (`get_preset("digits")`) returning a `TrainConfig`.
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any, Callable

from ofa_tf.search_space import SearchSpace, get_space

STRATEGIES = ("default", "mirrored", "multi_worker", "tpu", "one_device")
EXECUTION_MODES = ("auto", "sliced", "masked")
BAD_IMAGE_POLICIES = ("fail", "skip", "unchecked")  # As `data.folder.BAD_IMAGE_POLICIES`.


def _tuple(value):
  return tuple(value) if isinstance(value, (list, tuple)) else value


# Phase JSON written before phases named their dimensions (OFA-MobileNetV3 field names).
_LEGACY_PHASE_FIELDS = {"kernel_sizes": "ks", "expand_ratios": "e", "depths": "d"}


@dataclasses.dataclass(frozen=True)
class Phase:
  """One progressive-shrinking phase.

  Attributes:
    name: unique name ("full", "kernel", "depth_34", ...), used by `--phases`.
    elastic: {dimension: values} the phase opens (e.g. {"ks": (3, 5, 7), "d": (3, 4)});
      dimensions it does not name stay at their largest value (`Phase.restrictions`).
    epochs: length in epochs of the training split (ignored when `steps` is set).
    steps: length in optimizer steps, or None to derive it from `epochs`.
    base_lr: peak learning rate (after warmup) for the config's global batch size.
    warmup_epochs: linear warmup length in epochs (0 = none); cosine decay afterwards.
    subnets_per_step: subnets sampled per step; their gradients are summed, then applied once.
    distill: train against the teacher (the largest network copied after the full phase).
    reorganize: start with channel re-organization (`supernet`'s family re-sorts the channels
      of its `reorganize_dims`) keeping the bands of the values trained so far.
    trained: {dimension: values trained before this phase} of the `reorganize_dims` (the
      previous phase's values; `progressive_shrinking_phases` fills it). Absent dimensions
      (and phases written before the field existed) fall back to the phase's values without
      the smallest one, which is right only for a phase that opens a new smallest value.
  """
  name: str
  elastic: dict = dataclasses.field(default_factory=dict)
  epochs: float = 1.0
  steps: int | None = None
  base_lr: float = 0.1
  warmup_epochs: float = 0.0
  subnets_per_step: int = 1
  distill: bool = True
  reorganize: bool = False
  trained: dict = dataclasses.field(default_factory=dict)

  def __post_init__(self):
    if not self.name or not isinstance(self.name, str):
      raise ValueError(f"Phase.name must be a non-empty string, got {self.name!r}")
    if not isinstance(self.elastic, dict):
      raise ValueError(f"Phase({self.name}).elastic must be a dict {{dimension: values}}, "
                       f"got {self.elastic!r}")
    elastic = {}
    for dim, values in self.elastic.items():
      values = _tuple(values)
      if not isinstance(values, tuple) or not values:
        raise ValueError(f"Phase({self.name}).elastic[{dim!r}] must be a non-empty tuple, "
                         f"got {values!r}")
      elastic[dim] = tuple(sorted(values))
    object.__setattr__(self, "elastic", elastic)
    if not isinstance(self.trained, dict):
      raise ValueError(f"Phase({self.name}).trained must be a dict {{dimension: values}}, "
                       f"got {self.trained!r}")
    object.__setattr__(self, "trained", {k: tuple(sorted(_tuple(v)))
                                         for k, v in self.trained.items()})
    if self.steps is None and not self.epochs > 0:
      raise ValueError(f"Phase({self.name}).epochs must be > 0 (or set steps), got {self.epochs}")
    if self.steps is not None and (not isinstance(self.steps, int) or self.steps <= 0):
      raise ValueError(f"Phase({self.name}).steps must be a positive int or None, "
                       f"got {self.steps!r}")
    if not self.base_lr > 0:
      raise ValueError(f"Phase({self.name}).base_lr must be > 0, got {self.base_lr}")
    if self.warmup_epochs < 0:
      raise ValueError(f"Phase({self.name}).warmup_epochs must be >= 0, got {self.warmup_epochs}")
    if not isinstance(self.subnets_per_step, int) or self.subnets_per_step < 1:
      raise ValueError(f"Phase({self.name}).subnets_per_step must be an int >= 1, "
                       f"got {self.subnets_per_step!r}")

  def __hash__(self):
    return hash((self.name, tuple(sorted(self.elastic.items())), self.epochs, self.steps))

  def restrictions(self, space) -> dict[str, tuple]:
    """{dimension: values} of every dimension of `space` in this phase (unopened: largest).

    Raises:
      ValueError: the phase names a dimension `space` lacks, or values it does not have.
    """
    out = {}
    for d in space.elastic_dims():
      out[d.name] = self.elastic.get(d.name, (max(d.values),))
    unknown = sorted(set(self.elastic) - set(out))
    if unknown:
      raise ValueError(f"Phase({self.name}) opens dimensions {unknown} that space {space.name} "
                       f"(family {space.family}) lacks; its dimensions are {space.dim_names}")
    space.restricted_choices(out)  # ValueError naming a value the space does not have.
    return out

  def trained_values(self, space) -> dict[str, tuple]:
    """{dimension: values trained before this phase} for the family's `reorganize_dims`
    (`trained`, else the phase's values without the smallest one)."""
    out = {}
    for dim in space.reorganize_dims:
      values = self.elastic.get(dim, (max(space.dim(dim).values),))
      out[dim] = self.trained.get(dim) or values[1:] or values
    return out

  def num_steps(self, train_examples: int, global_batch_size: int) -> int:
    """Optimizer steps of this phase: `steps`, or ceil(epochs * examples / batch)."""
    if self.steps is not None:
      return self.steps
    return max(1, math.ceil(self.epochs * train_examples / global_batch_size))

  def warmup_steps(self, train_examples: int, global_batch_size: int) -> int:
    total = self.num_steps(train_examples, global_batch_size)
    if self.steps is not None and self.epochs > 0:
      return min(total, round(total * self.warmup_epochs / self.epochs))
    return min(total, math.ceil(self.warmup_epochs * train_examples / global_batch_size))

  def learning_rate(self, step_in_phase: int, total_steps: int, warmup_steps: int) -> float:
    """Linear warmup to `base_lr` over `warmup_steps`, then cosine decay to 0 (reference)."""
    if step_in_phase < warmup_steps:
      return self.base_lr * (step_in_phase + 1) / warmup_steps
    progress = (step_in_phase - warmup_steps) / max(1, total_steps - warmup_steps)
    return 0.5 * self.base_lr * (1.0 + math.cos(math.pi * progress))

  def to_dict(self) -> dict[str, Any]:
    data = dataclasses.asdict(self)
    data["elastic"] = {k: list(v) for k, v in self.elastic.items()}
    return data

  @classmethod
  def from_dict(cls, data: dict[str, Any]) -> "Phase":
    """Reads `to_dict()` output, and phases written with the former MobileNetV3 field names
    (`kernel_sizes`, `expand_ratios`, `depths`: all three given, the largest-only ones
    meaning "not opened")."""
    data = dict(data)
    legacy = {new: data.pop(old) for old, new in _LEGACY_PHASE_FIELDS.items() if old in data}
    if legacy:
      data["elastic"] = {k: tuple(v) for k, v in legacy.items() if len(v) > 1}
    return cls(**data)


def progressive_shrinking_phases(space, *, epochs: tuple[float, ...], lrs: tuple[float, ...],
                                 warmup_epochs: tuple[float, ...],
                                 subnets_per_step: tuple[int, ...] = (1, 1, 2, 2, 4, 4)
                                 ) -> tuple[Phase, ...]:
  """The progressive-shrinking phases of `space`'s family, with per-phase lengths and LRs.

  The family declares which dimensions each phase opens (`space.shrinking_order()`; for the
  MBConv families the paper's full -> kernel -> depth x2 -> expand x2). The first phase trains
  the full network without distillation; re-organization starts every phase that opens more
  than one value of a `space.reorganize_dims` dimension, keeping the bands of the previous
  phase's values (`Phase.trained`: a family with two such dimensions, e.g. OFA-ResNet50's
  expand and width, re-sorts the first one again in the second one's phases, and must keep
  all of its trained values then).

  Args:
    space: the search space.
    epochs, lrs, warmup_epochs, subnets_per_step: one entry per phase of the family's order.

  Returns:
    tuple of `Phase`, one per entry of `space.shrinking_order()`.

  Raises:
    ValueError: the per-phase tuples do not have one entry per phase.
  """
  order = space.shrinking_order()
  largest = {d: (max(space.dim(d).values),) for d in space.reorganize_dims}
  trained = [largest] + [{d: tuple(sorted(opened.get(d, largest[d])))
                          for d in space.reorganize_dims} for _, opened in order[:-1]]
  for field, values in (("epochs", epochs), ("lrs", lrs), ("warmup_epochs", warmup_epochs),
                        ("subnets_per_step", subnets_per_step)):
    if len(values) != len(order):
      raise ValueError(f"{field} has {len(values)} entries; family {space.family} has "
                       f"{len(order)} phases {[name for name, _ in order]}")
  return tuple(
      Phase(name, dict(opened), epochs=ep, base_lr=lr, warmup_epochs=wu, subnets_per_step=n,
            distill=i > 0,
            reorganize=any(len(opened.get(d, ())) > 1 for d in space.reorganize_dims),
            trained=before)
      for i, ((name, opened), ep, lr, wu, n, before) in
      enumerate(zip(order, epochs, lrs, warmup_epochs, subnets_per_step, trained)))


@dataclasses.dataclass(frozen=True)
class TrainConfig:
  """A progressive-shrinking run.

  Attributes:
    space: registered search space name (`search_space.get_space`).
    dataset: dataset spec for `data.load_dataset` ("digits", "tfds:NAME", "folder:PATH").
    bad_images: unreadable images of an image folder: "fail" (refuse the run naming them),
      "skip" (leave them out, counted in the log) or "unchecked" (`data.folder`).
    phases: the schedule, a tuple of `Phase`.
    resolutions: training resolutions in pixels (replace the space's); None = the space's.
    global_batch_size: examples per step over all replicas.
    dropout_rate: replaces the space's dropout before the classifier; None = the space's.
      (Dropout masks come from TF's stateful RNG and are not replayed after a resume; with
      0 a resumed run is bit-identical to an uninterrupted one.)
    momentum, nesterov: SGD momentum (0.9, Nesterov, as in the reference).
    weight_decay: L2 coefficient added to the gradients (3e-5 in the reference).
    no_decay_on_bn_and_bias: exclude BN gamma/beta and biases from weight decay.
    label_smoothing: of the cross-entropy against the labels (0.1).
    kd_ratio: weight of the cross-entropy against the teacher's softmax (1.0).
    bn_calibration_images: training images used to recalibrate BN before evaluating a subnet.
    eval_batch_size: batch size of evaluation and BN recalibration.
    eval_at_phase_end: evaluate the {min, max} subnets after each phase.
    seed: run seed (data order, augmentation, resolution and subnet sampling).
    execution_mode: "auto" (sliced on CPU/GPU, masked with XLA/TPU or synchronized BN),
      "sliced", "masked".
    jit_compile: compile the train step with XLA.
    strategy: "default" (MultiWorkerMirrored when TF_CONFIG is set, else Mirrored),
      "mirrored", "multi_worker", "tpu", "one_device".
    synchronized_bn: batch statistics over all replicas (global-batch BatchNorm); needs the
      masked mode (its all-reduce cannot run inside the sliced mode's tf.cond).
    checkpoint_every_steps: steps between checkpoints (a checkpoint also ends every phase).
    max_checkpoints: checkpoints kept.
    log_every_steps: steps between progress lines and summaries.
  """
  space: str = "ofa_mbv3_tiny"
  dataset: str = "digits"
  bad_images: str = "fail"
  phases: tuple[Phase, ...] = ()
  resolutions: tuple[int, ...] | None = None
  global_batch_size: int = 64
  dropout_rate: float | None = None
  momentum: float = 0.9
  nesterov: bool = True
  weight_decay: float = 3e-5
  no_decay_on_bn_and_bias: bool = True
  label_smoothing: float = 0.1
  kd_ratio: float = 1.0
  bn_calibration_images: int = 2000
  eval_batch_size: int = 200
  eval_at_phase_end: bool = True
  seed: int = 0
  execution_mode: str = "auto"
  jit_compile: bool = False
  strategy: str = "default"
  synchronized_bn: bool = False
  checkpoint_every_steps: int = 200
  max_checkpoints: int = 2
  log_every_steps: int = 20

  def __post_init__(self):
    phases = tuple(p if isinstance(p, Phase) else Phase.from_dict(p) for p in _tuple(self.phases))
    object.__setattr__(self, "phases", phases)
    if self.resolutions is not None:
      object.__setattr__(self, "resolutions", tuple(int(r) for r in _tuple(self.resolutions)))
    if not phases:
      raise ValueError("TrainConfig.phases must not be empty")
    names = [p.name for p in phases]
    if len(set(names)) != len(names):
      raise ValueError(f"TrainConfig.phases names must be unique, got {names}")
    space = self.search_space()  # raises for unknown names / bad resolutions
    for phase in phases:
      phase.restrictions(space)  # raises for a dimension or value the space lacks
    if self.bad_images not in BAD_IMAGE_POLICIES:
      raise ValueError(f"TrainConfig.bad_images must be one of {BAD_IMAGE_POLICIES}, got "
                       f"{self.bad_images!r}")
    if self.strategy not in STRATEGIES:
      raise ValueError(f"TrainConfig.strategy must be one of {STRATEGIES}, got {self.strategy!r}")
    if self.execution_mode not in EXECUTION_MODES:
      raise ValueError(f"TrainConfig.execution_mode must be one of {EXECUTION_MODES}, "
                       f"got {self.execution_mode!r}")
    if self.synchronized_bn and self.execution_mode == "sliced":
      raise ValueError("TrainConfig.synchronized_bn needs execution_mode 'masked' or 'auto' "
                       "(the sliced mode skips blocks with tf.cond, where tf.distribute cannot "
                       "all-reduce batch statistics)")
    for field in ("global_batch_size", "bn_calibration_images", "eval_batch_size",
                  "checkpoint_every_steps", "max_checkpoints", "log_every_steps"):
      value = getattr(self, field)
      if not isinstance(value, int) or value <= 0:
        raise ValueError(f"TrainConfig.{field} must be a positive int, got {value!r}")
    if not 0.0 <= self.label_smoothing < 1.0:
      raise ValueError(f"TrainConfig.label_smoothing must be in [0, 1), got {self.label_smoothing}")
    for field in ("weight_decay", "kd_ratio", "momentum"):
      if getattr(self, field) < 0:
        raise ValueError(f"TrainConfig.{field} must be >= 0, got {getattr(self, field)}")

  def search_space(self) -> SearchSpace:
    """The space the supernet is built for (registered space with `resolutions` applied)."""
    space = get_space(self.space)
    if self.dropout_rate is not None:
      if not 0.0 <= self.dropout_rate < 1.0:
        raise ValueError(f"TrainConfig.dropout_rate must be in [0, 1), got {self.dropout_rate}")
      space = space.replace(dropout_rate=float(self.dropout_rate))
    if self.resolutions is not None:
      try:
        space = space.replace(resolutions=self.resolutions)
      except ValueError as e:
        raise ValueError(f"TrainConfig.resolutions: {e}") from e
    return space

  def resolved_execution_mode(self) -> str:
    """"sliced" on CPU/GPU; "masked" with XLA (`jit_compile`), TPU (static shapes) or
    synchronized BN (no control flow around its all-reduce)."""
    if self.execution_mode != "auto":
      return self.execution_mode
    masked = self.jit_compile or self.strategy == "tpu" or self.synchronized_bn
    return "masked" if masked else "sliced"

  def replace(self, **changes) -> "TrainConfig":
    return dataclasses.replace(self, **changes)

  def with_space(self, space_name: str) -> "TrainConfig":
    """The same schedule for another registered space: per phase the same length (epochs or
    steps), learning rate, warmup and subnets per step, with the elastic values of the new
    space's family (`progressive_shrinking_phases`); `resolutions` reset to the space's.

    Raises:
      ValueError: unknown space, or its family has another number of phases.
    """
    space = get_space(space_name)
    if self.dropout_rate is not None:
      space = space.replace(dropout_rate=float(self.dropout_rate))
    try:
      phases = progressive_shrinking_phases(
          space, epochs=tuple(p.epochs for p in self.phases),
          lrs=tuple(p.base_lr for p in self.phases),
          warmup_epochs=tuple(p.warmup_epochs for p in self.phases),
          subnets_per_step=tuple(p.subnets_per_step for p in self.phases))
    except ValueError as e:
      raise ValueError(f"cannot move this schedule of {len(self.phases)} phases to space "
                       f"{space_name!r}: {e}") from e
    phases = tuple(dataclasses.replace(new, steps=old.steps)
                   for new, old in zip(phases, self.phases))
    return self.replace(space=space_name, phases=phases, resolutions=None)

  def with_global_batch_size(self, global_batch_size: int, scale_lr: bool = True
                             ) -> "TrainConfig":
    """The same run at another global batch size; with `scale_lr` every phase's `base_lr`
    scales linearly with the batch (Goyal et al., 2017; the reference's 0.08 x 32 at 2048).
    Phase lengths in epochs are kept (the number of steps changes).

    Raises:
      ValueError: `global_batch_size` is not a positive int.
    """
    if not isinstance(global_batch_size, int) or global_batch_size <= 0:
      raise ValueError(f"TrainConfig.global_batch_size must be a positive int, got "
                       f"{global_batch_size!r}")
    factor = global_batch_size / self.global_batch_size if scale_lr else 1.0
    phases = tuple(dataclasses.replace(p, base_lr=p.base_lr * factor) for p in self.phases)
    return self.replace(global_batch_size=global_batch_size, phases=phases)

  def scale_epochs(self, factor: float) -> "TrainConfig":
    """Every phase `factor` times as long (epochs, warmup epochs, and `steps` when set,
    rounded up): 0.01 for a trial of the imagenet schedule, 2 for a longer run.

    Raises:
      ValueError: `factor` is not > 0.
    """
    if not factor > 0:
      raise ValueError(f"epochs scale must be > 0, got {factor}")
    phases = tuple(dataclasses.replace(
        p, epochs=p.epochs * factor, warmup_epochs=p.warmup_epochs * factor,
        steps=None if p.steps is None else max(1, math.ceil(p.steps * factor)))
        for p in self.phases)
    return self.replace(phases=phases)

  def select_phases(self, names) -> "TrainConfig":
    """The same config with only the phases `names` (in schedule order).

    Raises:
      ValueError: a name is not a phase of this config.
    """
    known = [p.name for p in self.phases]
    bad = [n for n in names if n not in known]
    if bad:
      raise ValueError(f"unknown phases {bad}; phases of this config: {known}")
    return self.replace(phases=tuple(p for p in self.phases if p.name in names))

  def to_dict(self) -> dict[str, Any]:
    data = dataclasses.asdict(self)
    data["phases"] = [p.to_dict() for p in self.phases]
    return data

  def to_json(self) -> str:
    return json.dumps(self.to_dict(), indent=1)

  @classmethod
  def from_dict(cls, data: dict[str, Any]) -> "TrainConfig":
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
      raise ValueError(f"unknown TrainConfig fields {unknown}; known: {sorted(known)}")
    return cls(**data)

  @classmethod
  def from_json(cls, text: str) -> "TrainConfig":
    return cls.from_dict(json.loads(text))


# --- Presets (named factories) -----------------------------------------------------------------

def smoke(space_name: str = "ofa_mbv3_tiny",
          subnets_per_step: tuple[int, ...] = (1, 1, 2, 2, 4, 4)) -> TrainConfig:
  """All phases in about a minute: 3 steps each on the digits, tiny space, 16/20 px.
  `subnets_per_step` has one entry per phase of the space's family."""
  space = get_space(space_name)
  n = len(space.shrinking_order())
  phases = progressive_shrinking_phases(
      space, epochs=(1,) * n, lrs=(0.05,) * n, warmup_epochs=(0,) * n,
      subnets_per_step=subnets_per_step)
  phases = tuple(dataclasses.replace(p, steps=3) for p in phases)
  return TrainConfig(space=space_name, dataset="digits", phases=phases,
                     resolutions=(16, 20), global_batch_size=32, bn_calibration_images=64,
                     eval_batch_size=135, checkpoint_every_steps=10, log_every_steps=5)


def digits(space_name: str = "ofa_mbv3_tiny") -> TrainConfig:
  """The default: the tiny space on scikit-learn's digits at 16-24 px (the 8x8 glyphs
  upsampled 2-3x), all phases in minutes on 2 cores. `space_name` picks another family's
  tiny space with the same schedule (`digits_proxyless`)."""
  space = get_space(space_name)
  phases = progressive_shrinking_phases(
      space, epochs=(12, 8, 2, 3, 2, 8), lrs=(0.1, 0.03, 0.01, 0.02, 0.01, 0.02),
      warmup_epochs=(1, 0.5, 0, 0.5, 0, 0.5))
  return TrainConfig(space=space_name, dataset="digits", phases=phases,
                     resolutions=(16, 20, 24), global_batch_size=64,
                     bn_calibration_images=320, eval_batch_size=270, checkpoint_every_steps=100,
                     log_every_steps=20)


def imagenet() -> TrainConfig:
  """The paper's schedule (reference README): OFA-MobileNetV3 w1.0 on ImageNet, batch 2048.

  Full network 180 epochs (lr 2.6 = 0.08 x 32, as for the reference teacher, warmup 5), then
  kernel 120 ep (3e-2 x 32, warmup 5, 1 subnet), depth {3,4} 25 ep (2.5e-3 x 32, 2),
  depth {2,3,4} 120 ep (7.5e-3 x 32, warmup 5, 2), expand {4,6} 25 ep (2.5e-3 x 32, 4),
  expand {3,4,6} 120 ep (7.5e-3 x 32, warmup 5, 4).
  """
  space = get_space("ofa_mbv3_w1.0")
  phases = progressive_shrinking_phases(
      space, epochs=(180, 120, 25, 120, 25, 120),
      lrs=(0.08 * 32, 3e-2 * 32, 2.5e-3 * 32, 7.5e-3 * 32, 2.5e-3 * 32, 7.5e-3 * 32),
      warmup_epochs=(5, 5, 0, 5, 0, 5), subnets_per_step=(1, 1, 2, 2, 4, 4))
  return TrainConfig(space="ofa_mbv3_w1.0", dataset="tfds:imagenet2012", phases=phases,
                     global_batch_size=2048, bn_calibration_images=2000, eval_batch_size=500,
                     checkpoint_every_steps=1000, log_every_steps=100)


_PRESETS: dict[str, Callable[[], TrainConfig]] = {
    "smoke": smoke, "digits": digits, "imagenet": imagenet}


def register_preset(name: str, factory: Callable[[], TrainConfig]) -> None:
  """Registers a named preset (a family's presets register themselves this way).

  Raises:
    ValueError: `name` is taken.
  """
  if name in _PRESETS:
    raise ValueError(f"preset {name!r} is already registered")
  _PRESETS[name] = factory


register_preset("digits_proxyless", lambda: digits("ofa_proxyless_tiny"))
register_preset("smoke_proxyless", lambda: smoke("ofa_proxyless_tiny"))
# OFA-EdgeTPU: the MBConv schedule; its kernel phase opens k 5 in the MBConv stages only.
register_preset("digits_edgetpu", lambda: digits("ofa_edgetpu_tiny"))
register_preset("smoke_edgetpu", lambda: smoke("ofa_edgetpu_tiny"))

# OFA-ResNet50: seven phases (full, depth x2, expand x2, width x2; `ResNetSpace` says why).
_RESNET_SUBNETS = (1, 2, 2, 4, 4, 4, 4)


def digits_resnet() -> TrainConfig:
  """The tiny OFA-ResNet on the digits at 24-32 px (the ResNet-D stem divides by 4 before the
  first stage: 6-8 px maps there, as the MBConv stems leave at 16-24 px): full network 12
  epochs, then depth, expand and width in two steps each (short first steps, longer second
  ones), 2 subnets per step for depth and 4 for expand and width (the paper's counts for
  depth and expand)."""
  space = get_space("ofa_resnet50_tiny")
  phases = progressive_shrinking_phases(
      space, epochs=(12, 2, 3, 2, 4, 2, 6), lrs=(0.1, 0.01, 0.02, 0.01, 0.02, 0.01, 0.02),
      warmup_epochs=(1, 0, 0.5, 0, 0.5, 0, 0.5), subnets_per_step=_RESNET_SUBNETS)
  return TrainConfig(space=space.name, dataset="digits", phases=phases,
                     resolutions=(24, 28, 32), global_batch_size=64,
                     bn_calibration_images=320, eval_batch_size=270, checkpoint_every_steps=100,
                     log_every_steps=20)


register_preset("digits_resnet", digits_resnet)
register_preset("smoke_resnet", lambda: smoke("ofa_resnet50_tiny", _RESNET_SUBNETS))


def get_preset(name: str) -> TrainConfig:
  """The preset `name` ("smoke", "digits" (default), "imagenet").

  Raises:
    ValueError: unknown name (the message lists the presets).
  """
  if name not in _PRESETS:
    raise ValueError(f"unknown preset {name!r}; presets: {sorted(_PRESETS)}")
  return _PRESETS[name]()


def preset_names() -> tuple[str, ...]:
  return tuple(sorted(_PRESETS))
