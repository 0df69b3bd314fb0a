"""Exports a subnet of a trained supernet to .tflite files, one per target, with a report.

  bazel run //export:export_tflite -- --workdir=/tmp/ofa --subnet=chosen.json \
      --target=cpu_int8,edgetpu_int8 [--dataset=digits] [--method=qat] [--overwrite]

Loads the supernet of --workdir (`ofa_tf.workdir.load_supernet`), extracts the
subnet (a JSON `SubnetConfig` of the work directory's space), recalibrates its BN statistics
on training images, converts it for each target (PTQ calibrated on the training split, or
QAT), verifies each file in LiteRT on the test split and prints size, top-1, agreement with
Keras, latency and EdgeTPU mapping (`ofa_tf.export.targets.export_for_targets`).

Without a work directory, --keras_model exports a saved tf_keras model and --toy the built-in
toy model (one target, --output, calibration images from --calibration_npy).
"""

import dataclasses
import os
from typing import Optional, Tuple

from absl import app
from absl import flags
from absl import logging
import numpy as np

from ofa_tf import atomic_files
from ofa_tf import cli
from ofa_tf.export import converter
from ofa_tf.export import recipes
from ofa_tf.export import targets

_WORKDIR = flags.DEFINE_string("workdir", None, "Work directory (supernet checkpoint).")
_SUBNET = flags.DEFINE_string("subnet", None, "Subnet JSON (SubnetConfig) to extract.")
_KERAS_MODEL = flags.DEFINE_string("keras_model", None, "Saved tf_keras model instead of "
                                   "--subnet.")
_TOY = flags.DEFINE_bool("toy", False, "Export the toy MobileNetV3-style model.")
_TARGET = flags.DEFINE_list("target", ["cpu_int8"], f"Target recipes, comma separated: "
                            f"{', '.join(sorted(recipes.RECIPES))}.")
_DATASET = flags.DEFINE_string("dataset", "digits", "Dataset the supernet was trained on "
                               "(load_dataset spec), for calibration and verification.")
_DATA_DIR = flags.DEFINE_string("data_dir", None, "TFDS data directory.")
_BAD_IMAGES = flags.DEFINE_enum("bad_images", "fail", ["fail", "skip", "unchecked"],
                                "Unreadable images of a folder dataset: as the training run's "
                                "--bad_images (the split depends on it).")
_METHOD = flags.DEFINE_enum("method", "ptq", list(targets.METHODS), "Quantization method.")
_QAT_STEPS = flags.DEFINE_integer("qat_steps", 100, "QAT fine-tune steps (--method=qat).")
_RECALIBRATION = flags.DEFINE_integer("recalibration_images", 2000, "Training images for "
                                      "BN recalibration of the subnet (0: none).")
_OUTPUT_DIR = flags.DEFINE_string("output_dir", None, "Output directory with --subnet "
                                  "(default: <workdir>/export).")
_OUTPUT = flags.DEFINE_string("output", None, "Output .tflite path with --keras_model/--toy "
                              "(default: ./<target>.tflite).")
_OVERWRITE = flags.DEFINE_bool("overwrite", False, "Replace an existing output file.")
_CALIBRATION = flags.DEFINE_string("calibration_npy", None, "float32 (N, H, W, C) .npy of "
                                   "training images for calibration and checks.")


@dataclasses.dataclass(frozen=True)
class ExportConfig:
  targets: Tuple[str, ...]
  overwrite: bool
  workdir: Optional[str]
  subnet: Optional[str]
  dataset: str
  data_dir: Optional[str]
  method: str
  qat_steps: int
  recalibration_images: int
  output_dir: Optional[str]
  keras_model: Optional[str]
  toy: bool
  output: Optional[str]
  calibration_npy: Optional[str]
  bad_images: str = "fail"


