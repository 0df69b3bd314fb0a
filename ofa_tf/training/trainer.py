"""The strategy-owning progressive-shrinking trainer (the `Trainer` of TF Model Garden's split).

`train(config, workdir)` runs the phases of `config` (Cai et al., ICLR 2020, Sec. 3.2-3.3) on
a `tf.distribute` strategy, checkpointing into `workdir` (format: `training.workdir`) so an
interrupted run resumes mid-phase with nothing lost: supernet, teacher, optimizer slots,
global step, phase index and step within phase are checkpointed, and the data, resolution and
subnet sequences are pure functions of (seed, global step).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import time

from absl import logging
import tensorflow as tf
import tf_keras

from tensorflow.core.framework import summary_pb2

from ofa_tf.data import load_dataset, resolution_for_step
from ofa_tf.networks import Supernet, build_supernet
from ofa_tf.search_space import SearchSpace
from ofa_tf.training import evaluation
from ofa_tf.training import task as task_lib
from ofa_tf.training import workdir as workdir_lib
from ofa_tf.training.config import TrainConfig


_SCALAR_METADATA = summary_pb2.SummaryMetadata(
    plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars"))


@dataclasses.dataclass
class TrainResult:
  """What `train` returns.

  Attributes:
    workdir: the work directory.
    global_step: optimizer steps taken in total (over all phases and resumptions).
    phase_index: phases completed.
    results: phase_results.json content: {"<phase>": rows, "final/test": rows}.
    supernet: the trained supernet.
    complete: all phases finished (False when stopped by `stop_after_steps`).
  """
  workdir: str
  global_step: int
  phase_index: int
  results: dict
  supernet: Supernet
  complete: bool


def make_strategy(name: str) -> tf.distribute.Strategy:
  """The strategy `name` ("default": MultiWorkerMirrored when TF_CONFIG is set, else
  Mirrored over the visible devices; "mirrored"; "multi_worker"; "tpu"; "one_device").

  Create it before any other TensorFlow work in the process (multi-worker needs that).
  """
  if name == "default":
    name = "multi_worker" if os.environ.get("TF_CONFIG") else "mirrored"
  if name == "mirrored":
    return tf.distribute.MirroredStrategy()
  if name == "multi_worker":
    return tf.distribute.MultiWorkerMirroredStrategy()
  if name == "tpu":
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)
  if name == "one_device":
    return tf.distribute.OneDeviceStrategy("/cpu:0" if not tf.config.list_physical_devices(
        "GPU") else "/gpu:0")
  raise ValueError(f"unknown strategy {name!r}")


def _is_chief(strategy: tf.distribute.Strategy) -> bool:
  resolver = getattr(strategy, "cluster_resolver", None)
  if resolver is None or not resolver.task_type:
    return True
  has_chief = "chief" in resolver.cluster_spec().as_dict()
  return resolver.task_type == "chief" or (
      not has_chief and resolver.task_type == "worker" and resolver.task_id == 0)


def resolve_space(config: TrainConfig, num_classes: int) -> SearchSpace:
  """The supernet's space: the config's, with the dataset's number of classes."""
  return config.search_space().replace(num_classes=num_classes)


def prepare_workdir(workdir: str, config: TrainConfig, space: SearchSpace,
                    overwrite: bool) -> None:
  """Creates `workdir` or checks it holds the same run; `overwrite` starts it afresh.

  Raises:
    ValueError: `workdir` holds another space or another config and `overwrite` is False.
  """
  config_path = os.path.join(workdir, workdir_lib.TRAIN_CONFIG_FILE)
  if overwrite and os.path.isdir(workdir):
    for name in (workdir_lib.SPACE_FILE, workdir_lib.TRAIN_CONFIG_FILE,
                 workdir_lib.PHASE_RESULTS_FILE, workdir_lib.CHECKPOINT_DIR,
                 workdir_lib.FINAL_DIR, workdir_lib.SUMMARY_DIR):
      path = os.path.join(workdir, name)
      if os.path.isdir(path):
        shutil.rmtree(path)
      elif os.path.exists(path):
        os.remove(path)
  os.makedirs(workdir, exist_ok=True)
  if os.path.exists(os.path.join(workdir, workdir_lib.SPACE_FILE)):
    existing = workdir_lib.read_space(workdir)
    if existing != space:
      raise ValueError(
          f"work directory {workdir!r} holds a checkpoint of space {existing.name!r} "
          f"(space.json) that differs from this run's {space.name!r}; pass --overwrite to "
          f"start afresh there, or use another --workdir")
  if os.path.exists(config_path):
    with open(config_path) as f:
      existing_config = json.load(f)
    if existing_config != json.loads(config.to_json()):
      changed = sorted(k for k, v in config.to_dict().items()
                       if json.loads(json.dumps(v)) != existing_config.get(k))
      raise ValueError(
          f"work directory {workdir!r} holds a run with a different train config (fields "
          f"{changed} differ, e.g. another preset or --phases); pass --overwrite to start "
          f"afresh there, or use another --workdir")
  workdir_lib.write_space(workdir, space)
  workdir_lib.write_text_atomic(config_path, config.to_json() + "\n")


