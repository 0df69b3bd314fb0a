"""Atomic file writes for the search's outputs (temporary file + `os.replace`)."""

from __future__ import annotations

import json
import os
import tempfile


def atomic_write_bytes(path: str, data: bytes, overwrite: bool = False) -> None:
  """Writes `data` to `path` via a temporary file in the same directory and `os.replace`.

  Raises:
    FileExistsError: `path` exists and `overwrite` is False.
  """
  if os.path.exists(path) and not overwrite:
    raise FileExistsError(f"{path} exists; pass overwrite to replace it")
  directory = os.path.dirname(os.path.abspath(path))
  os.makedirs(directory, exist_ok=True)
  fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
  try:
    with os.fdopen(fd, "wb") as f:
      f.write(data)
    os.replace(tmp, path)
  except BaseException:
    if os.path.exists(tmp):
      os.remove(tmp)
    raise


def write_json(path: str, data, overwrite: bool = False) -> None:
  """Writes `data` as indented JSON, atomically (see `atomic_write_bytes`)."""
  atomic_write_bytes(path, (json.dumps(data, indent=1) + "\n").encode(), overwrite)


def read_json(path: str):
  with open(path) as f:
    return json.load(f)
