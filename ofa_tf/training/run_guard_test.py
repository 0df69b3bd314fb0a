"""Tests of the work-directory lock and the stop-on-signal request."""

import json
import os
import signal
import socket

import tensorflow as tf

from ofa_tf.training import run_guard
from ofa_tf.training.trainer_test_util import dead_pid, write_lock


class WorkdirLockTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.workdir = os.path.join(self.get_temp_dir(), "wd")
    self.path = os.path.join(self.workdir, ".lock")

  def test_acquire_names_holder_and_release_removes(self):
    with run_guard.WorkdirLock(self.workdir):
      with open(self.path) as f:
        holder = json.load(f)
      self.assertEqual((holder["pid"], holder["host"]), (os.getpid(), socket.gethostname()))
      with self.assertRaisesRegex(run_guard.WorkdirLockedError,
                                  f"in use by PID {os.getpid()} on host "
                                  f"'{socket.gethostname()}'"):
        run_guard.WorkdirLock(self.workdir).acquire()
    self.assertFalse(os.path.exists(self.path))

  def test_live_holder_is_refused(self):
    write_lock(self.workdir, os.getppid())
    with self.assertRaisesRegex(run_guard.WorkdirLockedError, f"PID {os.getppid()}"):
      run_guard.WorkdirLock(self.workdir).acquire()
    self.assertTrue(os.path.exists(self.path))

  def test_stale_lock_of_dead_pid_is_taken_over(self):
    dead = dead_pid()
    write_lock(self.workdir, dead)
    with self.assertLogs(level="WARNING") as logs:
      lock = run_guard.WorkdirLock(self.workdir)
      lock.acquire()
    self.assertIn(f"stale lock {self.path} of PID {dead}", "\n".join(logs.output))
    with open(self.path) as f:
      self.assertEqual(json.load(f)["pid"], os.getpid())
    lock.release()
    self.assertFalse(os.path.exists(self.path))

  def test_lock_of_another_host_is_refused_even_with_a_dead_pid(self):
    write_lock(self.workdir, dead_pid(), host="elsewhere.example")
    with self.assertRaisesRegex(run_guard.WorkdirLockedError, "on host 'elsewhere.example'"):
      run_guard.WorkdirLock(self.workdir).acquire()


class StopRequestTest(tf.test.TestCase):

  def test_sigterm_and_sigint_set_the_request_and_handlers_are_restored(self):
    before = {s: signal.getsignal(s) for s in run_guard.StopRequest.SIGNALS}
    for signum, name in ((signal.SIGTERM, "SIGTERM"), (signal.SIGINT, "SIGINT")):
      with run_guard.StopRequest() as stop:
        self.assertFalse(stop.requested)
        signal.raise_signal(signum)
        self.assertEqual(stop.signal_name, name)
        if signum == signal.SIGINT:
          with self.assertRaises(KeyboardInterrupt):  # A second Ctrl-C stops at once.
            signal.raise_signal(signal.SIGINT)
    self.assertEqual({s: signal.getsignal(s) for s in run_guard.StopRequest.SIGNALS}, before)


if __name__ == "__main__":
  tf.test.main()
