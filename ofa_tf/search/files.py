"""Atomic file writes for the search's outputs (temporary file + `os.replace`)."""

from __future__ import annotations

import json

from ofa_tf import atomic_files


def atomic_write_bytes(path: str, data: bytes, overwrite: bool = False) -> None:
  """Writes `data` to `path` atomically (`ofa_tf.atomic_files`).

  Raises:
    FileExistsError: `path` exists and `overwrite` is False.
  """
  atomic_files.write_bytes(path, data, overwrite)


def write_json(path: str, data, overwrite: bool = False) -> None:
  """Writes `data` as indented JSON, atomically (see `atomic_write_bytes`)."""
  atomic_write_bytes(path, (json.dumps(data, indent=1) + "\n").encode(), overwrite)


def read_json(path: str):
  with open(path) as f:
    return json.load(f)
