r"""Trains the accuracy predictor on <workdir>/accuracy_dataset.jsonl and prints its quality.

  bazel run //trainers:train_accuracy_predictor -- --workdir=/tmp/ofa

Writes <workdir>/accuracy_predictor/ (predictor.json with the space, weights.npz) and prints
the held-out RMSE (top-1 points) and Kendall tau of the 80/20 split.
"""

from absl import flags, logging

from ofa_tf import cli
from ofa_tf.search import jobs
from ofa_tf.search.accuracy_predictor import PredictorTrainConfig

_WORKDIR = flags.DEFINE_string("workdir", None, "Work directory with the dataset.",
                               required=True)
_EPOCHS = flags.DEFINE_integer("epochs", PredictorTrainConfig.epochs, "Training epochs.")
_LR = flags.DEFINE_float("learning_rate", PredictorTrainConfig.learning_rate, "Adam LR.")
_BATCH = flags.DEFINE_integer("batch_size", PredictorTrainConfig.batch_size, "Batch size.")
_SEED = flags.DEFINE_integer("seed", 0, "Seed of the split, initialization and batches.")
_OVERWRITE = flags.DEFINE_bool("overwrite", False, "Replace an existing predictor.")


def config_from_flags() -> jobs.TrainPredictorJobConfig:
  train = PredictorTrainConfig(epochs=_EPOCHS.value, learning_rate=_LR.value,
                               batch_size=_BATCH.value, seed=_SEED.value)
  return jobs.TrainPredictorJobConfig(workdir=_WORKDIR.value, train=train,
                                      overwrite=_OVERWRITE.value)


def main(argv):
  cli.run_from_invocation_directory()
  del argv
  report = jobs.train_predictor_job(config_from_flags())
  logging.info("accuracy predictor: %s", report)
  print(f"held-out RMSE {report.val_rmse:.3f} top-1 points, Kendall tau "
        f"{report.val_kendall_tau:.3f} ({report.num_train} train / {report.num_val} held out)")


if __name__ == "__main__":
  cli.run(main)
