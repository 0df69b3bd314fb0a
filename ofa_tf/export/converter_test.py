"""Tests for converter: every recipe, LiteRT execution, dtypes, and bad input."""

import os
import stat
from unittest import mock

from ai_edge_litert import interpreter as litert
import numpy as np
import tensorflow as tf

from ofa_tf.export import converter
from ofa_tf.export import recipes
from ofa_tf.export import tflite_graph
from ofa_tf.export import toy_model


class ExportTfliteTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.model = toy_model.toy_mobilenet_v3()
    cls.images = np.random.default_rng(0).uniform(0, 1, (8, 32, 32, 3)).astype(np.float32)

  def _export(self, recipe, **kwargs):
    path = os.path.join(self.get_temp_dir(), f"{getattr(recipe, 'name', recipe)}.tflite")
    return converter.export_tflite(self.model, recipe, self.images, path, **kwargs)

  def test_every_recipe_runs_in_litert(self):
    for name in recipes.RECIPES:
      with self.subTest(name):
        result = self._export(name)
        graph = tflite_graph.read_tflite(result.path)
        self.assertEqual(graph.inputs[0].shape, (1, 32, 32, 3))
        self.assertFalse(graph.inputs[0].is_dynamic)
        self.assertEqual(graph.signature_keys, ("serving_default",))
        interp = litert.Interpreter(model_path=result.path)
        runner = interp.get_signature_runner("serving_default")
        dtype = {"float32": np.float32, "int8": np.int8, "uint8": np.uint8}[
            recipes.get_recipe(name).io_dtype]
        out = runner(image=np.zeros((1, 32, 32, 3), dtype))["logits"]
        self.assertEqual(out.shape, (1, 10))
        self.assertGreater(result.check.top1_agreement, 0.7)
        if recipes.get_recipe(name).quantization == "int8":
          self.assertContainsSubset(graph.activation_dtypes(), {"INT8", "UINT8"})
          self.assertEqual(result.check.input_quant.dtype, recipes.get_recipe(name).io_dtype)
          self.assertGreater(result.check.input_quant.scale, 0)
        if name == "cpu_fp32":
          self.assertEqual(graph.activation_dtypes(), ("FLOAT32",))
          self.assertLessEqual(result.check.max_abs_diff, 1e-4)
        if name == "edgetpu_int8":
          self.assertTrue(result.edgetpu_report.fully_mapped)

  def test_unknown_target(self):
    with self.assertRaisesRegex(ValueError, "unknown target 'npu_int8'"):
      self._export("npu_int8")

  def test_wrong_representative_shape(self):
    path = os.path.join(self.get_temp_dir(), "shape.tflite")
    with self.assertRaisesRegex(ValueError, r"shape \(64, 64, 3\).*\(batch, 32, 32, 3\)"):
      converter.export_tflite(self.model, "cpu_int8", np.zeros((4, 64, 64, 3), np.float32),
                              path)
    self.assertFalse(os.path.exists(path))

  def test_existing_output_needs_overwrite(self):
    path = os.path.join(self.get_temp_dir(), "exists.tflite")
    with open(path, "wb") as f:
      f.write(b"old")
    with self.assertRaisesRegex(FileExistsError, "exists; pass overwrite=True"):
      converter.export_tflite(self.model, "cpu_fp32", self.images, path)
    with open(path, "rb") as f:
      self.assertEqual(f.read(), b"old")
    converter.export_tflite(self.model, "cpu_fp32", self.images, path, overwrite=True)
    self.assertGreater(os.path.getsize(path), 1000)

  def test_file_mode_is_0644_under_the_default_umask(self):
    old = os.umask(0o022)
    try:
      result = self._export("cpu_fp32")
    finally:
      os.umask(old)
    self.assertEqual(stat.S_IMODE(os.stat(result.path).st_mode), 0o644)

  def test_unwritable_output_is_refused_before_converting(self):
    blocker = os.path.join(self.get_temp_dir(), "a_file")
    with open(blocker, "w") as f:
      f.write("x")
    with mock.patch.object(converter, "_convert") as convert:
      with self.assertRaisesRegex(NotADirectoryError, "a_file is a file"):
        converter.export_tflite(self.model, "cpu_fp32", self.images,
                                os.path.join(blocker, "sub", "m.tflite"))
      read_only = os.path.join(self.get_temp_dir(), "read_only")
      os.makedirs(read_only, exist_ok=True)
      with mock.patch.object(os, "access", return_value=False):  # Root may write anywhere.
        with self.assertRaisesRegex(PermissionError, "read_only is not writable"):
          converter.export_tflite(self.model, "cpu_fp32", self.images,
                                  os.path.join(read_only, "m.tflite"))
      convert.assert_not_called()

  def test_failed_conversion_leaves_no_file(self):
    directory = os.path.join(self.get_temp_dir(), "failed_conversion")
    os.makedirs(directory)
    path = os.path.join(directory, "failed.tflite")
    with mock.patch.object(converter, "_convert", side_effect=RuntimeError("boom")):
      with self.assertRaisesRegex(converter.ExportError, "conversion for cpu_int8 failed"):
        converter.export_tflite(self.model, "cpu_int8", self.images, path)
    self.assertEmpty(os.listdir(directory))

  def test_failed_check_leaves_no_file(self):
    directory = os.path.join(self.get_temp_dir(), "failed_check")
    os.makedirs(directory)
    strict = recipes.TargetRecipe("strict_int8", "int8", "int8", max_abs_diff_vs_keras=1e-9)
    with self.assertRaisesRegex(converter.ExportError, "differ from Keras"):
      converter.export_tflite(self.model, strict, self.images,
                              os.path.join(directory, "strict.tflite"))
    self.assertEmpty(os.listdir(directory))

  def test_calibration_images_accepts_dataset_of_pairs(self):
    ds = tf.data.Dataset.from_tensor_slices((self.images, np.arange(8))).batch(3)
    images = converter.calibration_images(ds, (32, 32, 3), limit=5)
    self.assertAllClose(images, self.images[:5])


if __name__ == "__main__":
  tf.test.main()
