"""Imports a released OFA PyTorch supernet into an ofa-tf work directory.

  bazel run //export:import_ofa_checkpoint -- --checkpoint=ofa_mbv3_d234_e346_k357_w1.0 \
      --arch=ofa_mbv3_d234_e346_k357_w1.0 --output=/tmp/ofa_w10 \
      --verify_cases=../shared/reference/ofa_mbv3_w1.0_seed0_cases.json

Reads the checkpoint without PyTorch, maps every tensor into the Keras supernet (failing on
any missing, unexpected or mis-shaped tensor), optionally checks a cases file of reference
logits (max |diff| per case; exit status 1 above 1e-3), and only then writes the work
directory (`space.json`, `final/` tf.train.Checkpoint, `imported_from.json`) that search and
export read. Nothing is written on any failure.
"""

import dataclasses
import json
import os
import sys
from typing import Optional

from absl import app
from absl import flags
from absl import logging

from ofa_tf import cli
from ofa_tf.interop import checkpoint_import
from ofa_tf.interop import import_workdir
from ofa_tf.interop import ofa_state_dict
from ofa_tf.interop import oracle

_CHECKPOINT = flags.DEFINE_string("checkpoint", None, "PyTorch .pth of the OFA supernet.")
_ARCH = flags.DEFINE_enum("arch", None, sorted(ofa_state_dict.ARCHITECTURES),
                          "Released supernet architecture.")
_OUTPUT = flags.DEFINE_string("output", None, "Work directory to create.")
_VERIFY = flags.DEFINE_string("verify_cases", None, "Cases JSON of reference logits to check.")
_MODE = flags.DEFINE_enum("mode", "sliced", ["sliced", "masked"], "Execution mode for checks.")
_OVERWRITE = flags.DEFINE_bool("overwrite", False, "Replace a non-empty --output.")


@dataclasses.dataclass(frozen=True)
class ImportConfig:
  checkpoint: str
  arch: str
  output: Optional[str]
  verify_cases: Optional[str]
  mode: str
  overwrite: bool


def get_import_config_from_flags() -> ImportConfig:
  if not _CHECKPOINT.value or not _ARCH.value:
    raise app.UsageError("--checkpoint and --arch are required")
  if not _OUTPUT.value and not _VERIFY.value:
    raise app.UsageError("give --output (and/or --verify_cases)")
  return ImportConfig(_CHECKPOINT.value, _ARCH.value, _OUTPUT.value, _VERIFY.value,
                      _MODE.value, _OVERWRITE.value)


def run(config: ImportConfig) -> int:
  """Imports, verifies and writes; returns the exit status."""
  if config.output and not config.overwrite and os.path.exists(config.output) and os.listdir(
      config.output):
    logging.error("%s exists and is not empty (use --overwrite)", config.output)
    return 2
  if config.verify_cases:  # Before the (long) import: the cases file names its supernet.
    try:
      with open(config.verify_cases) as f:
        recorded = json.load(f).get("supernet")
    except (OSError, ValueError) as e:
      logging.error("--verify_cases=%s unreadable, nothing written: %s", config.verify_cases, e)
      return 2
    if recorded not in (None, config.arch):
      logging.error("--verify_cases=%s was recorded for %s, not --arch=%s; nothing written",
                    config.verify_cases, recorded, config.arch)
      return 2
  try:
    supernet = checkpoint_import.load_ofa_pytorch_checkpoint(
        config.checkpoint, config.arch, execution_mode=config.mode)
  except (OSError, ValueError) as e:
    logging.error("import failed, nothing written: %s", e)
    return 2
  logging.info("imported %s as %s (%d weights)", config.checkpoint, config.arch,
               len(supernet.named_weights()))
  info = {"checkpoint": os.path.abspath(config.checkpoint),
          "sha256": import_workdir.sha256(config.checkpoint), "arch": config.arch}
  if config.verify_cases:
    try:
      results = oracle.verify_cases(supernet, config.verify_cases)
    except (OSError, ValueError) as e:
      logging.error("--verify_cases=%s: %s; nothing written", config.verify_cases, e)
      return 2
    for r in results:
      print(f"case {r.index:2d}  r={r.config.r}  bn={r.bn_mode:5s}  max|diff|={r.max_abs_diff:.3e}"
            f"  {'ok' if r.passed else 'FAIL'}")
    failed = [r.index for r in results if not r.passed]
    info["verified_cases"] = {"file": os.path.abspath(config.verify_cases),
                              "max_abs_diff": {str(r.index): r.max_abs_diff for r in results}}
    if failed:
      logging.error("cases %s exceed max |diff| %g; nothing written", failed, oracle.TOLERANCE)
      return 1
    print(f"all {len(results)} cases within {oracle.TOLERANCE:g}")
  if config.output:
    prefix = import_workdir.write_workdir(config.output, supernet, info,
                                          overwrite=config.overwrite)
    print(f"wrote {prefix}")
  return 0


def main(argv):
  cli.run_from_invocation_directory()
  del argv
  sys.exit(run(get_import_config_from_flags()))


if __name__ == "__main__":
  cli.run(main)
