"""Writes an imported supernet as an ofa-tf work directory (what search and export read).

The layout is the trainer's work-directory format (`ofa_tf.training.workdir`, branch
`trainer`): `space.json` (`MobileNetV3Space.to_json()`), `final/supernet.*` =
`tf.train.Checkpoint(supernet=OFAMobileNetV3.named_weights()).write(final/supernet)` (keys
`supernet/<stable name>/.ATTRIBUTES/VARIABLE_VALUE`), `final/space.json`; plus
`imported_from.json` recording the source checkpoint, the architecture and the oracle results.
`workdir.load_supernet` reads it back. The whole directory is staged beside the destination
and moved into place with one `os.replace`: on any failure nothing is left at the destination.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from typing import Any

import tensorflow as tf

from ofa_tf.networks.ofa_mobilenet_v3 import OFAMobileNetV3

SPACE_FILE = "space.json"
FINAL_DIR = "final"
FINAL_PREFIX = "supernet"
IMPORT_FILE = "imported_from.json"


def sha256(path: str) -> str:
  digest = hashlib.sha256()
  with open(path, "rb") as f:
    for chunk in iter(lambda: f.read(1 << 20), b""):
      digest.update(chunk)
  return digest.hexdigest()


def write_workdir(output: str, supernet: OFAMobileNetV3, info: dict[str, Any], *,
                  overwrite: bool = False) -> str:
  """Writes `supernet` as work directory `output` (see the module docstring).

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
  output = os.path.abspath(output)
  if os.path.exists(output) and os.listdir(output) and not overwrite:
    raise FileExistsError(f"{output} exists and is not empty; pass overwrite to replace it")
  parent = os.path.dirname(output)
  os.makedirs(parent, exist_ok=True)
  staging = tempfile.mkdtemp(prefix=f".{os.path.basename(output)}.", dir=parent)
  umask = os.umask(0)
  os.umask(umask)
  os.chmod(staging, 0o777 & ~umask)  # mkdtemp makes it 0700.
  try:
    space_json = supernet.space.to_json() + "\n"
    final = os.path.join(staging, FINAL_DIR)
    tf.train.Checkpoint(supernet=dict(supernet.named_weights())).write(
        os.path.join(final, FINAL_PREFIX))
    for path, text in ((os.path.join(staging, SPACE_FILE), space_json),
                       (os.path.join(final, SPACE_FILE), space_json),
                       (os.path.join(staging, IMPORT_FILE), json.dumps(info, indent=1) + "\n")):
      with open(path, "w") as f:
        f.write(text)
    if os.path.exists(output):
      old = tempfile.mkdtemp(prefix=f".{os.path.basename(output)}.old.", dir=parent)
      os.replace(output, os.path.join(old, "previous"))
      os.replace(staging, output)
      shutil.rmtree(old, ignore_errors=True)
    else:
      os.replace(staging, output)
  except BaseException:
    shutil.rmtree(staging, ignore_errors=True)
    raise
  return os.path.join(output, FINAL_DIR, FINAL_PREFIX)


def read_workdir(workdir: str, execution_mode: str = "sliced") -> OFAMobileNetV3:
  """Reads back a work directory written by `write_workdir` (or the trainer).

  Raises:
    FileNotFoundError: no `space.json` or no `final/` checkpoint.
    ValueError: the checkpoint does not match the space.
  """
  from ofa_tf.search_space import MobileNetV3Space  # Local: keeps the module import light.
  with open(os.path.join(workdir, SPACE_FILE)) as f:
    space = MobileNetV3Space.from_json(f.read())
  prefix = os.path.join(workdir, FINAL_DIR, FINAL_PREFIX)
  if not tf.io.gfile.exists(prefix + ".index"):
    raise FileNotFoundError(f"{prefix}.index not found: no supernet in {workdir}")
  supernet = OFAMobileNetV3(space, execution_mode=execution_mode)
  try:
    tf.train.Checkpoint(supernet=dict(supernet.named_weights())).read(
        prefix).assert_existing_objects_matched()
  except (AssertionError, tf.errors.InvalidArgumentError) as e:
    raise ValueError(f"{prefix} does not match space {space.name!r}: {e}") from e
  return supernet
