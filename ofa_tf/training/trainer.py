"""The strategy-owning progressive-shrinking trainer (the `Trainer` of TF Model Garden's split).

`train(config, workdir)` runs the phases of `config` (Cai et al., ICLR 2020, Sec. 3.2-3.3) on
a `tf.distribute` strategy, checkpointing into `workdir` (format: `ofa_tf.workdir`) so an
interrupted run resumes mid-phase with nothing lost: supernet, teacher, optimizer slots,
global step, phase index and step within phase are checkpointed (`train_state`), and the
data, resolution and subnet sequences are pure functions of (seed, global step).

Order of a run: `check_run` validates everything (dataset, sizes, resolutions, what the work
directory already holds) without writing; then the work directory is locked
(`run_guard.WorkdirLock`) and prepared; the state is built and restored from the newest
readable checkpoint; `_run_phase` trains a phase until it ends, `stop_after_steps` is reached
or SIGTERM/SIGINT asks to stop (`run_guard.StopRequest`: a checkpoint, then a normal return);
`_end_phase` evaluates and checkpoints; `_finish` writes the final supernet.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import time
from typing import Callable

from absl import logging
import tensorflow as tf
import tf_keras

from tensorflow.core.framework import summary_pb2

from ofa_tf import atomic_files
from ofa_tf import workdir as workdir_lib
from ofa_tf.data import ImageClassificationData, load_dataset, resolution_for_step
from ofa_tf.networks import Supernet
from ofa_tf.search_space import SearchSpace
from ofa_tf.training import evaluation
from ofa_tf.training import run_guard
from ofa_tf.training import task as task_lib
from ofa_tf.training import train_state
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
    complete: all phases finished (False when stopped by `stop_after_steps` or a signal).
    stopped_by: "SIGTERM" or "SIGINT" when a signal stopped the run (after checkpointing at
      `global_step`), else None.
  """
  workdir: str
  global_step: int
  phase_index: int
  results: dict
  supernet: Supernet
  complete: bool
  stopped_by: str | None = None


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


def _short(value) -> str:
  text = json.dumps(value)
  return text if len(text) <= 60 else text[:57] + "..."


def _differences(old: dict, new: dict) -> str:
  """"field: old -> new" for every top-level field that differs, joined with "; "."""
  names = sorted(set(old) | set(new))
  return "; ".join(f"{k}: {_short(old.get(k))} -> {_short(new.get(k))}"
                   for k in names if old.get(k) != new.get(k))


@dataclasses.dataclass(frozen=True)
class RunPlan:
  """What `check_run` validated: the dataset, the supernet's space and the resolutions."""
  data: ImageClassificationData
  space: SearchSpace
  resolutions: tuple[int, ...]


def check_run(config: TrainConfig, workdir: str, overwrite: bool = False,
              replicas: int = 1) -> RunPlan:
  """Validates a run without writing anything: dataset, sizes, resolutions, work directory.

  Raises:
    ValueError: bad dataset spec or folder, fewer training images than
      `global_batch_size`, a global batch not divisible by the `replicas` in sync, an empty
      validation or test split (with `eval_at_phase_end`),
      resolutions beyond the data, or (without `overwrite`) a work directory that holds
      another space or config (the message names the fields that differ and their values).
  """
  data = load_dataset(config.dataset, seed=0, bad_images=config.bad_images)
  if data.report is not None:
    logging.info("%s", data.report)
  space = resolve_space(config, data.num_classes)
  resolutions = data.check_resolutions(space.resolutions)
  sizes = data.split_sizes
  if config.global_batch_size > sizes["train"]:
    raise ValueError(
        f"dataset {config.dataset!r} has {sizes['train']} training images, fewer than one "
        f"batch (global_batch_size {config.global_batch_size}); use a smaller batch size "
        f"(--batch_size) or more images (splits: {sizes})")
  if config.global_batch_size % replicas:
    raise ValueError(f"global_batch_size {config.global_batch_size} is not divisible by the "
                     f"{replicas} replicas in sync; use a multiple of {replicas}")
  if config.eval_at_phase_end:
    empty = [s for s in ("validation", "test") if not sizes[s]]
    if empty:
      raise ValueError(f"dataset {config.dataset!r} has no {' or '.join(empty)} images "
                       f"(splits: {sizes}); add images (each class needs about 10 for a 10% "
                       f"split) or set eval_at_phase_end false")
  if not overwrite:
    _check_workdir_matches(workdir, config, space)
  return RunPlan(data, space, resolutions)


