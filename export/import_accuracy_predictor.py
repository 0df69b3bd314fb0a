r"""Imports a released OFA accuracy predictor (`acc_predictor.pth`, OFA-MobileNetV3 w1.2, or
`ofa_resnet50_acc_predictor.pth`) as an ofa-tf predictor.

  bazel run //export:import_accuracy_predictor -- \
      --checkpoint=../shared/reference/acc_mbv3_seed0.pth --space=ofa_mbv3_w1.2 \
      --output=/tmp/ofa_w12 --verify_cases=../shared/reference/acc_mbv3_seed0_cases.json

Reads the file without PyTorch and checks its layout and input width against the space's
released encoding (`ofa_tf.interop.accuracy_predictor_import`); with --verify_cases, predicts
the file's reference configs and exits with status 1 if any differs by more than 1e-5 (top-1
as a fraction). Only then it writes: if --output is a work directory (it holds `space.json`,
e.g. one written by import_ofa_checkpoint), into `<output>/accuracy_predictor/`, where
`trainers/search.py --workdir=<output>` finds it; otherwise into --output itself. The
directory is written atomically; an existing predictor is replaced only with --overwrite.
Exit status 2: the file or the destination is refused, nothing written.
"""

import dataclasses
import sys
from typing import Optional

from absl import app
from absl import flags
from absl import logging

from ofa_tf import cli
from ofa_tf.interop import accuracy_predictor_import as importer

_CHECKPOINT = flags.DEFINE_string("checkpoint", None, "Released predictor .pth.")
_SPACE = flags.DEFINE_enum("space", None, sorted(importer.RELEASED),
                           "Space the predictor belongs to.")
_OUTPUT = flags.DEFINE_string("output", None,
                              "Predictor directory, or a work directory to put it in.")
_VERIFY = flags.DEFINE_string("verify_cases", None, "Cases JSON of reference predictions.")
_RESOLUTIONS = flags.DEFINE_list(
    "resolutions", None, "Resolutions the predictor's space searches (default: the release's).")
_OVERWRITE = flags.DEFINE_bool("overwrite", False, "Replace an existing predictor.")


@dataclasses.dataclass(frozen=True)
class ImportConfig:
  """What to import, check and write (see the module docstring)."""
  checkpoint: str
  space: str
  output: Optional[str] = None
  verify_cases: Optional[str] = None
  resolutions: Optional[tuple[int, ...]] = None
  overwrite: bool = False


def get_import_config_from_flags() -> ImportConfig:
  if not _CHECKPOINT.value or not _SPACE.value:
    raise app.UsageError("--checkpoint and --space are required")
  if not _OUTPUT.value and not _VERIFY.value:
    raise app.UsageError("give --output (and/or --verify_cases)")
  resolutions = tuple(int(r) for r in _RESOLUTIONS.value) if _RESOLUTIONS.value else None
  return ImportConfig(_CHECKPOINT.value, _SPACE.value, _OUTPUT.value, _VERIFY.value,
                      resolutions, _OVERWRITE.value)


def run(config: ImportConfig) -> int:
  """Reads, verifies and writes; returns the exit status (0, 1 above tolerance, 2 refused)."""
  try:
    predictor = importer.read_released_predictor(config.checkpoint, config.space,
                                                 config.resolutions)
  except (OSError, ValueError) as e:
    logging.error("import failed, nothing written: %s", e)
    return 2
  print(f"read {config.checkpoint}: {predictor.source['layout']} layout, encoding "
        f"{predictor.encoding} ({predictor.encoder.dim} features), hidden "
        f"{predictor.hidden_units}, space {predictor.space.name} at resolutions "
        f"{predictor.space.resolutions}")
  if config.verify_cases:
    try:
      results = importer.verify_predictor_cases(predictor, config.verify_cases)
    except (OSError, ValueError) as e:
      logging.error("cannot verify, nothing written: %s", e)
      return 2
    for r in results:
      print(f"case {r.index:2d}  r={r.config.r}  reference {r.expected:.6f}  ours "
            f"{r.predicted:.6f}  |diff| {r.abs_diff:.1e}  {'ok' if r.passed else 'FAIL'}")
    failed = [r.index for r in results if not r.passed]
    if failed:
      logging.error("cases %s exceed |diff| %g; nothing written", failed, importer.TOLERANCE)
      return 1
    print(f"all {len(results)} cases within {importer.TOLERANCE:g} (max |diff| "
          f"{max(r.abs_diff for r in results):.1e})")
  if config.output:
    try:
      directory = importer.install_predictor(predictor, config.output, config.overwrite)
    except (OSError, ValueError) as e:
      logging.error("nothing written: %s", e)
      return 2
    print(f"wrote {directory}")
  return 0


def main(argv):
  cli.run_from_invocation_directory()
  del argv
  sys.exit(run(get_import_config_from_flags()))


if __name__ == "__main__":
  app.run(main)
