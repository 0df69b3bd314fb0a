"""Converts a tf_keras model to a .tflite file for one target recipe, checked and atomic.

Flow: validate inputs -> lower (h-swish form, static batch; `lowering.lower_model`) ->
TFLiteConverter with the recipe's quantization -> checks on the bytes (dtypes, EdgeTPU
mapping, fp32 agreement with Keras) -> optional metadata -> `atomic_files.write_bytes` (temporary file in the output directory
-> os.replace; mode 0666 minus the umask). Any failure leaves no file at `output_path`.
"""

import dataclasses
import os
from typing import Callable, Iterable, Optional, Union

import numpy as np
import tensorflow as tf
import tf_keras

from ofa_tf import atomic_files
from ofa_tf.export import edgetpu
from ofa_tf.export import lowering
from ofa_tf.export import metadata as metadata_lib
from ofa_tf.export import recipes
from ofa_tf.export import tflite_graph
from ofa_tf.export import verify

_TF_DTYPES = {"float32": tf.float32, "int8": tf.int8, "uint8": tf.uint8}


class ExportError(RuntimeError):
  """The converted model failed a check of its recipe; nothing was written."""


@dataclasses.dataclass(frozen=True)
class ExportResult:
  """What `export_tflite` wrote.

  Attributes:
    path: the written .tflite file.
    size_bytes: its size in bytes.
    recipe: the recipe used.
    check: LiteRT vs Keras on the representative samples.
    edgetpu_report: EdgeTPU analysis (for every int8 recipe; None for float ones).
  """
  path: str
  size_bytes: int
  recipe: recipes.TargetRecipe
  check: verify.VerificationReport
  edgetpu_report: Optional[edgetpu.EdgeTpuReport]


def _is_quantize_aware(model) -> bool:
  return any(type(l).__name__ == "QuantizeWrapperV2" or type(l).__name__ == "QuantizeLayer"
             for l in model.layers)


def calibration_images(representative_dataset, input_shape, limit: int) -> np.ndarray:
  """Collects up to `limit` float32 images and checks their shape against the model input.

  Args:
    representative_dataset: float images as a (N, H, W, C) array, a `tf.data.Dataset`, an
      iterable, or a callable returning an iterable, of (H, W, C) images or (B, H, W, C)
      batches (a (image, label) pair uses the image).
    input_shape: the model input shape without batch, e.g. (224, 224, 3).
    limit: maximum number of images.

  Returns:
    float32 (n, H, W, C) images, 1 <= n <= limit.

  Raises:
    ValueError: on an empty dataset or an image shape other than `input_shape`.
  """
  source = representative_dataset() if callable(representative_dataset) else (
      representative_dataset)
  if isinstance(source, np.ndarray) and source.shape[1:] != tuple(input_shape):
    source = source[None] if source.shape == tuple(input_shape) else source
  images, n = [], 0
  for item in source:
    if isinstance(item, (tuple, list)):
      item = item[0]
    x = np.asarray(item.numpy() if hasattr(item, "numpy") else item, np.float32)
    if x.shape == tuple(input_shape):
      x = x[None]
    if x.shape[1:] != tuple(input_shape):
      raise ValueError(f"representative dataset yields shape {tuple(x.shape)}; the model input "
                       f"is (batch, {', '.join(map(str, input_shape))}) NHWC")
    images.append(x[:limit - n])
    n += len(images[-1])
    if n >= limit:
      break
  if not n:
    raise ValueError("representative dataset is empty")
  return np.concatenate(images)


def _convert(model, recipe: recipes.TargetRecipe, images: np.ndarray) -> bytes:
  shape = [recipe.batch_size, *model.input_shape[1:]]
  fn = tf.function(lambda x: model(x, training=False))
  concrete = fn.get_concrete_function(tf.TensorSpec(shape, tf.float32, name="image"))
  # Without the trackable `model` argument the converter skips a SavedModel round trip
  # (~1 s instead of ~20 s per conversion); the file still gets a "serving_default" signature.
  converter = tf.lite.TFLiteConverter.from_concrete_functions([concrete])
  if recipe.quantization == "float16":
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.target_spec.supported_types = [tf.float16]
  elif recipe.quantization == "int8":
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([images[i:i + 1]] for i in range(len(images)))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = _TF_DTYPES[recipe.io_dtype]
    converter.inference_output_type = _TF_DTYPES[recipe.io_dtype]
  return converter.convert()