def _check_workdir_matches(workdir: str, config: TrainConfig, space: SearchSpace) -> None:
  """Raises ValueError if `workdir` holds another space or another train config."""
  if os.path.exists(os.path.join(workdir, workdir_lib.SPACE_FILE)):
    existing = workdir_lib.read_space(workdir)
    if existing != space:
      raise ValueError(
          f"work directory {workdir!r} holds a run of another space (space.json differs: "
          f"{_differences(json.loads(existing.to_json()), json.loads(space.to_json()))}); "
          f"pass --overwrite to start afresh there, or use another --workdir")
  config_path = os.path.join(workdir, workdir_lib.TRAIN_CONFIG_FILE)
  if os.path.exists(config_path):
    with open(config_path) as f:
      stored = json.load(f)
    try:  # Fields added since that run take their defaults.
      stored = json.loads(TrainConfig.from_dict(stored).to_json())
    except (ValueError, TypeError):
      pass
    current = json.loads(config.to_json())
    if stored != current:
      raise ValueError(
          f"work directory {workdir!r} holds a run with a different train config "
          f"(train_config.json differs: {_differences(stored, current)}); pass --overwrite "
          f"to start afresh there, or use another --workdir")


def prepare_workdir(workdir: str, config: TrainConfig, space: SearchSpace,
                    overwrite: bool) -> None:
  """Creates `workdir` or checks it holds the same run; `overwrite` starts it afresh.

  Raises:
    ValueError: `workdir` holds another space or another config and `overwrite` is False.
  """
  if overwrite and os.path.isdir(workdir):
    for name in (workdir_lib.SPACE_FILE, workdir_lib.TRAIN_CONFIG_FILE,
                 workdir_lib.PHASE_RESULTS_FILE, workdir_lib.CHECKPOINT_DIR,
                 workdir_lib.FINAL_DIR, workdir_lib.SUMMARY_DIR):
      path = os.path.join(workdir, name)
      if os.path.isdir(path):
        shutil.rmtree(path)
      elif os.path.exists(path):
        os.remove(path)
  _check_workdir_matches(workdir, config, space)
  os.makedirs(workdir, exist_ok=True)
  workdir_lib.write_space(workdir, space)
  atomic_files.write_text(os.path.join(workdir, workdir_lib.TRAIN_CONFIG_FILE),
                          config.to_json() + "\n")


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


class _Summaries:
  """TensorBoard scalars written with core TF only (`tf.summary.write` with the scalars
  plugin's metadata), so the tensorboard package is not needed to train; a no-op writer on
  non-chief workers."""

  def __init__(self, workdir: str, chief: bool):
    self._writer = (tf.summary.create_file_writer(os.path.join(workdir, workdir_lib.SUMMARY_DIR))
                    if chief else tf.summary.create_noop_writer())

  def write(self, step: int, scalars: dict[str, float]) -> None:
    with self._writer.as_default(step=step):
      for tag, value in scalars.items():
        tf.summary.write(tag, tf.constant(value, tf.float32), metadata=_SCALAR_METADATA)

  def flush(self) -> None:
    self._writer.flush()


def _format_eta(seconds: float) -> str:
  seconds = int(max(0, seconds))
  return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m{seconds % 60:02d}s"


class _StepTimer:
  """Seconds per step and ETA from the steps after the first of a phase (or of a resumed
  session): the first step includes tracing the step function (a minute at 224 px)."""

  def __init__(self):
    self._start_time = None
    self._start_step = None

  def step_done(self, done: int) -> bool:
    """Records that step `done` finished; True for the first one (which includes tracing)."""
    if self._start_time is None:
      self._start_time, self._start_step = time.time(), done
      return True
    return False

  def rate(self, done: int) -> float | None:
    """Seconds per step, or None while only the first step has run."""
    if self._start_time is None or done <= self._start_step:
      return None
    return (time.time() - self._start_time) / (done - self._start_step)


@dataclasses.dataclass
class _Run:
  """A run in progress: what every part of the loop needs."""
  config: TrainConfig
  workdir: str
  plan: RunPlan
  state: train_state.TrainState
  manager: tf.train.CheckpointManager
  checkpoint_dir: str
  chief: bool
  summaries: _Summaries
  results: dict
  results_path: str

  def save(self) -> None:
    step = int(self.state.global_step.numpy())
    self.manager.save(checkpoint_number=step)
    if not self.chief:  # Every worker saves (collectives); only the chief's copy is kept.
      shutil.rmtree(self.checkpoint_dir, ignore_errors=True)

  def write_results(self) -> None:
    if self.chief:
      atomic_files.write_json(self.results_path, self.results)


