"""Whether the subnets of a space map fully onto the EdgeTPU: sample, export, analyze.

Each subnet is built from its `NetworkSpec` with fresh random weights and BN statistics,
exported with the `edgetpu_int8` recipe (full integer, int8 I/O, batch 1, h-swish
decomposed) calibrated on random images, and analyzed by `edgetpu.analyze_edgetpu` (the
EdgeTPU compiler 16's rules: op types, op versions, int8 tensors, static shapes). Mapping
depends on the graph's ops, shapes and dtypes only, not on trained values, so random weights
and images give the verdict a trained subnet would get. A fully mapped model has every op on
the EdgeTPU: the compiler puts them all into one EdgeTPU subgraph (one `edgetpu-custom-op`).
The analyzer is a model of the compiler; `export/compile_edgetpu.sh` with the real compiler
is the ground truth.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import tempfile
from typing import Callable, Optional

import numpy as np

from ofa_tf.export import converter
from ofa_tf.export import edgetpu
from ofa_tf.export import recipes
from ofa_tf.networks.static_network import build_static_model
from ofa_tf.search_space import SearchSpace, SubnetConfig

# Samples per subnet: calibration only sets quantization ranges, which do not change the graph.
NUM_CALIBRATION = 8


@dataclasses.dataclass(frozen=True)
class SubnetMapping:
  """The EdgeTPU mapping of one exported subnet.

  Attributes:
    config: the subnet.
    macs: multiply-accumulates per image (`space.macs`).
    params: parameters (`space.params`).
    size_bytes: size of the int8 .tflite file.
    report: the analyzer's report.
  """
  config: SubnetConfig
  macs: int
  params: int
  size_bytes: int
  report: edgetpu.EdgeTpuReport

  @property
  def fully_mapped(self) -> bool:
    return self.report.fully_mapped

  @property
  def edgetpu_subgraphs(self) -> int:
    """EdgeTPU subgraphs the compiler makes: 1 when any op maps (it maps one prefix), else 0."""
    return int(self.report.ops_on_edgetpu > 0)

  def format(self) -> str:
    c = self.config
    ops = self.report.ops_on_edgetpu + self.report.ops_on_cpu
    text = (f"r={c.r} d={','.join(map(str, c.d))} MACs {self.macs / 1e6:.1f}M params "
            f"{self.params / 1e6:.2f}M int8 {self.size_bytes / 1024:.0f} KiB: "
            f"{self.report.ops_on_edgetpu}/{ops} ops on EdgeTPU, "
            f"{self.edgetpu_subgraphs} EdgeTPU subgraph(s), ")
    if self.fully_mapped:
      return text + "fully mapped"
    return text + f"CPU from op {self.report.first_cpu_op}"


def sample_subnets(space: SearchSpace, num_subnets: int, rng: np.random.Generator
                   ) -> list[SubnetConfig]:
  """The smallest subnet (smallest resolution), the largest (largest resolution), then
  random subnets, all different networks (distinct canonical forms).

  Raises:
    ValueError: `num_subnets` < 1, or not enough distinct subnets after 100 draws each.
  """
  if num_subnets < 1:
    raise ValueError(f"num_subnets must be >= 1, got {num_subnets}")
  configs, seen = [], set()
  candidates = itertools.chain((space.min_config(), space.max_config()),
                               (space.sample(rng) for _ in range(100 * num_subnets)))
  for config in candidates:
    if len(configs) == num_subnets:
      break
    if space.canonical(config) not in seen:
      seen.add(space.canonical(config))
      configs.append(config)
  if len(configs) < num_subnets:
    raise ValueError(f"found {len(configs)} distinct subnets of space {space.name} in "
                     f"{100 * num_subnets} draws, fewer than num_subnets={num_subnets}")
  return configs


def map_subnet(space: SearchSpace, config: SubnetConfig, rng: np.random.Generator,
               recipe: str | recipes.TargetRecipe = "edgetpu_int8",
               num_calibration: int = NUM_CALIBRATION) -> SubnetMapping:
  """Exports subnet `config` (random weights, random calibration images) and analyzes it.

  Args:
    space: the search space.
    config: the subnet (validated).
    rng: generator of the calibration images (uniform in [-1, 1], [N, r, r, 3] float32).
    recipe: an int8 recipe or its name; its mapping requirement is reported, not enforced.
    num_calibration: calibration images.

  Raises:
    ValueError: `config` is not valid for `space`, or the recipe is not int8.
    converter.ExportError: the conversion failed.
  """
  if isinstance(recipe, str):
    recipe = recipes.get_recipe(recipe)
  if recipe.quantization != "int8":
    raise ValueError(f"recipe {recipe.name} is not int8; the EdgeTPU runs int8 models only")
  recipe = dataclasses.replace(recipe, require_edgetpu_mapping=False,
                               num_calibration_samples=num_calibration)
  spec = space.network_spec(config)
  model = build_static_model(spec, batch_size=1)
  images = rng.uniform(-1.0, 1.0, (num_calibration, config.r, config.r, 3)).astype(np.float32)
  with tempfile.TemporaryDirectory() as d:
    result = converter.export_tflite(model, recipe, images, os.path.join(d, "subnet.tflite"))
  return SubnetMapping(config, space.macs(config), space.params(config), result.size_bytes,
                       result.edgetpu_report)


def map_space(space: SearchSpace, num_subnets: int, seed: int = 0,
              recipe: str | recipes.TargetRecipe = "edgetpu_int8",
              log: Optional[Callable[[str], None]] = None) -> list[SubnetMapping]:
  """`map_subnet` for `sample_subnets(space, num_subnets)`; `log` gets one line per subnet."""
  rng = np.random.default_rng(seed)
  out = []
  for i, config in enumerate(sample_subnets(space, num_subnets, rng)):
    out.append(map_subnet(space, config, rng, recipe))
    if log:
      log(f"[{i + 1:3d}/{num_subnets}] {out[-1].format()}")
  return out


def summary_line(results: list[SubnetMapping]) -> str:
  """`M/N subnets fully mapped, one EdgeTPU subgraph each`."""
  ok = sum(r.fully_mapped and r.edgetpu_subgraphs == 1 for r in results)
  return f"{ok}/{len(results)} subnets fully mapped, one EdgeTPU subgraph each"