def _distributed_batches(strategy, data, config: TrainConfig, resolutions, start_step: int):
  """Global batch `step` split over replicas: replica i of the R in sync gets slice i."""
  global_batch = config.global_batch_size
  replicas = strategy.num_replicas_in_sync
  if global_batch % replicas:
    raise ValueError(f"global_batch_size {global_batch} is not divisible by the "
                     f"{replicas} replicas")
  per_replica = global_batch // replicas

  def dataset_fn(context: tf.distribute.InputContext):
    local = replicas // context.num_input_pipelines
    first = context.input_pipeline_id * local

    def split(images, labels):
      r = tf.shape(images)[1]
      images = tf.reshape(images, [replicas, per_replica, r, r, 3])[first:first + local]
      labels = tf.reshape(labels, [replicas, per_replica])[first:first + local]
      return tf.data.Dataset.from_tensor_slices((images, labels))

    batches = data.train_batches(global_batch, resolutions, seed=config.seed,
                                 start_step=start_step)
    return batches.flat_map(split).prefetch(2)

  return strategy.distribute_datasets_from_function(dataset_fn)


def _scalar(tag: str, value: float) -> None:
  """A TensorBoard scalar summary written with core TF only (`tf.summary.write` with the
  scalars plugin's metadata), so the tensorboard package is not needed to train."""
  tf.summary.write(tag, tf.constant(value, tf.float32), metadata=_SCALAR_METADATA)


def _get(variable) -> int:
  return int(variable.numpy())


def _format_eta(seconds: float) -> str:
  seconds = int(max(0, seconds))
  return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m{seconds % 60:02d}s"