def _open_run(config: TrainConfig, workdir: str, plan: RunPlan,
              strategy: tf.distribute.Strategy, chief: bool) -> _Run:
  """Builds the state, restores the newest readable checkpoint, reads the phase results."""
  state = train_state.build_state(plan.space, config, strategy)
  checkpoint_dir = os.path.join(workdir, workdir_lib.CHECKPOINT_DIR)
  restored = train_state.restore_newest_readable(state.checkpoint, checkpoint_dir)
  if restored:
    logging.info("resumed from %s at global step %d (phase %d, step %d in phase)", restored,
                 *state.counters())
  if not chief:
    checkpoint_dir = os.path.join(workdir, f".worker_{strategy.cluster_resolver.task_id}")
  manager = tf.train.CheckpointManager(state.checkpoint, checkpoint_dir,
                                       config.max_checkpoints)
  results_path = os.path.join(workdir, workdir_lib.PHASE_RESULTS_FILE)
  results = {}
  if os.path.exists(results_path):
    with open(results_path) as f:
      results = json.load(f)
  return _Run(config, workdir, plan, state, manager, checkpoint_dir, chief,
              _Summaries(workdir, chief), results, results_path)


def _start_phase(run: _Run, index: int, total: int) -> None:
  """Phase start: log, re-organize channels, copy the teacher, reset optimizer slots."""
  phase, state = run.config.phases[index], run.state
  logging.info("phase %d/%d %s: %d steps, elastic %s, %d subnet(s)/step, lr %g",
               index + 1, len(run.config.phases), phase.name, total,
               phase.elastic or "none (largest subnet)", phase.subnets_per_step,
               phase.base_lr)
  if phase.reorganize:
    state.supernet.reorganize(phase.trained_values(state.supernet.space))
  if phase.distill and not bool(state.teacher_ready.numpy()):
    task_lib.copy_weights(state.supernet, state.teacher)
    state.teacher_ready.assign(True)
  task_lib.reset_optimizer_slots(state.optimizer)  # A fresh optimizer per phase.


def _run_phase(run: _Run, index: int, total: int, step_fn, iterator,
               should_stop: Callable[[int], bool]) -> bool:
  """Trains phase `index` up to its `total` steps; returns False if `should_stop(global
  step)` stopped it first (checked before every step)."""
  config, state = run.config, run.state
  space, resolutions = run.plan.space, run.plan.resolutions
  phase = config.phases[index]
  examples = run.plan.data.split_sizes["train"]
  warmup = phase.warmup_steps(examples, config.global_batch_size)
  timer = _StepTimer()
  while int(state.phase_step.numpy()) < total:
    step = int(state.global_step.numpy())
    if should_stop(step):
      return False
    r = resolution_for_step(config.seed, step, resolutions)
    archs = task_lib.stack_archs(
        space, task_lib.sample_subnets(space, phase, config.seed, step, r))
    lr = phase.learning_rate(int(state.phase_step.numpy()), total, warmup)
    state.optimizer.learning_rate.assign(lr)
    loss = step_fn(next(iterator), archs, tf.constant(phase.distill))
    state.global_step.assign_add(1)
    state.phase_step.assign_add(1)
    done = int(state.phase_step.numpy())
    first = timer.step_done(done)
    if done % config.log_every_steps == 0 or done == total or first:
      loss = float(loss)
      rate = timer.rate(done)
      speed = (f"{rate:.2f} s/step  ETA {_format_eta(rate * (total - done))}" if rate
               else "first step (includes tracing)")
      logging.info("phase %s [%d/%d] step %d/%d loss %.4f lr %.5f r %d  %s", phase.name,
                   index + 1, len(config.phases), done, total, loss, lr, r, speed)
      run.summaries.write(step + 1, {"train/loss": loss, "train/learning_rate": lr,
                                     "train/phase": index})
    if (step + 1) % config.checkpoint_every_steps == 0:
      run.save()
  return True


def _end_phase(run: _Run, index: int) -> None:
  """Evaluates the phase's extreme subnets (once), then moves to the next phase and saves."""
  config, state = run.config, run.state
  phase = config.phases[index]
  if config.eval_at_phase_end and phase.name not in run.results:
    rows = evaluation.evaluate_extremes(state.supernet, run.plan.data, phase, config)
    run.results[phase.name] = rows
    run.write_results()
    for row in rows:
      logging.info("phase %s  %-16s top1 %.2f%%  loss %.4f", phase.name, row["subnet"],
                   100 * row["top1"], row["loss"])
    run.summaries.write(int(state.global_step.numpy()),
                        {evaluation.summary_tag(row["subnet"]): row["top1"] for row in rows})
  state.phase_index.assign_add(1)
  state.phase_step.assign(0)
  run.save()


