r"""Imports a released OFA accuracy predictor (`acc_predictor.pth`, OFA-MobileNetV3 w1.2, or
`ofa_resnet50_acc_predictor.pth`) as an ofa-tf predictor.

  bazel run //export:import_accuracy_predictor -- \
      --checkpoint=../shared/reference/acc_mbv3_seed0.pth --space=ofa_mbv3_w1.2 \
      --output=/tmp/ofa_w12 --verify_cases=../shared/reference/acc_mbv3_seed0_cases.json

Reads the file without PyTorch and checks its layout and input width against the space's
released encoding; with --verify_cases, predicts the file's reference configs and exits with
status 1 if any differs by more than 1e-5 (top-1 as a fraction). Only then it writes: if
--output is a work directory (it holds `space.json`, e.g. one written by
import_ofa_checkpoint), into `<output>/accuracy_predictor/`, where `trainers/search.py
--workdir=<output>` finds it; otherwise into --output itself. The directory is written
atomically; an existing predictor is replaced only with --overwrite. Exit status 2: the file
or the destination is refused, nothing written (`ofa_tf.interop.accuracy_predictor_import.
run_import`).
"""

import sys

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


def get_import_job_from_flags() -> importer.ImportJob:
  if not _CHECKPOINT.value or not _SPACE.value:
    raise app.UsageError("--checkpoint and --space are required")
  if not _OUTPUT.value and not _VERIFY.value:
    raise app.UsageError("give --output (and/or --verify_cases)")
  resolutions = tuple(int(r) for r in _RESOLUTIONS.value) if _RESOLUTIONS.value else None
  return importer.ImportJob(_CHECKPOINT.value, _SPACE.value, _OUTPUT.value, _VERIFY.value,
                            resolutions, _OVERWRITE.value)


def print_cases(cases) -> None:
  for r in cases:
    print(f"case {r.index:2d}  r={r.config.r}  reference {r.expected:.6f}  ours "
          f"{r.predicted:.6f}  |diff| {r.abs_diff:.1e}  {'ok' if r.passed else 'FAIL'}")


def main(argv):
  cli.run_from_invocation_directory()
  del argv
  job = get_import_job_from_flags()
  try:
    result = importer.run_import(job)
  except importer.CasesMismatchError as e:
    print_cases(e.results)
    logging.error("%s; nothing written", e)
    sys.exit(cli.EXIT_FAILURE)
  predictor = result.predictor
  print(f"read {job.checkpoint}: {predictor.source['layout']} layout, encoding "
        f"{predictor.encoding} ({predictor.encoder.dim} features), hidden "
        f"{predictor.hidden_units}, space {predictor.space.name} at resolutions "
        f"{predictor.space.resolutions}")
  if result.cases:
    print_cases(result.cases)
    print(f"all {len(result.cases)} cases within {importer.TOLERANCE:g} (max |diff| "
          f"{max(r.abs_diff for r in result.cases):.1e})")
  if result.directory:
    print(f"wrote {result.directory}")


if __name__ == "__main__":
  cli.run(main)
