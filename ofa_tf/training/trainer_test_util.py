"""Small configs and work-directory states shared by the trainer's tests."""

import json
import os
import socket
import subprocess
import sys

from ofa_tf.training import config as config_lib


def micro_config(full_steps: int = 2, **changes) -> config_lib.TrainConfig:
  """The smoke preset without dropout and evaluation, 2 steps per phase (full: full_steps)."""
  config = config_lib.get_preset("smoke")
  phases = tuple(p.__class__(**{**p.to_dict(), "steps": full_steps if p.name == "full" else 2})
                 for p in config.phases)
  return config.replace(phases=phases, dropout_rate=0.0, eval_at_phase_end=False,
                        **changes)


def write_lock(workdir: str, pid: int, host: str | None = None) -> str:
  """Writes the lock file a trainer of PID `pid` on `host` (default: this host) leaves."""
  os.makedirs(workdir, exist_ok=True)
  path = os.path.join(workdir, ".lock")
  with open(path, "w") as f:
    json.dump({"pid": pid, "host": host or socket.gethostname(), "started": "t"}, f)
  return path


def dead_pid() -> int:
  """The PID of a process that has exited."""
  child = subprocess.Popen([sys.executable, "-c", "pass"])
  child.wait()
  return child.pid


def sleeping_process(test) -> subprocess.Popen:
  """A live process (killed at the end of `test`)."""
  child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
  test.addCleanup(child.kill)
  return child
