"""Writes an imported supernet as an ofa-tf work directory (what search and export read).

The layout is the trainer's work-directory format, written by
`ofa_tf.workdir.save_supernet` (`space.json`, `final/`), plus `imported_from.json`
recording the source checkpoint, the architecture and the oracle results; read it back with
`ofa_tf.workdir.load_supernet`. The whole directory is staged beside the destination
and moved into place with one `os.replace`: on any failure nothing is left at the destination.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

from ofa_tf import atomic_files
from ofa_tf.networks import Supernet, build_supernet
from ofa_tf import workdir as workdir_lib

IMPORT_FILE = "imported_from.json"


def sha256(path: str) -> str:
  digest = hashlib.sha256()
  with open(path, "rb") as f:
    for chunk in iter(lambda: f.read(1 << 20), b""):
      digest.update(chunk)
  return digest.hexdigest()


def write_workdir(output: str, supernet: Supernet, info: dict[str, Any], *,
                  overwrite: bool = False) -> str:
  """Writes `supernet` as work directory `output`.

  Args:
    output: the work directory to create; it must not exist (or be empty) unless `overwrite`.
    supernet: the imported supernet.
    info: JSON-serializable provenance written to `imported_from.json`.
    overwrite: replace an existing non-empty `output`.

  Returns:
    The checkpoint prefix `<output>/final/supernet`.

  Raises:
    FileExistsError: `output` exists, is not empty and `overwrite` is False.
  """
  def fill(staging):
    workdir_lib.save_supernet(staging, supernet)
    with open(os.path.join(staging, IMPORT_FILE), "w") as f:
      f.write(json.dumps(info, indent=1) + "\n")

  output = os.path.abspath(output)
  atomic_files.write_directory(output, fill, overwrite)
  return os.path.join(output, workdir_lib.FINAL_DIR, "supernet")
