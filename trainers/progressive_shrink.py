"""Trains an OFA supernet by progressive shrinking (Cai et al., ICLR 2020, Sec. 3.2-3.3).

With no flags: the `digits` preset (tiny OFA-MobileNetV3 space on scikit-learn's bundled
handwritten digits) through all six phases, in a fresh directory under ./workdirs/.

  python trainers/progressive_shrink.py [--preset=digits|smoke|imagenet | --config=FILE.json]
      [--dataset=SPEC] [--space=NAME] [--resolutions=128,160,192,224] [--batch_size=N]
      [--epochs_scale=F] [--checkpoint_every=STEPS] [--bad_images=fail|skip|unchecked]
      [--workdir=DIR] [--strategy=...] [--phases=full,kernel] [--execution_mode=...]
      [--synchronized_bn] [--print_config] [--overwrite]

Sizing a real run, e.g. the full OFA-MobileNetV3 space on a folder of images at batch 16:

  python -m trainers.progressive_shrink --dataset=folder:PATH --space=ofa_mbv3_w1.0 \\
      --resolutions=128,160,192,224 --batch_size=16 --workdir=W

The config is built in this order: the preset (or --config, a full `TrainConfig` JSON such as
a previous run's train_config.json), then --space (same schedule, the space's elastic values
and resolutions), --resolutions, --batch_size (learning rates scaled linearly unless
--noscale_lr), --epochs_scale, --checkpoint_every and the other overrides, then --phases.
Everything is validated before anything is written; --print_config prints the result and
exits.

SIGTERM or Ctrl-C: the run checkpoints at the end of the current step and exits 0; the same
command resumes it. A work directory is locked while a trainer runs in it (`<workdir>/.lock`).
Exit status: 0 done or stopped by a signal; 1 the work directory is in use by another
trainer; 2 bad input (one line on stderr).

Flags -> one `TrainConfig` (`config_from_flags`) -> `ofa_tf.training.trainer.train`.
"""

import datetime
import os

from absl import app
from absl import flags
from absl import logging

from ofa_tf import cli
from ofa_tf.training import config as config_lib

FLAGS = flags.FLAGS
flags.DEFINE_string("preset", "digits", f"Preset: one of {config_lib.preset_names()}.")
flags.DEFINE_string("config", None, "TrainConfig JSON file (e.g. a run's train_config.json) "
                    "instead of --preset.")
flags.DEFINE_string("dataset", None, "Dataset spec (digits | tfds:NAME | folder:PATH); "
                    "default: the preset's.")
flags.DEFINE_string("space", None, "Registered search space (e.g. ofa_mbv3_w1.0); the "
                    "preset's schedule moves to it, with its resolutions.")
flags.DEFINE_list("resolutions", None, "Training resolutions in pixels, e.g. 128,160,192,224.")
flags.DEFINE_integer("batch_size", None, "Global batch size (over all replicas).")
flags.DEFINE_bool("scale_lr", True, "With --batch_size: scale learning rates linearly.")
flags.DEFINE_float("epochs_scale", None, "Multiply every phase's length (e.g. 0.01 for a trial "
                   "of the imagenet schedule).")
flags.DEFINE_integer("checkpoint_every", None, "Steps between checkpoints.")
flags.DEFINE_integer("eval_batch_size", None, "Batch size of evaluation and BN recalibration.")
flags.DEFINE_enum("bad_images", None, list(config_lib.BAD_IMAGE_POLICIES),
                  "Unreadable images of an image folder: fail (name them), skip (count them) "
                  "or unchecked; default: fail.")
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
flags.DEFINE_bool("print_config", False, "Print the resulting TrainConfig JSON and exit.")
flags.DEFINE_bool("overwrite", False, "Discard what --workdir holds (another run) and restart.")


def _base_config() -> config_lib.TrainConfig:
  if FLAGS.config:
    if FLAGS["preset"].present:
      raise app.UsageError("give --preset or --config, not both")
    try:
      with open(FLAGS.config) as f:
        text = f.read()
    except OSError as e:
      raise FileNotFoundError(f"--config={FLAGS.config}: {e.strerror}") from e
    try:
      return config_lib.TrainConfig.from_json(text)
    except (ValueError, TypeError) as e:
      raise ValueError(f"--config={FLAGS.config}: {e}") from e
  return config_lib.get_preset(FLAGS.preset)


def config_from_flags() -> config_lib.TrainConfig:
  """The one typed config built from the flags (see the module doc for the order).

  Raises:
    ValueError: a bad value (naming the flag or field); app.UsageError: conflicting flags.
  """
  config = _base_config()
  if FLAGS.space:
    config = config.with_space(FLAGS.space)
  if FLAGS.resolutions:
    try:
      resolutions = tuple(int(r) for r in FLAGS.resolutions)
    except ValueError:
      raise ValueError(f"--resolutions must be integers (pixels), got "
                       f"{','.join(FLAGS.resolutions)}") from None
    config = config.replace(resolutions=resolutions)
  if FLAGS.batch_size is not None:
    config = config.with_global_batch_size(FLAGS.batch_size, scale_lr=FLAGS.scale_lr)
  if FLAGS.epochs_scale is not None:
    config = config.scale_epochs(FLAGS.epochs_scale)
  overrides = {name: getattr(FLAGS, flag) for name, flag in (
      ("dataset", "dataset"), ("strategy", "strategy"), ("execution_mode", "execution_mode"),
      ("jit_compile", "jit_compile"), ("synchronized_bn", "synchronized_bn"), ("seed", "seed"),
      ("checkpoint_every_steps", "checkpoint_every"), ("eval_batch_size", "eval_batch_size"),
      ("bad_images", "bad_images"))}
  config = config.replace(**{k: v for k, v in overrides.items() if v is not None})
  if FLAGS.phases:
    config = config.select_phases(FLAGS.phases)
  return config


def main(argv):
  cli.run_from_invocation_directory()
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments {argv[1:]} (flags are --name=value)")
  config = config_from_flags()
  if FLAGS.print_config:
    print(config.to_json())
    return
  name = (os.path.splitext(os.path.basename(FLAGS.config))[0] if FLAGS.config
          else FLAGS.preset)
  workdir = FLAGS.workdir or os.path.join(
      "workdirs", f"{name}-{datetime.datetime.now():%Y%m%d-%H%M%S}")
  from ofa_tf.training import evaluation  # pylint: disable=g-import-not-at-top
  from ofa_tf.training import run_guard  # pylint: disable=g-import-not-at-top
  from ofa_tf.training import trainer  # pylint: disable=g-import-not-at-top
  logging.info("training %s %s (space %s, global batch %d) into %s",
               "config" if FLAGS.config else "preset", name, config.space,
               config.global_batch_size, os.path.abspath(workdir))
  try:
    result = trainer.train(config, workdir, overwrite=FLAGS.overwrite)
  except run_guard.WorkdirLockedError as e:
    cli.fail(str(e), cli.EXIT_FAILURE)
  if result.stopped_by:
    print(f"stopped by {result.stopped_by} at global step {result.global_step} (checkpoint "
          f"saved); run the same command to resume: {os.path.abspath(workdir)}")
    return
  print(evaluation.format_table(result.results))
  print(f"work directory: {os.path.abspath(workdir)} (global step {result.global_step}, "
        f"{result.phase_index}/{len(config.phases)} phases)")


if __name__ == "__main__":
  logging.set_verbosity(logging.INFO)
  cli.run(main)
