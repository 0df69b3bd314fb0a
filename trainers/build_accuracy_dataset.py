r"""Builds the accuracy dataset of a trained work directory (Cai et al., ICLR 2020, Sec. 3.4).

Samples --num_subnets subnets with --seed, BN-recalibrates and evaluates each one at every
resolution of the space on the validation split (never the test split), and appends rows to
<workdir>/accuracy_dataset.jsonl. Re-running resumes: stored rows are kept, not re-evaluated.

  bazel run //trainers:build_accuracy_dataset -- --workdir=/tmp/ofa --num_subnets=200

Depends on `ofa_tf.training.evaluation.make_subnet_evaluator(workdir)`, which returns an
evaluator with a `space` attribute (the supernet's search space) that is called as
`evaluator(config) -> (top1 fraction, loss)`.
"""

import os

from absl import flags, logging

from ofa_tf import cli
from ofa_tf.search import accuracy_dataset as dataset

_WORKDIR = flags.DEFINE_string("workdir", None, "Trained work directory.", required=True)
_NUM_SUBNETS = flags.DEFINE_integer("num_subnets", 200, "Subnets to sample (x resolutions).")
_SEED = flags.DEFINE_integer("seed", 0, "Seed of the subnet sequence.")
_RESOLUTIONS = flags.DEFINE_list("resolutions", None,
                                 "Resolutions to measure (default: all of the space's).")


def _log_progress(progress: dataset.Progress) -> None:
  row = progress.row
  logging.info("[%d/%d] r=%d top1=%.4f loss=%.4f  elapsed %.0fs, ETA %.0fs", progress.done,
               progress.total, row.resolution, row.top1, row.loss, progress.elapsed_s,
               progress.eta_s)


def main(argv):
  cli.run_from_invocation_directory()
  del argv
  from ofa_tf.training import evaluation  # The trainer's BN-recalibrate-then-evaluate.
  evaluator = evaluation.make_subnet_evaluator(_WORKDIR.value)
  resolutions = [int(r) for r in _RESOLUTIONS.value] if _RESOLUTIONS.value else None
  rows = dataset.build_accuracy_dataset(
      evaluator.space, evaluator, os.path.join(_WORKDIR.value, dataset.DATASET_FILE),
      num_subnets=_NUM_SUBNETS.value, seed=_SEED.value, resolutions=resolutions,
      progress_fn=_log_progress)
  logging.info("%d rows in %s", len(rows), os.path.join(_WORKDIR.value, dataset.DATASET_FILE))


if __name__ == "__main__":
  cli.run(main)
