"""Reads the released OFA accuracy predictors into ofa-tf's predictor format.

Two layouts exist (../shared/reference/README.md, "acc_mbv3_seed0.* and acc_resnet50_seed0.*"):

- "sequential" (`acc_predictor.pth`, OFA-MobileNetV3 w1.2, reference
  `ofa/tutorial/accuracy_predictor.py`): a bare state dict of `nn.Sequential(Linear(128, 400),
  ReLU, Linear(400, 400), ReLU, Linear(400, 400), ReLU, Linear(400, 1))`, keys `0.weight` ...
  `6.bias`; input in the "released_mbv3" encoding.
- "generic" (`ofa_resnet50_acc_predictor.pth`, reference
  `ofa/nas/accuracy_predictor/acc_predictor.py`): `layers.{i}.0.{weight,bias}` (Linear + ReLU),
  `layers.{n}.weight` (Linear to 1, no bias) and `base_acc` (added to the output); input in
  the "released_resnet50" encoding.

Both output top-1 as a fraction; the weights are read as our MLP (kernels transposed to
[in, out]) with the output layer scaled by 100 and `base_acc` folded into its bias, so the
predictor answers in percent like every ofa-tf predictor. The file is read without PyTorch
(`torch_checkpoint`), and the result is only returned once every check passed.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from typing import Any, Sequence

import numpy as np

from ofa_tf import atomic_files
from ofa_tf import search_space as ss
from ofa_tf.interop import import_workdir
from ofa_tf.interop.torch_checkpoint import read_torch_file
from ofa_tf.search import accuracy_predictor as predictor_lib
from ofa_tf.search import encoding_layouts
from ofa_tf.search.accuracy_predictor import AccuracyPredictor
from ofa_tf.search.encoding import ArchEncoder

TOLERANCE = 1e-5  # Max |predicted top-1 fraction - reference| of a faithful reader.


@dataclasses.dataclass(frozen=True)
class ReleasedPredictor:
  """What a released predictor of one space looks like.

  Attributes:
    layout: the state-dict layout ("sequential" or "generic", module docstring).
    encoding: the encoding variant of its input (`ofa_tf.search.encoding_layouts`).
    resolutions: the resolutions the imported predictor's space searches (default).
    release_file: the released file's name, for messages.
  """
  layout: str
  encoding: str
  resolutions: tuple[int, ...]
  release_file: str


RELEASED = {
    "ofa_mbv3_w1.2": ReleasedPredictor("sequential", "released_mbv3",
                                       encoding_layouts.MBV3_RESOLUTIONS, "acc_predictor.pth"),
    "ofa_resnet50": ReleasedPredictor("generic", "released_resnet50",
                                      encoding_layouts.RESNET50_RESOLUTIONS,
                                      "ofa_resnet50_acc_predictor.pth"),
}
_LAYOUT_KEYS = {"sequential": "0.weight, 0.bias, 2.*, 4.*, 6.* (nn.Sequential)",
                "generic": "layers.{i}.0.weight/bias, layers.{n}.weight, base_acc"}


def detect_layout(state: dict[str, Any], source: str = "state dict"
                  ) -> tuple[str, list[tuple[np.ndarray, np.ndarray]]]:
  """The layout of a released predictor's state dict and its layers as PyTorch tensors.

  Args:
    state: key -> array, as read from the file.
    source: the file, for messages.

  Returns:
    (layout, [(weight [out, in], bias [out]), ...]) with the generic layout's `base_acc`
    already added to the (zero) output bias.

  Raises:
    ValueError: the keys are neither layout, or a tensor has the wrong rank or is not finite.
  """
  keys = sorted(state)
  sequential = [int(m[1]) for k in keys if (m := re.fullmatch(r"(\d+)\.(weight|bias)", k))]
  generic = [int(m[1]) for k in keys if (m := re.fullmatch(r"layers\.(\d+)\.0\.(weight|bias)", k))]
  layers: list[tuple[Any, Any]]
  if sequential and len(sequential) == len(keys):
    layout = "sequential"
    indices = sorted(set(sequential))
    if indices != list(range(0, 2 * len(indices), 2)):
      raise ValueError(f"{source}: nn.Sequential Linear layers at {indices}; expected 0, 2, 4, ... "
                       f"(Linear, ReLU, ...)")
    layers = [(state.get(f"{i}.weight"), state.get(f"{i}.bias")) for i in indices]
  elif generic and "base_acc" in state:
    layout = "generic"
    n = len(set(generic))
    expected = ({f"layers.{i}.0.{leaf}" for i in range(n) for leaf in ("weight", "bias")} |
                {f"layers.{n}.weight", "base_acc"})
    if set(keys) != expected:
      raise ValueError(f"{source}: the generic predictor layout needs keys "
                       f"{sorted(expected)}; the file has {keys}")
    base = np.asarray(state["base_acc"], np.float64).reshape(-1)
    if base.shape != (1,):
      raise ValueError(f"{source}: base_acc has shape {state['base_acc'].shape}; expected (1,)")
    layers = [(state[f"layers.{i}.0.weight"], state[f"layers.{i}.0.bias"]) for i in range(n)]
    layers.append((state[f"layers.{n}.weight"], base.astype(np.float32)))
  else:
    raise ValueError(f"{source}: not a released accuracy-predictor layout; keys {keys[:8]}"
                     f"{' ...' if len(keys) > 8 else ''}; expected one of "
                     f"{sorted(_LAYOUT_KEYS.values())}")
  for i, (weight, bias) in enumerate(layers):
    if weight is None or bias is None:
      raise ValueError(f"{source}: layer {i} lacks its weight or bias")
    weight, bias = np.asarray(weight), np.asarray(bias)
    if weight.ndim != 2 or bias.shape != (weight.shape[0],):
      raise ValueError(f"{source}: layer {i} has weight {weight.shape} and bias {bias.shape}; "
                       f"expected [out, in] and [out]")
    if not (np.issubdtype(weight.dtype, np.floating) and np.all(np.isfinite(weight)) and
            np.all(np.isfinite(bias))):
      raise ValueError(f"{source}: layer {i} is not finite floating point")
  return layout, [(np.asarray(w), np.asarray(b)) for w, b in layers]


def read_released_predictor(path: str, space: str | ss.SearchSpace,
                            resolutions: Sequence[int] | None = None) -> AccuracyPredictor:
  """Reads a released predictor file as an `AccuracyPredictor` of `space_name`.

  Args:
    path: the `.pth` (`acc_predictor.pth` or `ofa_resnet50_acc_predictor.pth` layout; a
      `{'state_dict': ...}` wrapper is accepted).
    space: "ofa_mbv3_w1.2" or "ofa_resnet50" (a registered space), or a space object of one
      of those names.
    resolutions: resolutions of the predictor's space; default `RELEASED[name].resolutions`.

  Returns:
    The predictor: its space is `space` with `resolutions`, its encoding the
    released variant, its output top-1 in percent (100 x the file's fraction).

  Raises:
    FileNotFoundError: no such file.
    torch_checkpoint.CheckpointFormatError: truncated or corrupt file (a ValueError).
    ValueError: an unknown space, a file of the other layout, or an input width that is not
      the encoding's width for the space.
  """
  space_name = space if isinstance(space, str) else space.name
  if space_name not in RELEASED:
    raise ValueError(f"no released accuracy predictor for space {space_name!r}; known: "
                     f"{sorted(RELEASED)}")
  release = RELEASED[space_name]
  obj = read_torch_file(path)
  if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
    obj = obj["state_dict"]
  if not isinstance(obj, dict) or not all(isinstance(v, np.ndarray) for v in obj.values()):
    raise ValueError(f"{path}: not a state dict of tensors")
  layout, layers = detect_layout(obj, path)
  if layout != release.layout:
    raise ValueError(f"{path} has the {layout} predictor layout ({_LAYOUT_KEYS[layout]}); space "
                     f"{space_name} needs the {release.layout} layout of {release.release_file} "
                     f"({_LAYOUT_KEYS[release.layout]})")
  space = (ss.get_space(space) if isinstance(space, str) else space).replace(
      resolutions=tuple(resolutions) if resolutions else release.resolutions)
  width = ArchEncoder(space, release.encoding).dim
  if layers[0][0].shape[1] != width or layers[-1][0].shape[0] != 1:
    raise ValueError(f"{path}: the predictor maps {layers[0][0].shape[1]} -> "
                     f"{layers[-1][0].shape[0]} features; space {space_name} in encoding "
                     f"{release.encoding} needs {width} -> 1")
  weights = [(w.T.astype(np.float32), b.astype(np.float32)) for w, b in layers]
  weights[-1] = (weights[-1][0] * np.float32(100.0), weights[-1][1] * np.float32(100.0))
  source = {"file": os.path.abspath(path), "sha256": import_workdir.sha256(path),
            "layout": layout, "release_file": release.release_file}
  return AccuracyPredictor(space, weights, encoding=release.encoding, source=source)


@dataclasses.dataclass(frozen=True)
class PredictorCase:
  """One reference case: its config, the reference and our predicted top-1 (fractions)."""
  index: int
  config: ss.SubnetConfig
  expected: float
  predicted: float

  @property
  def abs_diff(self) -> float:
    return abs(self.predicted - self.expected)

  @property
  def passed(self) -> bool:
    return self.abs_diff <= TOLERANCE


def verify_predictor_cases(predictor: AccuracyPredictor, path: str) -> list[PredictorCase]:
  """Predicts the configs of a cases file (`acc_*_cases.json`) and compares to its values.

  The configs are in the reference format (`{'ks', 'e', 'd', 'r': [r]}` or `{'d', 'e', 'w',
  'image_size': r}`); they are encoded with the predictor's encoding over its space widened
  to the cases' resolutions.

  Raises:
    FileNotFoundError: no such file.
    ValueError: not a cases file, or a config that is not a subnet of the predictor's space.
  """
  with open(path) as f:
    data = json.load(f)
  if not isinstance(data, dict) or not isinstance(data.get("cases"), list):
    raise ValueError(f"{path}: not a predictor cases file (no 'cases' list)")
  try:
    configs = [ss.SubnetConfig.from_dict(c["config"]) for c in data["cases"]]
    expected = [float(c["predicted"]) for c in data["cases"]]
  except (KeyError, TypeError) as e:
    raise ValueError(f"{path}: a case lacks 'config' or 'predicted': {e}") from None
  space = predictor.space
  space = space.replace(resolutions=tuple(sorted(set(space.resolutions) |
                                                 {c.r for c in configs})))
  features = ArchEncoder(space, predictor.encoding).encode(configs)
  predicted = predictor.predict_features(features) / 100.0
  return [PredictorCase(i, c, e, float(p))
          for i, (c, e, p) in enumerate(zip(configs, expected, predicted))]


def predictor_destination(output: str) -> str:
  """Where `install_predictor` writes: `<output>/accuracy_predictor/` if `output` is a work
  directory (it holds `space.json`), else `output` itself."""
  from ofa_tf import workdir as workdir_lib  # pylint: disable=g-import-not-at-top
  if os.path.isfile(os.path.join(output, workdir_lib.SPACE_FILE)):
    return os.path.join(output, predictor_lib.WORKDIR_SUBDIR)
  return output


def install_predictor(predictor: AccuracyPredictor, output: str,
                      overwrite: bool = False) -> str:
  """Writes `predictor` as a directory, atomically (staged beside it, then `os.replace`).

  Args:
    predictor: the predictor.
    output: a predictor directory to create, or a work directory (holding `space.json`),
      whose `accuracy_predictor/` is where `trainers/search.py --workdir` looks.
    overwrite: replace an existing predictor there.

  Returns:
    The predictor directory written.

  Raises:
    FileExistsError: a non-empty destination and `overwrite` is False.
    ValueError: `output` is a work directory of another space than the predictor's.
  """
  from ofa_tf import workdir as workdir_lib  # pylint: disable=g-import-not-at-top
  destination = os.path.abspath(predictor_destination(output))
  if destination != os.path.abspath(output):
    workdir_space = workdir_lib.read_space(output)
    if workdir_space.name != predictor.space.name:
      raise ValueError(f"work directory {output} holds space {workdir_space.name!r}; the "
                       f"predictor is for {predictor.space.name!r}")
  atomic_files.write_directory(destination, lambda staging: predictor.save(staging, True),
                               overwrite)
  return destination


@dataclasses.dataclass(frozen=True)
class ImportJob:
  """Import a released predictor: read, verify, then write (export/import_accuracy_predictor).

  Attributes:
    checkpoint: the released predictor `.pth`.
    space: "ofa_mbv3_w1.2" or "ofa_resnet50".
    output: predictor directory or work directory to write into (None: nothing written).
    verify_cases: a cases JSON of reference predictions to check first (None: no check).
    resolutions: resolutions of the predictor's space (None: the release's).
    overwrite: replace an existing predictor at the destination.
  """
  checkpoint: str
  space: str
  output: str | None = None
  verify_cases: str | None = None
  resolutions: tuple[int, ...] | None = None
  overwrite: bool = False


class CasesMismatchError(ValueError):
  """Some reference cases differ by more than `TOLERANCE`; `results` holds every case."""

  def __init__(self, results: list[PredictorCase]):
    failed = [r.index for r in results if not r.passed]
    super().__init__(f"cases {failed} differ from the reference by more than {TOLERANCE:g}")
    self.results = results


@dataclasses.dataclass(frozen=True)
class ImportResult:
  """The imported predictor, its checked cases (empty without a cases file), where it went."""
  predictor: AccuracyPredictor
  cases: tuple[PredictorCase, ...]
  directory: str | None


def run_import(job: ImportJob) -> ImportResult:
  """Reads the predictor, checks the cases, and only then writes it (`install_predictor`).

  Raises:
    CasesMismatchError: a case is above the tolerance (nothing written).
    FileNotFoundError, ValueError (CheckpointFormatError included), FileExistsError: see
      `read_released_predictor`, `verify_predictor_cases` and `install_predictor`; nothing is
      written.
  """
  predictor = read_released_predictor(job.checkpoint, job.space, job.resolutions)
  cases: list[PredictorCase] = []
  if job.verify_cases:
    cases = verify_predictor_cases(predictor, job.verify_cases)
    if not all(c.passed for c in cases):
      raise CasesMismatchError(cases)
  directory = None
  if job.output:
    directory = install_predictor(predictor, job.output, job.overwrite)
  return ImportResult(predictor, tuple(cases), directory)
