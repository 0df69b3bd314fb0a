"""Exports a subnet to a .tflite file for one target.

  bazel run //export:export_tflite -- --workdir=/tmp/ofa --subnet=chosen.json \
      --target=edgetpu_int8 --calibration_npy=train_images.npy

Until subnet extraction lands (ofa_tf/networks/extract.py), --keras_model loads a saved
tf_keras model instead, and --toy exports the built-in toy model.
"""

import dataclasses
import os
from typing import Optional

from absl import app
from absl import flags
from absl import logging
import numpy as np

from ofa_tf.export import converter
from ofa_tf.export import recipes

_WORKDIR = flags.DEFINE_string("workdir", None, "Work directory (supernet checkpoint).")
_SUBNET = flags.DEFINE_string("subnet", None, "Subnet JSON (SubnetConfig) to extract.")
_KERAS_MODEL = flags.DEFINE_string("keras_model", None, "Saved tf_keras model instead of "
                                   "--subnet.")
_TOY = flags.DEFINE_bool("toy", False, "Export the toy MobileNetV3-style model.")
_TARGET = flags.DEFINE_enum("target", "cpu_int8", sorted(recipes.RECIPES), "Target recipe.")
_OUTPUT = flags.DEFINE_string("output", None, "Output .tflite path (default: "
                              "<workdir>/export/<target>.tflite).")
_OVERWRITE = flags.DEFINE_bool("overwrite", False, "Replace an existing output file.")
_CALIBRATION = flags.DEFINE_string("calibration_npy", None, "float32 (N, H, W, C) .npy of "
                                   "training images for calibration and checks.")


@dataclasses.dataclass(frozen=True)
class ExportConfig:
  target: str
  output: str
  overwrite: bool
  workdir: Optional[str]
  subnet: Optional[str]
  keras_model: Optional[str]
  toy: bool
  calibration_npy: Optional[str]


def get_export_config_from_flags() -> ExportConfig:
  sources = [bool(_SUBNET.value), bool(_KERAS_MODEL.value), _TOY.value]
  if sum(sources) != 1:
    raise app.UsageError("give exactly one of --subnet, --keras_model, --toy")
  if _SUBNET.value and not _WORKDIR.value:
    raise app.UsageError("--subnet needs --workdir")
  output = _OUTPUT.value or os.path.join(_WORKDIR.value or ".", "export",
                                         f"{_TARGET.value}.tflite")
  return ExportConfig(_TARGET.value, output, _OVERWRITE.value, _WORKDIR.value, _SUBNET.value,
                      _KERAS_MODEL.value, _TOY.value, _CALIBRATION.value)


def _load_model(config: ExportConfig):
  if config.toy:
    from ofa_tf.export import toy_model  # pylint: disable=g-import-not-at-top
    return toy_model.toy_mobilenet_v3()
  if config.keras_model:
    import tf_keras  # pylint: disable=g-import-not-at-top
    return tf_keras.models.load_model(config.keras_model, compile=False)
  try:
    from ofa_tf.networks import extract  # pylint: disable=g-import-not-at-top
  except ImportError as e:
    raise app.UsageError("--subnet needs ofa_tf.networks.extract (not available in this "
                         "checkout); use --keras_model") from e
  return extract.extract_subnet_from_workdir(config.workdir, config.subnet)


def main(argv):
  del argv
  config = get_export_config_from_flags()
  model = _load_model(config)
  if config.calibration_npy:
    images = np.load(config.calibration_npy).astype(np.float32)
  elif config.toy:
    from ofa_tf.export import toy_model  # pylint: disable=g-import-not-at-top
    images, _ = toy_model.synthetic_classification(100, model.input_shape[1])
  else:
    raise app.UsageError("--calibration_npy is required (training-split images)")
  result = converter.export_tflite(model, config.target, images, config.output,
                                   overwrite=config.overwrite)
  logging.info("wrote %s (%d bytes); LiteRT vs Keras: %s", result.path, result.size_bytes,
               result.check.to_json())
  if result.edgetpu_report is not None:
    logging.info("EdgeTPU analysis:\n%s", result.edgetpu_report.format())
  print(f"{result.path}\t{result.size_bytes} bytes\ttop1 agreement "
        f"{result.check.top1_agreement:.4f}\tmax |diff| {result.check.max_abs_diff:.3g}")


if __name__ == "__main__":
  app.run(main)
