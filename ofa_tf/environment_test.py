"""Checks the facts about the Python environment that the whole project relies on.

The project is written against the Keras 2 API (`tf_keras`) because TensorFlow Model
Optimization 0.8.1 (quantization-aware training for the TFLite/EdgeTPU export) only accepts
Keras 2 models; in TensorFlow 2.21 `tf.keras` is Keras 3. These tests fail early and clearly
when the installed environment drifts from `requirements.txt`.
"""

import importlib.metadata
import pathlib
import re

import numpy as np
import tensorflow as tf
import tensorflow_model_optimization as tfmot
import tf_keras

import ofa_tf

# requirements.txt sits at the repository root, one level above this package. The path is not
# resolved through symlinks so that it also works inside Bazel's runfiles tree (the file is a
# `data` dependency of this test there).
_REQUIREMENTS = pathlib.Path(__file__).parent.parent / "requirements.txt"
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)$")


def _read_pins(path: pathlib.Path) -> dict[str, str]:
  """Returns {distribution name: pinned version} for every `name==version` line of `path`.

  Args:
    path: a pip requirements file.

  Returns:
    The exact pins, in file order.

  Raises:
    ValueError: a requirement line is not an exact `name==version` pin.
  """
  pins = {}
  for number, raw in enumerate(path.read_text().splitlines(), start=1):
    line = raw.split("#", 1)[0].strip()
    if not line:
      continue
    match = _PIN.match(line)
    if match is None:
      raise ValueError(
          f"{path}:{number}: {raw!r} is not an exact pin; every requirement must be "
          "written as name==version")
    pins[match.group(1)] = match.group(2)
  return pins


def _tiny_functional_model() -> tf_keras.Model:
  """A conv/BN/ReLU/pool/dense Functional model, the layer kinds the supernets use."""
  inputs = tf_keras.Input(shape=(8, 8, 3), name="image")
  x = tf_keras.layers.Conv2D(4, 3, padding="same", use_bias=False, name="stem_conv")(inputs)
  x = tf_keras.layers.BatchNormalization(name="stem_bn")(x)
  x = tf_keras.layers.ReLU(name="stem_relu")(x)
  x = tf_keras.layers.GlobalAveragePooling2D(name="pool")(x)
  outputs = tf_keras.layers.Dense(10, name="classifier")(x)
  return tf_keras.Model(inputs, outputs, name="tiny")


class RequirementsTest(tf.test.TestCase):

  def test_requirements_file_has_the_core_pins(self):
    pins = _read_pins(_REQUIREMENTS)
    for name in ("tensorflow", "tf-keras", "tensorflow-model-optimization",
                 "ai-edge-litert", "tensorflow-datasets"):
      self.assertIn(name, pins, f"{name} is not pinned in {_REQUIREMENTS}")

  def test_installed_versions_match_every_pin(self):
    mismatches = []
    for name, pinned in _read_pins(_REQUIREMENTS).items():
      try:
        installed = importlib.metadata.version(name)
      except importlib.metadata.PackageNotFoundError:
        installed = "not installed"
      if installed != pinned:
        mismatches.append(f"{name}: pinned {pinned}, installed {installed}")
    self.assertEmpty(
        mismatches,
        "the environment does not match requirements.txt (run `make setup`): "
        + "; ".join(mismatches))

  def test_read_pins_rejects_a_range(self):
    # get_temp_dir(), not create_tempfile(): absl flags are unparsed when pytest runs this.
    path = pathlib.Path(self.get_temp_dir()) / "requirements.txt"
    path.write_text("numpy>=2\n")
    with self.assertRaisesRegex(ValueError, "not an exact pin"):
      _read_pins(path)


class FrameworkTest(tf.test.TestCase):

  def test_tensorflow_is_2_21(self):
    self.assertRegex(tf.__version__, r"^2\.21\.")

  def test_tf_keras_is_the_pinned_keras_2(self):
    pinned = _read_pins(_REQUIREMENTS)["tf-keras"]
    self.assertEqual(tf_keras.__version__, pinned)
    self.assertTrue(tf_keras.__version__.startswith("2."), tf_keras.__version__)
    # Keras 2 API surface the project uses (gone or moved in Keras 3).
    self.assertTrue(hasattr(tf_keras.layers.Layer, "add_update"))
    self.assertIsInstance(_tiny_functional_model(), tf_keras.Model)


class PackageTest(tf.test.TestCase):

  def test_ofa_tf_is_this_package(self):
    # Under Bazel a workspace named `ofa_tf` would put an empty `ofa_tf/` runfiles directory
    # first on sys.path and shadow this package (hence `workspace(name = "ofa_tf_project")`).
    self.assertIsNotNone(ofa_tf.__file__)
    self.assertIn("Once-for-All", ofa_tf.__doc__ or "")


class QuantizationTest(tf.test.TestCase):

  def test_tfmot_quantizes_a_tf_keras_functional_model(self):
    model = _tiny_functional_model()
    annotated = tfmot.quantization.keras.quantize_annotate_model(model)
    # The annotation wrapper class is not exported; annotated layers wrap the original layer.
    wrapped = {layer.layer.name for layer in annotated.layers
               if type(layer).__name__ == "QuantizeAnnotate"}
    self.assertContainsSubset({"stem_conv", "classifier"}, wrapped)

    quantized = tfmot.quantization.keras.quantize_apply(annotated)
    self.assertIsInstance(quantized, tf_keras.Model)
    wrapper_cls = tfmot.quantization.keras.QuantizeWrapperV2
    quantized_names = {layer.layer.name for layer in quantized.layers
                       if isinstance(layer, wrapper_cls)}
    self.assertIn("classifier", quantized_names)

    images = np.random.default_rng(0).uniform(size=(2, 8, 8, 3)).astype(np.float32)
    logits = quantized(images, training=False).numpy()
    self.assertEqual(logits.shape, (2, 10))
    self.assertTrue(np.all(np.isfinite(logits)))


if __name__ == "__main__":
  tf.test.main()
