"""Trains an OFA supernet by progressive shrinking (Cai et al., ICLR 2020, Sec. 3.2-3.3).

With no flags: the `digits` preset (tiny OFA-MobileNetV3 space on scikit-learn's bundled
handwritten digits) through all six phases, in a fresh directory under ./workdirs/.

  python trainers/progressive_shrink.py [--preset=digits|smoke|imagenet] [--dataset=SPEC]
      [--workdir=DIR] [--strategy=default|mirrored|multi_worker|tpu] [--phases=full,kernel]
      [--execution_mode=auto|sliced|masked] [--synchronized_bn] [--overwrite]

Flags -> one `TrainConfig` (`config_from_flags`) -> `ofa_tf.training.trainer.train`.
"""

import datetime
import os
import sys

from absl import app
from absl import flags
from absl import logging

from ofa_tf import cli
from ofa_tf.training import config as config_lib

FLAGS = flags.FLAGS
flags.DEFINE_string("preset", "digits", f"Preset: one of {config_lib.preset_names()}.")
flags.DEFINE_string("dataset", None, "Dataset spec (digits | tfds:NAME | folder:PATH); "
                    "default: the preset's.")
flags.DEFINE_string("workdir", None, "Work directory; default: a fresh one under ./workdirs/.")
flags.DEFINE_enum("strategy", None, list(config_lib.STRATEGIES),
                  "tf.distribute strategy; default: the preset's ('default': "
                  "MultiWorkerMirrored when TF_CONFIG is set, else Mirrored).")
flags.DEFINE_list("phases", None, "Run only these phases (names), e.g. full,kernel.")
flags.DEFINE_enum("execution_mode", None, list(config_lib.EXECUTION_MODES),
                  "Supernet execution mode; auto = sliced on CPU/GPU, masked with XLA/TPU.")
flags.DEFINE_bool("jit_compile", None, "Compile the train step with XLA (uses masked mode).")
flags.DEFINE_bool("synchronized_bn", None, "BatchNorm statistics over all replicas (the "
                  "global batch); selects the masked execution mode.")
flags.DEFINE_integer("seed", None, "Run seed; default: the preset's.")
flags.DEFINE_bool("overwrite", False, "Discard what --workdir holds (another run) and restart.")


def config_from_flags() -> config_lib.TrainConfig:
  """The one typed config built from the flags (preset, then overrides)."""
  config = config_lib.get_preset(FLAGS.preset)
  overrides = {name: getattr(FLAGS, name) for name in (
      "dataset", "strategy", "execution_mode", "jit_compile", "synchronized_bn", "seed")}
  config = config.replace(**{k: v for k, v in overrides.items() if v is not None})
  if FLAGS.phases:
    config = config.select_phases(FLAGS.phases)
  return config


def main(argv):
  cli.run_from_invocation_directory()
  del argv
  try:
    config = config_from_flags()
  except ValueError as e:
    logging.error("%s", e)
    sys.exit(f"error: {e}")
  workdir = FLAGS.workdir or os.path.join(
      "workdirs", f"{FLAGS.preset}-{datetime.datetime.now():%Y%m%d-%H%M%S}")
  from ofa_tf.training import evaluation  # pylint: disable=g-import-not-at-top
  from ofa_tf.training import trainer  # pylint: disable=g-import-not-at-top
  logging.info("training preset %s into %s", FLAGS.preset, os.path.abspath(workdir))
  try:
    result = trainer.train(config, workdir, overwrite=FLAGS.overwrite)
  except (ValueError, FileNotFoundError) as e:
    sys.exit(f"error: {e}")
  print(evaluation.format_table(result.results))
  print(f"work directory: {os.path.abspath(workdir)} (global step {result.global_step}, "
        f"{result.phase_index}/{len(config.phases)} phases)")


if __name__ == "__main__":
  logging.set_verbosity(logging.INFO)
  app.run(main)
