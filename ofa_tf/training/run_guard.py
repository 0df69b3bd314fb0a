"""What keeps a training run safe from its surroundings: a work-directory lock and a
stop-on-signal request.

`WorkdirLock`: one trainer per work directory. The lock is the file `<workdir>/.lock`
(`workdir.LOCK_FILE`), created exclusively (`O_CREAT | O_EXCL`) and holding the owner's
`{"pid", "host", "started"}` JSON; it is removed on release. A lock left by a process that
died without releasing it (`kill -9`, power loss) on this host (same host name, PID no longer
running) is stale and taken over with a warning; a lock held from another host cannot be
checked and is refused (remove the file by hand if that host's run is gone).

`StopRequest`: SIGTERM (what schedulers, Kubernetes and spot VMs send before killing) and
SIGINT (Ctrl-C) set a flag instead of killing the process; the trainer checks it at every step
boundary, checkpoints and returns (as Keras `BackupAndRestore` and Orbit's preemption
handling do). A second Ctrl-C interrupts at once (`KeyboardInterrupt`).
"""

from __future__ import annotations

import datetime
import json
import os
import signal
import socket
import threading

from absl import logging

from ofa_tf import workdir as workdir_lib


class WorkdirLockedError(RuntimeError):
  """Another live process holds the work directory's lock (`holder`: its lock JSON)."""

  def __init__(self, path: str, holder: dict):
    super().__init__(
        f"work directory {os.path.dirname(path)!r} is in use by PID {holder.get('pid')} on "
        f"host {holder.get('host')!r} (since {holder.get('started')}; lock file {path}); "
        f"wait for that run to end, or remove {path} if it is gone")
    self.path = path
    self.holder = holder


def _pid_alive(pid: int) -> bool:
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  except PermissionError:  # Exists, owned by another user.
    return True
  return True


class WorkdirLock:
  """Exclusive lock of a work directory for the lifetime of a run (a context manager).

  Raises (on `acquire` / entering):
    WorkdirLockedError: another live process holds it (message: its PID and host).
  """

  def __init__(self, workdir: str):
    self.path = os.path.join(workdir, workdir_lib.LOCK_FILE)
    self._held = False

  def _read_holder(self) -> dict | None:
    try:
      with open(self.path) as f:
        return json.load(f)
    except FileNotFoundError:
      return None
    except (ValueError, OSError):
      return {}  # Being written, or garbage: treated as held unless its PID is known dead.

  def acquire(self) -> None:
    os.makedirs(os.path.dirname(self.path), exist_ok=True)
    me = {"pid": os.getpid(), "host": socket.gethostname(),
          "started": datetime.datetime.now(datetime.timezone.utc).isoformat(
              timespec="seconds")}
    for _ in range(3):
      try:
        fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
      except FileExistsError:
        holder = self._read_holder()
        if holder is None:
          continue  # Released meanwhile.
        stale = (holder.get("host") == me["host"] and isinstance(holder.get("pid"), int)
                 and not _pid_alive(holder["pid"]))
        if not stale:
          raise WorkdirLockedError(self.path, holder) from None
        logging.warning("taking over the stale lock %s of PID %d on %s (no such process)",
                        self.path, holder["pid"], holder["host"])
        try:
          os.remove(self.path)
        except FileNotFoundError:
          pass
        continue
      with os.fdopen(fd, "w") as f:
        json.dump(me, f)
      self._held = True
      return
    raise WorkdirLockedError(self.path, self._read_holder() or {})

  def release(self) -> None:
    if self._held:
      self._held = False
      holder = self._read_holder()
      if holder and holder.get("pid") == os.getpid():
        os.remove(self.path)

  def __enter__(self) -> "WorkdirLock":
    self.acquire()
    return self

  def __exit__(self, *exc) -> None:
    self.release()


class StopRequest:
  """Turns SIGTERM and SIGINT into a request to stop at the next step boundary.

  Use as a context manager around the training loop; `signal_name` is None until a signal
  arrives, then its name ("SIGTERM", "SIGINT"). Previous handlers are restored on exit.
  Outside the main thread (where Python cannot install handlers) it does nothing.
  """

  SIGNALS = (signal.SIGTERM, signal.SIGINT)

  def __init__(self):
    self.signal_name: str | None = None
    self._previous = {}

  @property
  def requested(self) -> bool:
    return self.signal_name is not None

  def _handle(self, signum, frame):
    del frame
    if self.signal_name is not None and signum == signal.SIGINT:
      raise KeyboardInterrupt  # Second Ctrl-C: stop now.
    self.signal_name = signal.Signals(signum).name
    logging.warning("received %s: checkpointing at the end of this step, then exiting "
                    "(Ctrl-C again to stop at once)", self.signal_name)

  def __enter__(self) -> "StopRequest":
    if threading.current_thread() is threading.main_thread():
      for signum in self.SIGNALS:
        self._previous[signum] = signal.signal(signum, self._handle)
    return self

  def __exit__(self, *exc) -> None:
    for signum, handler in self._previous.items():
      signal.signal(signum, handler)
    self._previous = {}
