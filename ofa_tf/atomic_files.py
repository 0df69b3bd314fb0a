"""Atomic file writes: a reader sees the old file or the new one, never a partial one.

Every result file of ofa-tf (work-directory JSON, latency tables, search outputs, plots) is
written through `write_bytes`: a temporary file in the destination's directory, flushed to disk, then
`os.replace`. The file gets the usual permissions (0666 minus the umask, 0644 under the
default umask), not `mkstemp`'s 0600. Directories written as a whole (a work directory's
`final/`) are filled in `make_staging_directory` and swapped in by `replace_directory`.
`check_output` lets a job refuse an existing or unwritable output before its work.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
from typing import Any, Callable


class OutputExistsError(FileExistsError):
  """An output file exists and the caller did not allow replacing it (`overwrite`).

  Binaries report it as "pass --overwrite" (`ofa_tf.cli`); `path` is the file.
  """

  def __init__(self, path: str):
    super().__init__(f"{path} exists; pass overwrite=True to replace it")
    self.path = path


def _umask() -> int:
  umask = os.umask(0)
  os.umask(umask)
  return umask


def check_output(path: str, overwrite: bool = False) -> None:
  """Checks, before any work, that `path` can be written by `write_bytes`.

  Nothing is created. The nearest existing ancestor directory of `path` must be a writable
  directory (`write_bytes` creates the missing ones).

  Raises:
    OutputExistsError: `path` exists and `overwrite` is False.
    IsADirectoryError: `path` is a directory.
    NotADirectoryError: an ancestor of `path` is a file.
    PermissionError: the nearest existing ancestor directory is not writable.
  """
  if os.path.isdir(path):
    raise IsADirectoryError(f"output {path} is a directory")
  if os.path.exists(path) and not overwrite:
    raise OutputExistsError(path)
  directory = os.path.dirname(os.path.abspath(path))
  while not os.path.exists(directory):
    directory = os.path.dirname(directory)
  if not os.path.isdir(directory):
    raise NotADirectoryError(f"cannot write {path}: {directory} is a file, not a directory")
  if not os.access(directory, os.W_OK | os.X_OK):
    raise PermissionError(f"cannot write {path}: directory {directory} is not writable")


def write_bytes(path: str, data: bytes, overwrite: bool = True) -> None:
  """Writes `data` to `path` atomically, creating the parent directory.

  Raises:
    OutputExistsError: `path` exists and `overwrite` is False (nothing is written).
  """
  if not overwrite and os.path.exists(path):
    raise OutputExistsError(path)
  directory = os.path.dirname(os.path.abspath(path))
  os.makedirs(directory, exist_ok=True)
  fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", dir=directory)
  try:
    with os.fdopen(fd, "wb") as f:
      f.write(data)
      f.flush()
      os.fsync(f.fileno())
    os.chmod(tmp, 0o666 & ~_umask())
    if not overwrite and os.path.exists(path):  # Appeared while writing.
      raise OutputExistsError(path)
    os.replace(tmp, path)
  except BaseException:
    if os.path.exists(tmp):
      os.remove(tmp)
    raise


def make_staging_directory(parent: str, name: str) -> str:
  """A new empty directory in `parent` (created if missing) to fill and then move to
  `parent/name` with `replace_directory`; mode 0777 minus the umask (not `mkdtemp`'s 0700)."""
  os.makedirs(parent, exist_ok=True)
  staging = tempfile.mkdtemp(prefix=f".{name}.", dir=parent)
  os.chmod(staging, 0o777 & ~_umask())
  return staging


def replace_directory(staging: str, path: str) -> None:
  """Moves the filled `staging` directory to `path`, replacing a directory there.

  The old directory is first moved aside (same parent) and removed after the swap, so a
  reader sees the old directory or the new one, and a failure leaves the old one in place
  (and removes `staging`).
  """
  parent = os.path.dirname(os.path.abspath(path))
  old = None
  try:
    if os.path.exists(path):
      old = tempfile.mkdtemp(prefix=f".{os.path.basename(path)}.old.", dir=parent)
      os.replace(path, os.path.join(old, "previous"))
    os.replace(staging, path)
  except BaseException:
    if old and not os.path.exists(path) and os.path.exists(os.path.join(old, "previous")):
      os.replace(os.path.join(old, "previous"), path)
    shutil.rmtree(staging, ignore_errors=True)
    raise
  finally:
    if old:
      shutil.rmtree(old, ignore_errors=True)


def write_text(path: str, text: str, overwrite: bool = True) -> None:
  """`write_bytes` of UTF-8 `text`."""
  write_bytes(path, text.encode("utf-8"), overwrite)


def write_json(path: str, data: Any, overwrite: bool = True) -> None:
  """`write_text` of `data` as indented JSON with a final newline."""
  write_text(path, json.dumps(data, indent=1) + "\n", overwrite)


def write_png(path: str, figure, overwrite: bool = True) -> None:
  """`write_bytes` of a matplotlib `Figure` laid out (`tight_layout`) and rendered as PNG.

  Raises:
    FileExistsError: `path` exists and `overwrite` is False (nothing is written).
  """
  buffer = io.BytesIO()
  figure.tight_layout()
  figure.savefig(buffer, format="png")
  write_bytes(path, buffer.getvalue(), overwrite)


def write_directory(path: str, fill: Callable[[str], Any], overwrite: bool = False) -> None:
  """Creates directory `path` atomically: `fill(staging)` writes into a staging directory in
  the same parent, which then replaces `path` with one `os.replace`.

  On any failure (in `fill` too) nothing is left at `path` and an existing one is unchanged.
  The directory gets the usual permissions (0777 minus the umask), not `mkdtemp`'s 0700.

  Raises:
    OutputExistsError: `path` exists, is not empty and `overwrite` is False (nothing
      written).
  """
  path = os.path.abspath(path)
  if os.path.exists(path) and os.listdir(path) and not overwrite:
    raise OutputExistsError(path)
  parent = os.path.dirname(path)
  os.makedirs(parent, exist_ok=True)
  staging = tempfile.mkdtemp(prefix=f".{os.path.basename(path)}.", dir=parent)
  umask = os.umask(0)
  os.umask(umask)
  os.chmod(staging, 0o777 & ~umask)
  try:
    fill(staging)
    if os.path.exists(path):
      old = tempfile.mkdtemp(prefix=f".{os.path.basename(path)}.old.", dir=parent)
      os.replace(path, os.path.join(old, "previous"))
      os.replace(staging, path)
      shutil.rmtree(old, ignore_errors=True)
    else:
      os.replace(staging, path)
  except BaseException:
    shutil.rmtree(staging, ignore_errors=True)
    raise
