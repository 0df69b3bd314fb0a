"""The trainer's checkpointed state, and restoring it from the newest readable checkpoint.

A checkpoint (`workdir/checkpoints/ckpt-<global step>`) holds the supernet and teacher
weights by stable name, the optimizer slots, the global step, the phase index, the step
within the phase and whether the teacher has been copied: everything a resumed run needs to
continue as if uninterrupted.
"""

from __future__ import annotations

import dataclasses

from absl import logging
import tensorflow as tf
import tf_keras

from ofa_tf.networks import Supernet, build_supernet
from ofa_tf.search_space import SearchSpace
from ofa_tf.training.config import TrainConfig


@dataclasses.dataclass
class TrainState:
  """Models, optimizer and counters of a run (all tracked by `checkpoint`)."""
  supernet: Supernet
  teacher: Supernet
  optimizer: tf_keras.optimizers.Optimizer
  global_step: tf.Variable
  phase_index: tf.Variable
  phase_step: tf.Variable
  teacher_ready: tf.Variable
  checkpoint: tf.train.Checkpoint

  def counters(self) -> tuple[int, int, int]:
    """(global step, phase index, step within the phase) as Python ints."""
    return (int(self.global_step.numpy()), int(self.phase_index.numpy()),
            int(self.phase_step.numpy()))


def build_state(space: SearchSpace, config: TrainConfig,
                strategy: tf.distribute.Strategy) -> TrainState:
  """Builds the supernet, the teacher (no dropout), SGD and the counters under `strategy`.

  Initial weights are a function of `config.seed` (`tf_keras.utils.set_random_seed`).
  """
  mode = config.resolved_execution_mode()
  tf_keras.utils.set_random_seed(config.seed)  # Same initial weights for the same seed.
  with strategy.scope():
    supernet = build_supernet(space, execution_mode=mode,
                              synchronized_bn=config.synchronized_bn)
    teacher = build_supernet(space.replace(dropout_rate=0.0), execution_mode=mode,
                             synchronized_bn=config.synchronized_bn, name="teacher")
    optimizer = tf_keras.optimizers.SGD(learning_rate=0.0, momentum=config.momentum,
                                        nesterov=config.nesterov)
    optimizer.build(supernet.trainable_variables)
    global_step = tf.Variable(0, dtype=tf.int64, trainable=False, name="global_step")
    phase_index = tf.Variable(0, dtype=tf.int64, trainable=False, name="phase_index")
    phase_step = tf.Variable(0, dtype=tf.int64, trainable=False, name="phase_step")
    teacher_ready = tf.Variable(False, trainable=False, name="teacher_ready")
  checkpoint = tf.train.Checkpoint(
      supernet=dict(supernet.named_weights()), teacher=dict(teacher.named_weights()),
      optimizer=optimizer, global_step=global_step, phase_index=phase_index,
      phase_step=phase_step, teacher_ready=teacher_ready)
  return TrainState(supernet, teacher, optimizer, global_step, phase_index, phase_step,
                    teacher_ready, checkpoint)


# What a truncated or corrupt checkpoint raises on restore (e.g. "IndexError: Read less
# bytes than requested" for a cut .data file, DataLossError for a bad .index).
_UNREADABLE = (tf.errors.OpError, IndexError, ValueError, AssertionError, OSError)


def restore_newest_readable(checkpoint: tf.train.Checkpoint, directory: str) -> str | None:
  """Restores the newest checkpoint in `directory` that reads fully; falls back to older ones.

  Every checkpoint that fails is logged as a warning naming its files; the newest readable
  one is restored into `checkpoint` (all its objects must match).

  Returns:
    The prefix restored, or None if `directory` holds no checkpoint.

  Raises:
    ValueError: checkpoints exist but none is readable (the message names each one).
  """
  state = tf.train.get_checkpoint_state(directory)
  if state is None:
    return None
  candidates = list(dict.fromkeys(
      [state.model_checkpoint_path] + list(reversed(state.all_model_checkpoint_paths))))
  failures = []
  for prefix in candidates:
    try:
      checkpoint.restore(prefix).assert_existing_objects_matched()
    except _UNREADABLE as e:
      reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
      failures.append(f"{prefix}.* ({type(e).__name__}: {reason})")
      logging.warning("checkpoint %s.{index,data-*} is unreadable (%s: %s); trying the "
                      "previous one", prefix, type(e).__name__, reason)
      continue
    if failures:
      logging.warning("resuming from the older checkpoint %s instead of %s", prefix,
                      candidates[0])
    return prefix
  raise ValueError(f"no readable checkpoint in {directory}: {'; '.join(failures)}")
