"""The trainer under what a user meets: preemption signals, a second trainer on the same work
directory (lock), a truncated checkpoint, corrupt images in the input folder."""

import os
import signal

import pytest
import tensorflow as tf

from ofa_tf import workdir as workdir_lib
from ofa_tf.data.folder_test_util import write_image_folder
from ofa_tf.training import run_guard
from ofa_tf.training import task as task_lib
from ofa_tf.training import trainer
from ofa_tf.training.trainer_test_util import dead_pid, micro_config, sleeping_process, write_lock


def _weights(supernet) -> dict:
  return {k: v.numpy() for k, v in supernet.named_weights().items()}


def _signal_at_step(test, signum, at_step):
  """Patches the step function to raise `signum` in this process during step `at_step`
  (0-based global step), as a scheduler's SIGTERM or a Ctrl-C would arrive mid-step."""
  make_step_fn = task_lib.ProgressiveShrinkingTask.make_step_fn

  def patched(self, *args, **kwargs):
    step_fn = make_step_fn(self, *args, **kwargs)

    def wrapped(*a):
      loss = step_fn(*a)
      if int(self.step_counter.numpy()) == at_step:
        signal.raise_signal(signum)
      return loss

    return wrapped

  patcher = tf.compat.v1.test.mock.patch.object(task_lib.ProgressiveShrinkingTask,
                                                "make_step_fn", patched)
  patcher.start()
  test.addCleanup(patcher.stop)


def _checkpoint_key(name: str) -> str:
  """The checkpoint key of supernet weight `name` (object-graph escaping: "." -> "..")."""
  return f"supernet/{name.replace('.', '..')}/.ATTRIBUTES/VARIABLE_VALUE"


class PreemptionTest(tf.test.TestCase):

  def test_sigterm_checkpoints_and_a_truncated_checkpoint_falls_back(self):
    workdir = os.path.join(self.get_temp_dir(), "term")
    config = micro_config(full_steps=6).replace(checkpoint_every_steps=1)
    _signal_at_step(self, signal.SIGTERM, 2)
    before = signal.getsignal(signal.SIGTERM)
    with self.assertLogs(level="WARNING") as logs:
      result = trainer.train(config, workdir)
    self.assertEqual(result.stopped_by, "SIGTERM")
    self.assertFalse(result.complete)
    self.assertEqual(result.global_step, 3)  # Step 2 (0-based) finished, then stopped.
    checkpoints = os.path.join(workdir, "checkpoints")
    latest = tf.train.latest_checkpoint(checkpoints)
    self.assertEndsWith(latest, "ckpt-3")
    self.assertEqual(int(tf.train.load_checkpoint(latest).get_tensor(
        "global_step/.ATTRIBUTES/VARIABLE_VALUE")), 3)
    self.assertIn("stopped by SIGTERM at global step 3", "\n".join(logs.output))
    self.assertFalse(os.path.exists(os.path.join(workdir, ".lock")))
    self.assertEqual(signal.getsignal(signal.SIGTERM), before)

    # The newest checkpoint cut in half (a disk filled up or a copy interrupted): the run
    # resumes from the previous one, naming the bad one.
    data_file = [n for n in os.listdir(checkpoints) if n.startswith("ckpt-3.data")][0]
    path = os.path.join(checkpoints, data_file)
    with open(path, "r+b") as f:
      f.truncate(os.path.getsize(path) // 2)
    previous = tf.train.load_checkpoint(os.path.join(checkpoints, "ckpt-2"))
    with self.assertLogs(level="WARNING") as logs:
      resumed = trainer.train(config, workdir, stop_after_steps=2)
    log = "\n".join(logs.output)
    self.assertIn(f"checkpoint {os.path.join(checkpoints, 'ckpt-3')}", log)
    self.assertIn("unreadable", log)
    self.assertEqual(resumed.global_step, 2)
    for name, value in _weights(resumed.supernet).items():
      self.assertAllEqual(value, previous.get_tensor(_checkpoint_key(name)), msg=name)

  @pytest.mark.slow
  def test_resumed_after_sigint_equals_uninterrupted(self):
    config = micro_config(full_steps=4).select_phases(["full", "kernel"])
    whole = trainer.train(config, os.path.join(self.get_temp_dir(), "whole"))
    workdir = os.path.join(self.get_temp_dir(), "int")
    _signal_at_step(self, signal.SIGINT, 1)
    stopped = trainer.train(config, workdir)
    self.assertEqual((stopped.stopped_by, stopped.global_step), ("SIGINT", 2))
    tf.compat.v1.test.mock.patch.stopall()
    resumed = trainer.train(config, workdir)
    self.assertTrue(resumed.complete)
    self.assertIsNone(resumed.stopped_by)
    expected = _weights(whole.supernet)
    for name, value in _weights(resumed.supernet).items():
      self.assertAllClose(value, expected[name], atol=1e-6, rtol=1e-6, msg=name)


class LockTest(tf.test.TestCase):

  def test_second_trainer_is_refused_naming_the_holder(self):
    workdir = os.path.join(self.get_temp_dir(), "locked")
    holder = sleeping_process(self)
    write_lock(workdir, holder.pid)
    with self.assertRaisesRegex(run_guard.WorkdirLockedError,
                                f"in use by PID {holder.pid} on host"):
      trainer.train(micro_config(), workdir, stop_after_steps=1)
    self.assertEqual(os.listdir(workdir), [".lock"])  # Nothing written.


class CorruptImageTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.root = os.path.join(self.get_temp_dir(), "images")
    write_image_folder(self.root, classes=2, per_class=12, size=24)
    self.bad = os.path.join(self.root, "class_1", "broken.jpg")
    with open(self.bad, "wb") as f:
      f.write(b"this is not a JPEG")
    with open(os.path.join(self.root, "class_0", "notes.txt"), "w") as f:
      f.write("ignored")
    self.config = micro_config().replace(dataset=f"folder:{self.root}", global_batch_size=8)

  def test_fail_policy_names_the_file_before_writing(self):
    workdir = os.path.join(self.get_temp_dir(), "fail")
    with self.assertRaisesRegex(ValueError, f"{self.bad}: Unknown image file format.*"
                                "--bad_images=skip"):
      trainer.train(self.config, workdir)
    self.assertFalse(os.path.exists(workdir))

  def test_skip_policy_counts_and_trains_taking_over_a_stale_lock(self):
    workdir = os.path.join(self.get_temp_dir(), "skip")
    dead = dead_pid()
    write_lock(workdir, dead)
    with self.assertLogs(level="INFO") as logs:
      result = trainer.train(self.config.replace(bad_images="skip"), workdir,
                             stop_after_steps=2)
    self.assertEqual(result.global_step, 2)
    self.assertIn(f"folder:{self.root}: 24 images used, 1 unreadable skipped, 1 non-image "
                  f"files ignored (skipped: {self.bad}: Unknown image file format",
                  "\n".join(logs.output))
    self.assertIn(f"taking over the stale lock {workdir}/.lock of PID {dead}",
                  "\n".join(logs.output))
    self.assertTrue(os.path.exists(os.path.join(workdir, workdir_lib.SPACE_FILE)))
    self.assertFalse(os.path.exists(os.path.join(workdir, ".lock")))


if __name__ == "__main__":
  tf.test.main()