def _finish(run: _Run, strategy: tf.distribute.Strategy) -> None:
  """Writes the final supernet (`workdir.save_supernet`) and evaluates on the test split."""
  config, supernet = run.config, run.state.supernet
  # Every worker writes (reading synchronized-on-read BN statistics is a collective under
  # MultiWorkerMirroredStrategy); only the chief's copy is kept.
  final_dir = run.workdir if run.chief else os.path.join(
      run.workdir, f".worker_{strategy.cluster_resolver.task_id}_final")
  workdir_lib.save_supernet(final_dir, supernet)
  if not run.chief:
    shutil.rmtree(final_dir, ignore_errors=True)
  if config.eval_at_phase_end and "final/test" not in run.results:
    last = config.phases[-1]
    run.results["final/test"] = evaluation.evaluate_extremes(
        supernet, run.plan.data, last, config, "test",
        labels=evaluation.extreme_labels(supernet.space, last, run.plan.resolutions))
    run.write_results()


def train(config: TrainConfig, workdir: str, *, overwrite: bool = False,
          stop_after_steps: int | None = None,
          strategy: tf.distribute.Strategy | None = None,
          handle_signals: bool = True) -> TrainResult:
  """Runs (or resumes) progressive shrinking as configured, in `workdir`.

  Args:
    config: the run.
    workdir: work directory (created; resumed from its newest readable checkpoint if it holds
      one; a truncated newest checkpoint is skipped with a warning naming it).
    overwrite: discard what `workdir` holds (another space or config) and start afresh.
    stop_after_steps: stop (after checkpointing) once the global step reaches this value;
      None runs all phases. Used to test interruption and resumption.
    strategy: a strategy to use instead of `make_strategy(config.strategy)`.
    handle_signals: turn SIGTERM/SIGINT into a checkpoint at the next step boundary and a
      normal return with `stopped_by` set (`run_guard.StopRequest`; main thread only).

  Returns:
    A `TrainResult`.

  Raises:
    ValueError: see `check_run`; all raised before anything is written to `workdir`.
    run_guard.WorkdirLockedError: another live trainer holds `workdir` (its PID and host
      are in the message).
  """
  strategy = strategy or make_strategy(config.strategy)
  plan = check_run(config, workdir, overwrite, strategy.num_replicas_in_sync)
  chief = _is_chief(strategy)
  lock = run_guard.WorkdirLock(workdir) if chief else contextlib.nullcontext()
  stop = run_guard.StopRequest() if handle_signals else contextlib.nullcontext()
  with lock, stop:
    prepare_workdir(workdir, config, plan.space, overwrite)
    run = _open_run(config, workdir, plan, strategy, chief)
    return _train_loop(run, strategy, stop_after_steps,
                       stop if handle_signals else None)


def _train_loop(run: _Run, strategy: tf.distribute.Strategy, stop_after_steps: int | None,
                stop: run_guard.StopRequest | None) -> TrainResult:
  config, state = run.config, run.state
  task = task_lib.ProgressiveShrinkingTask(config, state.supernet, state.teacher,
                                           state.optimizer, step_counter=state.global_step)
  batches = _distributed_batches(strategy, run.plan.data, config, run.plan.resolutions,
                                 int(state.global_step.numpy()))
  step_fn = task.make_step_fn(
      strategy, config.global_batch_size,
      data_spec=None if config.jit_compile else batches.element_spec,
      jit_compile=config.jit_compile)
  iterator = iter(batches)
  examples = run.plan.data.split_sizes["train"]
  phase_steps = [p.num_steps(examples, config.global_batch_size) for p in config.phases]

  def should_stop(step: int) -> bool:
    return ((stop_after_steps is not None and step >= stop_after_steps)
            or (stop is not None and stop.requested))

  stopped = False
  while int(state.phase_index.numpy()) < len(config.phases):
    index = int(state.phase_index.numpy())
    if int(state.phase_step.numpy()) == 0:
      _start_phase(run, index, phase_steps[index])
    if not _run_phase(run, index, phase_steps[index], step_fn, iterator, should_stop):
      stopped = True
      break
    _end_phase(run, index)
  complete = int(state.phase_index.numpy()) >= len(config.phases)
  stopped_by = stop.signal_name if stop is not None else None
  if stopped:
    run.save()
    if stopped_by:
      logging.warning("stopped by %s at global step %d; checkpoint %s written; run the same "
                      "command again to resume", stopped_by, int(state.global_step.numpy()),
                      run.manager.latest_checkpoint)
  if complete:
    _finish(run, strategy)
  run.summaries.flush()
  return TrainResult(workdir=run.workdir, global_step=int(state.global_step.numpy()),
                     phase_index=int(state.phase_index.numpy()), results=run.results,
                     supernet=state.supernet, complete=complete,
                     stopped_by=stopped_by if stopped else None)
