"""A TFDS builder for tests: `tfds.builder("ofa_test_images")` prepares PNGs that a test
wrote into its manual directory (`manual_dir/class_<i>/*.png`), through TFDS' real
`download_and_prepare` (download manager, example generation, TFRecord shards).

Defined in a module of its own (not in the test's `__main__`), where TFDS can locate the
builder's code directory under Bazel too.
"""

import glob
import os

import tensorflow_datasets as tfds


class OfaTestImages(tfds.core.GeneratorBasedBuilder):
  """Images from `manual_dir/class_<i>/*.png` (written by the test), one split: train."""

  VERSION = tfds.core.Version("1.0.0")
  MANUAL_DOWNLOAD_INSTRUCTIONS = "Place class_0/*.png and class_1/*.png in manual_dir."

  def _info(self):
    return self.dataset_info_from_configs(
        features=tfds.features.FeaturesDict({
            "image": tfds.features.Image(shape=(None, None, 3)),
            "label": tfds.features.ClassLabel(names=["class_0", "class_1"])}),
        supervised_keys=("image", "label"))

  def _split_generators(self, dl_manager):
    return {"train": self._generate_examples(dl_manager.manual_dir)}

  def _generate_examples(self, root):
    for label in (0, 1):
      for path in sorted(glob.glob(os.path.join(root, f"class_{label}", "*.png"))):
        yield os.path.basename(path) + str(label), {"image": path, "label": label}