def get_export_config_from_flags() -> ExportConfig:
  sources = [bool(_SUBNET.value), bool(_KERAS_MODEL.value), _TOY.value]
  if sum(sources) != 1:
    raise app.UsageError("give exactly one of --subnet, --keras_model, --toy")
  if _SUBNET.value and not _WORKDIR.value:
    raise app.UsageError("--subnet needs --workdir")
  for target in _TARGET.value:
    if target not in recipes.RECIPES:
      raise app.UsageError(f"unknown target {target!r}; known targets: "
                           f"{sorted(recipes.RECIPES)}")
  if not _SUBNET.value and len(_TARGET.value) != 1:
    raise app.UsageError("--keras_model/--toy export one --target")
  output_dir = _OUTPUT_DIR.value or (os.path.join(_WORKDIR.value, "export")
                                     if _WORKDIR.value else None)
  output = _OUTPUT.value or f"{_TARGET.value[0]}.tflite"
  return ExportConfig(tuple(_TARGET.value), _OVERWRITE.value, _WORKDIR.value, _SUBNET.value,
                      _DATASET.value, _DATA_DIR.value, _METHOD.value, _QAT_STEPS.value,
                      _RECALIBRATION.value, output_dir, _KERAS_MODEL.value, _TOY.value, output,
                      _CALIBRATION.value, _BAD_IMAGES.value)


def _load_model(config: ExportConfig):
  if config.toy:
    from ofa_tf.export import toy_model  # pylint: disable=g-import-not-at-top
    return toy_model.toy_mobilenet_v3()
  import tf_keras  # pylint: disable=g-import-not-at-top
  return tf_keras.models.load_model(config.keras_model, compile=False)


def check_outputs(config: ExportConfig) -> None:
  """Refuses existing (without --overwrite) or unwritable outputs before any work.

  Raises:
    atomic_files.OutputExistsError, PermissionError, NotADirectoryError, ValueError.
  """
  if config.subnet:
    targets.plan_exports(config.targets, config.output_dir, config.method, config.overwrite)
  else:
    atomic_files.check_output(config.output, config.overwrite)


def _export_subnet(config: ExportConfig) -> None:
  from ofa_tf.data import load_dataset  # pylint: disable=g-import-not-at-top
  data = load_dataset(config.dataset, data_dir=config.data_dir, bad_images=config.bad_images)
  results = targets.export_for_targets(
      config.workdir, config.subnet, data, config.output_dir, config.targets,
      method=config.method, qat_steps=config.qat_steps,
      recalibration_images=config.recalibration_images, overwrite=config.overwrite)
  for result in results:
    logging.info("wrote %s", result.path)
  print(targets.format_table(results))


def main(argv):
  del argv
  cli.run_from_invocation_directory()
  config = get_export_config_from_flags()
  check_outputs(config)
  try:
    if config.subnet:
      _export_subnet(config)
    else:
      _export_model(config)
  except converter.ExportError as e:  # A file failed its recipe's checks: a "no", not a bug.
    cli.fail(str(e).splitlines()[0], cli.EXIT_FAILURE)


def _export_model(config: ExportConfig) -> None:
  if not config.calibration_npy and not config.toy:
    raise app.UsageError("--calibration_npy is required (training-split images)")
  model = _load_model(config)
  if config.calibration_npy:
    images = np.load(config.calibration_npy).astype(np.float32)
  else:
    from ofa_tf.export import toy_model  # pylint: disable=g-import-not-at-top
    images, _ = toy_model.synthetic_classification(100, model.input_shape[1])
  result = converter.export_tflite(model, config.targets[0], images, config.output,
                                   overwrite=config.overwrite)
  logging.info("wrote %s (%d bytes); LiteRT vs Keras: %s", result.path, result.size_bytes,
               result.check.to_json())
  if result.edgetpu_report is not None:
    logging.info("EdgeTPU analysis:\n%s", result.edgetpu_report.format())
  print(f"{result.path}\t{result.size_bytes} bytes\ttop1 agreement "
        f"{result.check.top1_agreement:.4f}\tmax |diff| {result.check.max_abs_diff:.3g}")


if __name__ == "__main__":
  cli.run(main)
