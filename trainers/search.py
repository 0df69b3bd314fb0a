r"""Searches a trained work directory for the most accurate subnet under constraints.

  bazel run //trainers:search -- --workdir=/tmp/ofa --constraint=macs:300e6
  bazel run //trainers:search -- --workdir=/tmp/ofa \
      --constraint=latency_ms:cpu_xnnpack_1t:5 --constraint=int8_size_bytes:2e6
  bazel run //trainers:search -- --workdir=/tmp/ofa \
      --constraint='latency_ms:cpu_xnnpack_1t_int8|cpu_builtin_1t_int8:20'
  bazel run //trainers:search -- --workdir=/tmp/ofa --constraint=macs:300e6 --pareto

The predictor is `<workdir>/accuracy_predictor/`: trained by trainers/train_accuracy_predictor.py
or a released one put there by export/import_accuracy_predictor.py. Every --constraint must
hold. A latency constraint naming several profiles joined by "|" bounds the best of them (the
app picks the fastest delegate for the chosen subnet). --pareto sweeps the first constraint's
budget up to its value (others fixed) and reports the front. Writes
<workdir>/search/{result.json,best_subnet.json,front.png} and prints a table.

Latency constraints use `ofa_tf.latency.predictor.load_latency_fn(tables_dir, profile)`,
which returns a batched `Sequence[SubnetConfig] -> np.ndarray` of ms.
"""

import os

from absl import flags, logging

from ofa_tf import cli
from ofa_tf.search import jobs
from ofa_tf.search.evolution import EvolutionConfig

_WORKDIR = flags.DEFINE_string("workdir", None, "Work directory with accuracy_predictor/.",
                               required=True)
_CONSTRAINTS = flags.DEFINE_multi_string(
    "constraint", [], "macs:<n> | params:<n> | int8_size_bytes:<n> | "
    "edgetpu_model_ms:<ms> (a model) | latency_ms:<profile>:<ms> | "
    "latency_ms:<profile>|<profile>...:<ms> (best of the profiles)")
_PARETO = flags.DEFINE_bool("pareto", False, "Sweep the first constraint's budget.")
_NUM_BUDGETS = flags.DEFINE_integer("num_budgets", 8, "Budgets of the Pareto sweep.")
_POPULATION = flags.DEFINE_integer("population_size", 100, "Evolution population.")
_GENERATIONS = flags.DEFINE_integer("generations", 500, "Evolution generations.")
_SEED = flags.DEFINE_integer("seed", 0, "Search seed.")
_LATENCY_TABLES = flags.DEFINE_string(
    "latency_tables_dir", None, "Latency lookup tables (default: <workdir>/latency).")
_HOST_CHECK = flags.DEFINE_enum(
    "latency_host_check", "warn", ["warn", "error", "ignore"],
    "A latency table measured on another host (CPU, ISA flags or LiteRT version differ) or "
    "without a host fingerprint: warn, refuse (error) or accept it (ignore).")
_OVERWRITE = flags.DEFINE_bool("overwrite", False, "Replace existing search outputs.")


def config_from_flags() -> jobs.SearchJobConfig:
  evolution = EvolutionConfig(population_size=_POPULATION.value,
                              generations=_GENERATIONS.value, seed=_SEED.value)
  return jobs.SearchJobConfig(workdir=_WORKDIR.value, constraints=tuple(_CONSTRAINTS.value),
                              pareto=_PARETO.value, num_budgets=_NUM_BUDGETS.value,
                              evolution=evolution, overwrite=_OVERWRITE.value)


def latency_factory(profile: str):
  """Device profile -> batched latency predictor, from the latency package's tables."""
  from ofa_tf.latency import predictor as latency_predictor  # Imported only when needed.
  tables_dir = _LATENCY_TABLES.value or os.path.join(_WORKDIR.value, "latency")
  return latency_predictor.load_latency_fn(tables_dir, profile, _HOST_CHECK.value)


def main(argv):
  cli.run_from_invocation_directory()
  del argv
  result = jobs.run_search_job(config_from_flags(), latency_factory)
  print(result.table)
  for path in result.files:
    logging.info("wrote %s", path)


if __name__ == "__main__":
  cli.run(main)
