"""Work-directory jobs behind the binaries: train the predictor, search, write the report.

Work directory layout (beside the trainer's checkpoints):
  accuracy_dataset.jsonl (+ .space.json)   measured subnets (`dataset`)
  accuracy_predictor/                      predictor.json + weights.npz (`predictor`)
  search/result.json                       chosen subnet(s), predicted top-1 and metrics
  search/best_subnet.json                  the chosen subnet as SubnetConfig JSON
  search/front.png                         predicted top-1 vs. the (first) constrained metric
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np

from ofa_tf import atomic_files
from ofa_tf.search import accuracy_dataset as dataset_lib
from ofa_tf.search.constraints import Constraint, LatencyFactory, Metrics
from ofa_tf.search.evolution import Candidate, EvolutionConfig, evolutionary_search
from ofa_tf.search.files import write_json
from ofa_tf.search.pareto import default_budgets, pareto_sweep
from ofa_tf.search.accuracy_predictor import AccuracyPredictor, PredictorReport, PredictorTrainConfig
from ofa_tf.search.accuracy_predictor import train_predictor
from ofa_tf.search import accuracy_predictor as predictor_lib
from ofa_tf.search.report import format_table, plot_front, random_cloud

PREDICTOR_DIR = predictor_lib.WORKDIR_SUBDIR
SEARCH_DIR = "search"


@dataclasses.dataclass(frozen=True)
class TrainPredictorJobConfig:
  """Train the accuracy predictor on `<workdir>/accuracy_dataset.jsonl`.

  Attributes:
    workdir: the trained work directory.
    train: predictor hyper-parameters and seed.
    overwrite: replace an existing `<workdir>/accuracy_predictor/`.
  """
  workdir: str
  train: PredictorTrainConfig = dataclasses.field(default_factory=PredictorTrainConfig)
  overwrite: bool = False


def train_predictor_job(config: TrainPredictorJobConfig) -> PredictorReport:
  """Trains, saves to `<workdir>/accuracy_predictor/` and returns the held-out report.

  Raises:
    FileNotFoundError: no accuracy dataset in the work directory.
    FileExistsError: a predictor exists and `overwrite` is False.
  """
  path = os.path.join(config.workdir, dataset_lib.DATASET_FILE)
  rows = dataset_lib.read_rows(path)
  if not rows:
    raise FileNotFoundError(f"no accuracy dataset rows in {path}: run "
                            f"trainers/build_accuracy_dataset.py first")
  out = os.path.join(config.workdir, PREDICTOR_DIR)
  if os.path.exists(os.path.join(out, "predictor.json")) and not config.overwrite:
    raise FileExistsError(f"{out} holds a predictor; pass overwrite to replace it")
  space = dataset_lib.read_space(path)
  predictor, report = train_predictor(space, [r.config for r in rows], [r.top1 for r in rows],
                                      config.train)
  predictor.save(out, overwrite=config.overwrite)
  return report


@dataclasses.dataclass(frozen=True)
class SearchJobConfig:
  """Search a trained work directory's predictor under constraints.

  Attributes:
    workdir: holds `accuracy_predictor/`; outputs go to `<workdir>/search/`.
    constraints: constraint strings ("macs:300e6", "latency_ms:cpu_xnnpack_1t:5", ...).
    pareto: sweep the first constraint's budget from just above its smallest achievable
      value up to the given budget (or up to the largest subnet's value, sweeping MACs, if
      no constraint is given); the other constraints stay fixed.
    num_budgets: budgets of the Pareto sweep.
    evolution: evolution settings (reference defaults).
    cloud_size: random subnets drawn in the plot.
    overwrite: replace existing outputs.
  """
  workdir: str
  constraints: tuple[str, ...] = ()
  pareto: bool = False
  num_budgets: int = 8
  evolution: EvolutionConfig = dataclasses.field(default_factory=EvolutionConfig)
  cloud_size: int = 2000
  overwrite: bool = False

  def __post_init__(self):
    object.__setattr__(self, "constraints", tuple(self.constraints))
    for text in self.constraints:
      Constraint.parse(text)
    if self.num_budgets < 1:
      raise ValueError(f"SearchJobConfig.num_budgets must be >= 1, got {self.num_budgets}")


@dataclasses.dataclass(frozen=True)
class SearchJobResult:
  """The chosen subnet(s), the front, the printed table and the files written."""
  chosen: tuple[Candidate, ...]
  front: tuple[Candidate, ...]
  table: str
  files: tuple[str, ...]


def run_search_job(config: SearchJobConfig,
                   latency_factory: LatencyFactory | None = None) -> SearchJobResult:
  """Loads the predictor, searches (once or as a Pareto sweep) and writes the report.

  Args:
    config: the job.
    latency_factory: device profile -> batched latency predictor, for latency constraints.

  Returns:
    A `SearchJobResult`.

  Raises:
    InfeasibleConstraintsError: no subnet satisfies the constraints.
    atomic_files.OutputExistsError: outputs exist and `overwrite` is False (checked, with
      the output directory's writability, before the search).
  """
  out = os.path.join(config.workdir, SEARCH_DIR)
  result_path = os.path.join(out, "result.json")
  best_path = os.path.join(out, "best_subnet.json")
  plot_path = os.path.join(out, "front.png")
  for path in (result_path, best_path, plot_path):  # Before the search, not after it.
    atomic_files.check_output(path, config.overwrite)
  predictor = AccuracyPredictor.load(os.path.join(config.workdir, PREDICTOR_DIR))
  metrics = Metrics(predictor.space, latency_factory)
  constraints = [Constraint.parse(text) for text in config.constraints]
  accuracy_fn = predictor.predict_genes
  if config.pareto:
    sweep = constraints[0] if constraints else None
    key = sweep.key if sweep else "macs"
    fixed = constraints[1:]
    budgets = default_budgets(metrics, key, config.num_budgets)
    if sweep is not None:
      metrics.check_feasible(constraints)
      budgets = np.geomspace(min(budgets[0], sweep.budget), sweep.budget, config.num_budgets)
    result = pareto_sweep(metrics, accuracy_fn, key, budgets, fixed, config.evolution)
    front = tuple(result.front_candidates())
    chosen = front
    budget_marks = result.budgets
    payload = result.to_dict()
  else:
    search = evolutionary_search(metrics, accuracy_fn, constraints, config.evolution)
    key = constraints[0].key if constraints else "macs"
    chosen = (search.best,)
    front, budget_marks = (), tuple(c.budget for c in constraints if c.key == key)
    payload = search.to_dict()
  keys = list(dict.fromkeys([key] + [c.key for c in constraints] +
                            ["macs", "params", "int8_size_bytes"]))
  payload["space"] = predictor.space.name
  payload["chosen"] = [c.to_dict() for c in chosen]
  best = max(chosen, key=lambda c: c.predicted_top1)
  write_json(result_path, payload, config.overwrite)
  write_json(best_path, best.config.to_dict(), config.overwrite)
  cloud = random_cloud(metrics, accuracy_fn, key, config.cloud_size, config.evolution.seed)
  plot_front(plot_path, key, front, chosen, cloud,
             title=f"{predictor.space.name}: " + (", ".join(config.constraints) or "no constraint"),
             budgets=budget_marks, overwrite=config.overwrite)
  return SearchJobResult(chosen=tuple(chosen), front=front, table=format_table(chosen, keys),
                         files=(result_path, best_path, plot_path))
