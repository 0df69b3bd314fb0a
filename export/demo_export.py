"""Accuracy of every export path on a real task: float vs PTQ vs QAT, and the ReLU lowering.

Trains a static subnet of a search space on a dataset with Keras `fit` (a stand-in for a
subnet extracted from a trained supernet), then exports it with PTQ and QAT for cpu_int8 and
edgetpu_int8 and measures each file in LiteRT on the test split; the ReLU lowering of h-swish
is measured in float (with and without a fine-tune) and as an edgetpu_int8 file.

  bazel run //export:demo_export -- --output_dir=/tmp/ofa_export_demo
  python export/demo_export.py --output_dir=/tmp/ofa_export_demo --subnet=max --train_steps=300
"""

import dataclasses
import time

from absl import flags
from absl import logging

from ofa_tf import cli
from ofa_tf.data import load_dataset
from ofa_tf.export import accuracy_study
from ofa_tf.networks import build_static_model
from ofa_tf.search_space import get_space

_DATASET = flags.DEFINE_string("dataset", "digits", "Dataset spec (load_dataset).")
_SPACE = flags.DEFINE_string("space", "ofa_mbv3_tiny", "Search space name.")
_SUBNET = flags.DEFINE_enum("subnet", "max", ["max", "min"], "Subnet of the space.")
_RESOLUTION = flags.DEFINE_integer("resolution", 32, "Input resolution (pixels).")
_TRAIN_STEPS = flags.DEFINE_integer("train_steps", 300, "Float training steps (batch 64).")
_QAT_STEPS = flags.DEFINE_integer("qat_steps", 60, "QAT fine-tune steps (batch 64).")
_RELU_STEPS = flags.DEFINE_integer("relu_finetune_steps", 100, "Fine-tune steps of the ReLU "
                                   "variant (0: skip).")
_OUTPUT_DIR = flags.DEFINE_string("output_dir", None, "Directory for the .tflite files.",
                                  required=True)
_OVERWRITE = flags.DEFINE_bool("overwrite", False, "Replace existing files.")
_SEED = flags.DEFINE_integer("seed", 0, "Seed.")


@dataclasses.dataclass(frozen=True)
class DemoConfig:
  dataset: str
  space: str
  subnet: str
  resolution: int
  train_steps: int
  qat_steps: int
  relu_finetune_steps: int
  output_dir: str
  overwrite: bool
  seed: int


def get_demo_config_from_flags() -> DemoConfig:
  return DemoConfig(_DATASET.value, _SPACE.value, _SUBNET.value, _RESOLUTION.value,
                    _TRAIN_STEPS.value, _QAT_STEPS.value, _RELU_STEPS.value, _OUTPUT_DIR.value,
                    _OVERWRITE.value, _SEED.value)


def main(argv):
  del argv
  config = get_demo_config_from_flags()
  data = load_dataset(config.dataset)
  space = get_space(config.space)
  subnet = (space.max_config if config.subnet == "max" else space.min_config)(
      config.resolution)
  start = time.time()
  model = accuracy_study.train_float(build_static_model(space.network_spec(subnet)), data,
                                     config.train_steps, seed=config.seed)
  logging.info("trained %s in %.0f s", subnet.to_json(), time.time() - start)
  rows = accuracy_study.quantization_study(
      model, data, config.output_dir, qat_steps=config.qat_steps,
      relu_finetune_steps=config.relu_finetune_steps, overwrite=config.overwrite,
      seed=config.seed)
  print(f"{config.dataset}, {space.name} {config.subnet} subnet at {config.resolution} px "
        f"({space.macs(subnet) / 1e6:.1f} M MACs), {config.train_steps} float training steps, "
        f"{config.qat_steps} QAT steps; top-1 on the test split ({time.time() - start:.0f} s)")
  print(accuracy_study.format_study(rows))


if __name__ == "__main__":
  cli.run(main)
