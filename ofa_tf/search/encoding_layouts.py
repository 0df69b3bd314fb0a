"""Feature layouts of the accuracy predictor's one-hot encoding, one per encoding variant.

A layout is data: an ordered list of one-hot groups, each naming a config field (an elastic
dimension, or "r" for the resolution), the entries of that field it encodes (one group per
entry) and where each value lands inside a group. `ofa_tf.search.encoding.ArchEncoder` turns
any layout into one vectorized gene -> feature map; nothing else depends on the variant.

Variants (`VARIANTS`, by name):
- "ofa_tf": ours, generic over a family's declared dimensions: the resolution one-hot over
  `space.resolutions` first, then one group per entry of every non-depth dimension, in
  declaration order; one-hot position = index of the value in the entry's choices.
- "released_mbv3": the released OFA-MobileNetV3 w1.2 predictor (`acc_predictor.pth`, reference
  `ofa/tutorial/accuracy_predictor.py`), 128-d: 20 kernel groups over (3, 5, 7), then 20
  expand groups over (3, 4, 6), then 8 resolution one-hots at `(r - 112) // 16`.
- "released_resnet50": the released OFA-ResNet50 predictor (`ofa_resnet50_acc_predictor.pth`,
  reference `ResNetArchEncoder`), 82-d: 8 resolution one-hots over (128, 144, 160, 176, 192,
  224, 240, 256) (no 208), 2 input-stem one-hots (1 when `d[0] > 0`), 6 width-index groups
  over (0, 1, 2), 18 expand groups over (0.2, 0.25, 0.35).
In every variant the groups of blocks a short stage skips are all zeros (`masked`): that is
how depth is encoded. Source of the released layouts: ../shared/reference/README.md.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Mapping

from ofa_tf.search_space import SearchSpace

RESOLUTION = "r"


@dataclasses.dataclass(frozen=True)
class OneHotGroups:
  """Consecutive one-hot groups of the entries of one config field.

  Attributes:
    field: an elastic dimension's name, or "r" (the resolution, one entry).
    entries: the field's entries encoded, one group each, in feature order.
    positions: (value, position in the group) pairs; a value absent here cannot be encoded.
    width: features per group.
    offset: feature index of the first group's first feature.
    masked: a group is all zeros when its entry's block does not run (block-scoped fields).
  """
  field: str
  entries: tuple[int, ...]
  positions: tuple[tuple[float, int], ...]
  width: int
  offset: int
  masked: bool = False

  def __post_init__(self):
    bad = [p for _, p in self.positions if not 0 <= p < self.width]
    if bad:
      raise ValueError(f"OneHotGroups({self.field}).positions {bad} outside [0, {self.width})")

  @property
  def end(self) -> int:
    return self.offset + self.width * len(self.entries)


@dataclasses.dataclass(frozen=True)
class EncodingLayout:
  """The feature layout of one encoding variant for one space.

  Attributes:
    variant: the variant's name (a key of `VARIANTS`).
    groups: the one-hot groups in feature order, contiguous from 0.
  """
  variant: str
  groups: tuple[OneHotGroups, ...]

  def __post_init__(self):
    offset = 0
    for g in self.groups:
      if g.offset != offset:
        raise ValueError(f"layout {self.variant}: group {g.field} starts at {g.offset}, "
                         f"expected {offset} (groups must be contiguous)")
      offset = g.end

  @property
  def dim(self) -> int:
    """Feature count."""
    return self.groups[-1].end if self.groups else 0

  def offsets(self) -> dict[str, int]:
    """{field: feature index of its first group}."""
    out: dict[str, int] = {}
    for g in self.groups:
      out.setdefault(g.field, g.offset)
    return out


class _Builder:
  """Appends groups at consecutive offsets."""

  def __init__(self, variant: str):
    self.variant, self.groups, self.offset = variant, [], 0

  def add(self, field: str, entries, positions: Mapping, masked: bool = False,
          width: int | None = None) -> None:
    width = width if width is not None else len(positions)
    group = OneHotGroups(field, tuple(entries), tuple(positions.items()), width, self.offset,
                         masked)
    self.groups.append(group)
    self.offset = group.end

  def layout(self) -> EncodingLayout:
    return EncodingLayout(self.variant, tuple(self.groups))


def ofa_tf_layout(space: SearchSpace) -> EncodingLayout:
  """Our generic layout (see the module docstring); 25 + 120 = 145 dims for OFA-MobileNetV3."""
  builder = _Builder("ofa_tf")
  builder.add(RESOLUTION, (0,), {r: i for i, r in enumerate(space.resolutions)})
  for d in space.elastic_dims():
    if d.depth:
      continue
    for i, entry in enumerate(d.choices):
      builder.add(d.name, (i,), {v: k for k, v in enumerate(entry)}, d.scope == "block")
  return builder.layout()


def _require(space: SearchSpace, variant: str, name: str, size: int, values: tuple) -> None:
  """Checks that `space` has dimension `name` with `size` entries whose values `values` cover.

  Raises:
    ValueError: naming the variant, the space and what differs.
  """
  if name not in space.dim_names:
    raise ValueError(f"encoding {variant} needs an elastic dimension {name!r}; space "
                     f"{space.name} has {space.dim_names}")
  d = space.dim(name)
  if d.size != size:
    raise ValueError(f"encoding {variant} needs {size} entries of {name!r}; space {space.name} "
                     f"has {d.size}")
  extra = sorted(set(d.values) - set(values))
  if extra:
    raise ValueError(f"encoding {variant} encodes {name} values {values}; space {space.name} "
                     f"also allows {extra}")


def _require_resolutions(space: SearchSpace, variant: str, allowed) -> None:
  bad = [r for r in space.resolutions if r not in allowed]
  if bad:
    raise ValueError(f"encoding {variant} cannot encode resolutions {bad} of space "
                     f"{space.name}; restrict the space's resolutions")


MBV3_KERNELS = (3, 5, 7)
MBV3_EXPANDS = (3, 4, 6)
MBV3_BLOCKS = 20
# The released predictor's resolution one-hot: index (r - 112) // 16 for r in [112, 240).
MBV3_RESOLUTION_RANGE = (112, 240)
# Resolutions the released MBv3 predictor is used at: one per 16-px bucket of its 160-224
# range (it cannot tell 160 from 172, so a bucket's smallest resolution dominates the others);
# also the resolutions of the released Note10 latency tables.
MBV3_RESOLUTIONS = (160, 176, 192, 208, 224)


def released_mbv3_layout(space: SearchSpace) -> EncodingLayout:
  """The 128-d layout of the released OFA-MobileNetV3 predictor (module docstring).

  Raises:
    ValueError: `space` is not a 20-block space with kernels within (3, 5, 7), expand ratios
      within (3, 4, 6) and resolutions in [112, 240).
  """
  variant = "released_mbv3"
  _require(space, variant, "ks", MBV3_BLOCKS, MBV3_KERNELS)
  _require(space, variant, "e", MBV3_BLOCKS, MBV3_EXPANDS)
  _require_resolutions(space, variant, range(*MBV3_RESOLUTION_RANGE))
  builder = _Builder(variant)
  blocks = range(MBV3_BLOCKS)
  builder.add("ks", blocks, {k: i for i, k in enumerate(MBV3_KERNELS)}, masked=True)
  builder.add("e", blocks, {e: i for i, e in enumerate(MBV3_EXPANDS)}, masked=True)
  builder.add(RESOLUTION, (0,), {r: (r - 112) // 16 for r in range(*MBV3_RESOLUTION_RANGE)},
              width=8)
  return builder.layout()


RESNET50_RESOLUTIONS = (128, 144, 160, 176, 192, 224, 240, 256)
RESNET50_EXPANDS = (0.2, 0.25, 0.35)
RESNET50_WIDTH_INDICES = (0, 1, 2)
RESNET50_STEM_DEPTHS = (0, 2)
RESNET50_BLOCKS = 18


def released_resnet50_layout(space: SearchSpace) -> EncodingLayout:
  """The 82-d layout of the released OFA-ResNet50 predictor (module docstring).

  Raises:
    ValueError: `space` lacks the `d` (5 entries, d[0] in (0, 2)), `w` (6 width indices) or
      `e` (18 blocks of (0.2, 0.25, 0.35)) dimensions, or has a resolution outside the 8.
  """
  variant = "released_resnet50"
  _require(space, variant, "w", 6, RESNET50_WIDTH_INDICES)
  _require(space, variant, "e", RESNET50_BLOCKS, RESNET50_EXPANDS)
  if "d" not in space.dim_names or space.dim("d").size != 5 or not set(
      space.dim("d").choices[0]) <= set(RESNET50_STEM_DEPTHS):
    raise ValueError(f"encoding {variant} needs a 5-entry depth 'd' whose first entry (the "
                     f"input stem) is in {RESNET50_STEM_DEPTHS}; space {space.name} does not")
  _require_resolutions(space, variant, RESNET50_RESOLUTIONS)
  builder = _Builder(variant)
  builder.add(RESOLUTION, (0,), {r: i for i, r in enumerate(RESNET50_RESOLUTIONS)})
  builder.add("d", (0,), {d: int(d > 0) for d in RESNET50_STEM_DEPTHS})
  builder.add("w", range(6), {w: i for i, w in enumerate(RESNET50_WIDTH_INDICES)})
  builder.add("e", range(RESNET50_BLOCKS), {e: i for i, e in enumerate(RESNET50_EXPANDS)},
              masked=True)
  return builder.layout()


VARIANTS: dict[str, Callable[[SearchSpace], EncodingLayout]] = {
    "ofa_tf": ofa_tf_layout,
    "released_mbv3": released_mbv3_layout,
    "released_resnet50": released_resnet50_layout,
}


def layout_for(space: SearchSpace, variant: str = "ofa_tf") -> EncodingLayout:
  """The feature layout of `variant` over `space`.

  Raises:
    ValueError: unknown variant (the message lists them), or `space` does not fit it.
  """
  if variant not in VARIANTS:
    raise ValueError(f"unknown encoding variant {variant!r}; known: {sorted(VARIANTS)}")
  return VARIANTS[variant](space)