def check_int8_only(graph: tflite_graph.TfliteGraph) -> None:
  """Raises ExportError if a non-constant tensor is not int8/uint8 (full-integer recipes)."""
  bad = [f"{t.name} ({t.dtype})" for t in graph.tensors
         if not t.is_constant and t.dtype not in ("INT8", "UINT8")]
  if bad:
    raise ExportError(f"full-integer model has non-int8 activations: {bad[:5]}")


def export_tflite(model: tf_keras.Model,
                  recipe: Union[str, recipes.TargetRecipe],
                  representative_dataset: Union[np.ndarray, Iterable, Callable[[], Iterable]],
                  output_path: str,
                  *,
                  overwrite: bool = False,
                  image_metadata: Optional[metadata_lib.ImageClassifierMetadata] = None
                  ) -> ExportResult:
  """Converts `model` for `recipe`, checks the result in LiteRT and writes it atomically.

  Args:
    model: a single-input tf_keras model taking float32 (B, H, W, C) NHWC images and
      returning (B, classes) logits: a float model, or a quantize-aware model from
      `qat.quantize_aware_model` (lowered before QAT; it is not lowered again).
    recipe: a `recipes.TargetRecipe` or a recipe name ("cpu_fp32", "cpu_int8", "gpu_fp16",
      "dsp_int8", "edgetpu_int8").
    representative_dataset: float images (see `calibration_images`), from the training
      split; used to calibrate int8 recipes and, for every recipe, to compare LiteRT with
      Keras.
    output_path: where to write the .tflite file.
    overwrite: replace an existing `output_path`.
    image_metadata: TFLite metadata for Android (normalization, labels) to embed, or None.

  Returns:
    An `ExportResult`.

  Raises:
    ValueError: unknown recipe or wrong representative shape.
    atomic_files.OutputExistsError: `output_path` exists and `overwrite` is False.
    PermissionError, NotADirectoryError: `output_path`'s directory cannot be written (all
      raised before converting).
    ExportError: the converted model fails a recipe check (int8 only, EdgeTPU mapping,
      fp32 agreement); no file is written.
  """
  if isinstance(recipe, str):
    recipe = recipes.get_recipe(recipe)
  if not isinstance(recipe, recipes.TargetRecipe):
    raise TypeError(f"recipe must be a TargetRecipe or a name, got {type(recipe).__name__}")
  output_path = os.fspath(output_path)
  atomic_files.check_output(output_path, overwrite)
  images = calibration_images(representative_dataset, model.input_shape[1:],
                              recipe.num_calibration_samples)
  if not _is_quantize_aware(model):
    model = lowering.lower_model(model, recipe.hswish_mode, batch_size=None)
  try:
    content = _convert(model, recipe, images)
  except Exception as e:  # The converter raises many types; report them as one.
    raise ExportError(f"TFLite conversion for {recipe.name} failed: {e}") from e
  content = metadata_lib.add_signature(content)
  graph = tflite_graph.read_tflite(content)
  report = None
  if recipe.quantization == "int8":
    check_int8_only(graph)
    report = edgetpu.analyze_edgetpu(graph)
    if recipe.require_edgetpu_mapping and not report.fully_mapped:
      raise ExportError(f"{recipe.name}: not fully mappable to the EdgeTPU; CPU fallback at "
                        f"op {report.first_cpu_op}\n{report.format()}")
  check = verify.verify_tflite(content, model, images)
  if recipe.max_abs_diff_vs_keras is not None and not (
      check.max_abs_diff <= recipe.max_abs_diff_vs_keras):
    raise ExportError(f"{recipe.name}: LiteRT outputs differ from Keras by "
                      f"{check.max_abs_diff:.3g} > {recipe.max_abs_diff_vs_keras:g}")
  if image_metadata is not None:
    content = metadata_lib.add_image_classifier_metadata(content, image_metadata)
  atomic_files.write_bytes(output_path, content, overwrite)
  return ExportResult(path=output_path, size_bytes=len(content), recipe=recipe, check=check,
                      edgetpu_report=report)