def train(config: TrainConfig, workdir: str, *, overwrite: bool = False,
          stop_after_steps: int | None = None,
          strategy: tf.distribute.Strategy | None = None) -> TrainResult:
  """Runs (or resumes) progressive shrinking as configured, in `workdir`.

  Args:
    config: the run.
    workdir: work directory (created; resumed from its latest checkpoint if it holds one).
    overwrite: discard what `workdir` holds (another space or config) and start afresh.
    stop_after_steps: stop (after checkpointing) once the global step reaches this value;
      None runs all phases. Used to test interruption and resumption.
    strategy: a strategy to use instead of `make_strategy(config.strategy)`.

  Returns:
    A `TrainResult`.

  Raises:
    ValueError: bad dataset spec, missing/empty image folder, resolutions beyond the data,
      or a work directory holding another space or config (without `overwrite`); all raised
      before any training or any change to `workdir`.
  """
  strategy = strategy or make_strategy(config.strategy)
  data = load_dataset(config.dataset)
  space = resolve_space(config, data.num_classes)
  resolutions = data.check_resolutions(space.resolutions)
  prepare_workdir(workdir, config, space, overwrite)
  chief = _is_chief(strategy)
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
  checkpoint_dir = os.path.join(workdir, workdir_lib.CHECKPOINT_DIR)
  if not chief:  # Every worker saves (collectives); only the chief's copy is kept.
    checkpoint_dir = os.path.join(workdir, f".worker_{strategy.cluster_resolver.task_id}")
  manager = tf.train.CheckpointManager(checkpoint, checkpoint_dir, config.max_checkpoints)
  latest = tf.train.latest_checkpoint(os.path.join(workdir, workdir_lib.CHECKPOINT_DIR))
  if latest:
    checkpoint.restore(latest).assert_existing_objects_matched()
    logging.info("resumed from %s at global step %d (phase %d, step %d in phase)", latest,
                 _get(global_step), _get(phase_index), _get(phase_step))

  results_path = os.path.join(workdir, workdir_lib.PHASE_RESULTS_FILE)
  results = {}
  if os.path.exists(results_path):
    with open(results_path) as f:
      results = json.load(f)
  writer = (tf.summary.create_file_writer(os.path.join(workdir, workdir_lib.SUMMARY_DIR))
            if chief else tf.summary.create_noop_writer())

  task = task_lib.ProgressiveShrinkingTask(config, supernet, teacher, optimizer,
                                           step_counter=global_step)
  batches = _distributed_batches(strategy, data, config, resolutions, _get(global_step))
  step_fn = task.make_step_fn(
      strategy, config.global_batch_size,
      data_spec=None if config.jit_compile else batches.element_spec,
      jit_compile=config.jit_compile)
  iterator = iter(batches)
  examples = data.split_sizes["train"]
  phase_steps = [p.num_steps(examples, config.global_batch_size) for p in config.phases]
  stopped = False

  def save():
    manager.save(checkpoint_number=_get(global_step))
    if not chief:
      shutil.rmtree(checkpoint_dir, ignore_errors=True)

  while _get(phase_index) < len(config.phases) and not stopped:
    index = _get(phase_index)
    phase, total = config.phases[index], phase_steps[index]
    warmup = phase.warmup_steps(examples, config.global_batch_size)
    if _get(phase_step) == 0:
      logging.info("phase %d/%d %s: %d steps, elastic %s, %d subnet(s)/step, lr %g",
                   index + 1, len(config.phases), phase.name, total,
                   phase.elastic or "none (largest subnet)", phase.subnets_per_step,
                   phase.base_lr)
      if phase.reorganize:
        supernet.reorganize(phase.trained_values(supernet.space))
      if phase.distill and not _get(teacher_ready):
        task_lib.copy_weights(supernet, teacher)
        teacher_ready.assign(True)
      task_lib.reset_optimizer_slots(optimizer)  # A fresh optimizer per phase.
    start_time, start_step = time.time(), _get(phase_step)
    while _get(phase_step) < total:
      step = _get(global_step)
      if stop_after_steps is not None and step >= stop_after_steps:
        stopped = True
        break
      r = resolution_for_step(config.seed, step, resolutions)
      archs = task_lib.stack_archs(
          space, task_lib.sample_subnets(space, phase, config.seed, step, r))
      lr = phase.learning_rate(_get(phase_step), total, warmup)
      optimizer.learning_rate.assign(lr)
      loss = step_fn(next(iterator), archs, tf.constant(phase.distill))
      global_step.assign_add(1)
      phase_step.assign_add(1)
      done = _get(phase_step)
      if done % config.log_every_steps == 0 or done == total:
        loss = float(loss)
        rate = (time.time() - start_time) / max(1, done - start_step)
        logging.info("phase %s [%d/%d] step %d/%d loss %.4f lr %.5f r %d  %.2f s/step  ETA %s",
                     phase.name, index + 1, len(config.phases), done, total, loss, lr, r,
                     rate, _format_eta(rate * (total - done)))
        with writer.as_default(step=_get(global_step)):
          _scalar("train/loss", loss)
          _scalar("train/learning_rate", lr)
          _scalar("train/phase", index)
      if _get(global_step) % config.checkpoint_every_steps == 0:
        save()
    if stopped:
      break
    if config.eval_at_phase_end and phase.name not in results:
      results[phase.name] = evaluation.evaluate_extremes(supernet, data, phase, config)
      if chief:
        workdir_lib.write_json_atomic(results_path, results)
      for row in results[phase.name]:
        logging.info("phase %s  %-16s top1 %.2f%%  loss %.4f", phase.name, row["subnet"],
                     100 * row["top1"], row["loss"])
      with writer.as_default(step=_get(global_step)):
        for row in results[phase.name]:
          _scalar(f"eval/{row['subnet'].replace(' ', '_')}", row["top1"])
    phase_index.assign_add(1)
    phase_step.assign(0)
    save()

  complete = _get(phase_index) >= len(config.phases)
  if stopped:
    save()
  if complete:
    # Every worker writes (reading synchronized-on-read BN statistics is a collective under
    # MultiWorkerMirroredStrategy); only the chief's copy is kept.
    final_dir = workdir if chief else os.path.join(
        workdir, f".worker_{strategy.cluster_resolver.task_id}_final")
    workdir_lib.save_supernet(final_dir, supernet)
    if not chief:
      shutil.rmtree(final_dir, ignore_errors=True)
    if config.eval_at_phase_end and "final/test" not in results:
      last = config.phases[-1]
      results["final/test"] = evaluation.evaluate_extremes(
          supernet, data, last, config, "test", labels=evaluation.extreme_labels(supernet.space, last, resolutions))
      if chief:
        workdir_lib.write_json_atomic(results_path, results)
  writer.flush()
  return TrainResult(workdir=workdir, global_step=_get(global_step),
                     phase_index=_get(phase_index), results=results, supernet=supernet,
                     complete=complete)


