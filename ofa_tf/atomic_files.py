"""Atomic file writes: a reader sees the old file or the new one, never a partial one.

Every result file of ofa-tf (work-directory JSON, latency tables, search outputs, plots) is
written through `write_bytes`: a temporary file in the destination's directory, flushed to disk, then
`os.replace`. The file gets the usual permissions (0666 minus the umask), not `mkstemp`'s 0600.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
from typing import Any, Callable


def write_bytes(path: str, data: bytes, overwrite: bool = True) -> None:
  """Writes `data` to `path` atomically, creating the parent directory.

  Raises:
    FileExistsError: `path` exists and `overwrite` is False (nothing is written).
  """
  if not overwrite and os.path.exists(path):
    raise FileExistsError(f"{path} exists; pass overwrite to replace it")
  directory = os.path.dirname(os.path.abspath(path))
  os.makedirs(directory, exist_ok=True)
  fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", dir=directory)
  try:
    with os.fdopen(fd, "wb") as f:
      f.write(data)
      f.flush()
      os.fsync(f.fileno())
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    os.replace(tmp, path)
  except BaseException:
    if os.path.exists(tmp):
      os.remove(tmp)
    raise


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
    FileExistsError: `path` exists, is not empty and `overwrite` is False (nothing written).
  """
  path = os.path.abspath(path)
  if os.path.exists(path) and os.listdir(path) and not overwrite:
    raise FileExistsError(f"{path} exists and is not empty; pass overwrite to replace it")
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
