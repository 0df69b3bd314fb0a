"""Runs an exported .tflite in LiteRT and compares it with the Keras model.

Reports what the issue asks of every exported file: top-1 on an evaluation set, agreement
with the Keras model (top-1 and logits), and the input/output quantization parameters.
"""

import dataclasses
import json
from typing import Optional, Tuple

from ai_edge_litert import interpreter as litert
import numpy as np


@dataclasses.dataclass(frozen=True)
class QuantParams:
  """Quantization of one model input/output: real = scale * (q - zero_point)."""
  dtype: str
  scale: float
  zero_point: int


@dataclasses.dataclass(frozen=True)
class VerificationReport:
  """LiteRT vs Keras on N images.

  Attributes:
    num_images: images evaluated.
    top1: LiteRT top-1 accuracy in [0, 1] (None without labels).
    keras_top1: Keras top-1 accuracy in [0, 1] (None without labels).
    top1_agreement: fraction of images where LiteRT and Keras predict the same class.
    max_abs_diff: max |LiteRT - Keras| over all (dequantized) logits.
    mean_abs_diff: mean |LiteRT - Keras| over all (dequantized) logits.
    input_quant: quantization of the input tensor (scale 0 for float tensors).
    output_quant: quantization of the output tensor.
  """
  num_images: int
  top1: Optional[float]
  keras_top1: Optional[float]
  top1_agreement: float
  max_abs_diff: float
  mean_abs_diff: float
  input_quant: QuantParams
  output_quant: QuantParams

  def to_json(self) -> str:
    return json.dumps(dataclasses.asdict(self), sort_keys=True)


def _quant(detail) -> QuantParams:
  scale, zero_point = detail["quantization"]
  return QuantParams(np.dtype(detail["dtype"]).name, float(scale), int(zero_point))


def run_tflite(model_content: bytes, images: np.ndarray) -> Tuple[np.ndarray, QuantParams,
                                                                  QuantParams]:
  """Runs a single-input .tflite on float images, one at a time (batch 1).

  Args:
    model_content: the .tflite bytes.
    images: float32 (N, H, W, C) NHWC in the model's float input range; quantized inputs
      are quantized with the file's input scale and zero point.

  Returns:
    (float32 (N, classes) outputs, dequantized for quantized outputs; input quant; output
    quant).
  """
  interp = litert.Interpreter(model_content=bytes(model_content), num_threads=1)
  inp = interp.get_input_details()[0]
  out = interp.get_output_details()[0]
  if list(inp["shape"][1:]) != list(images.shape[1:]):
    raise ValueError(f"images have shape {images.shape[1:]}, the .tflite input is "
                     f"{tuple(inp['shape'][1:])}")
  if inp["shape"][0] != 1:
    interp.resize_tensor_input(inp["index"], [1, *images.shape[1:]])
  interp.allocate_tensors()
  in_q, out_q = _quant(inp), _quant(out)
  results = []
  for image in images:
    x = image[None].astype(np.float32)
    if in_q.scale:
      info = np.iinfo(inp["dtype"])
      x = np.clip(np.round(x / in_q.scale + in_q.zero_point), info.min, info.max)
    interp.set_tensor(inp["index"], x.astype(inp["dtype"]))
    interp.invoke()
    y = interp.get_tensor(out["index"]).astype(np.float32)
    if out_q.scale:
      y = (y - out_q.zero_point) * out_q.scale
    results.append(y[0])
  return np.stack(results), in_q, out_q


def verify_tflite(model_content: bytes, keras_model, images: np.ndarray,
                  labels: Optional[np.ndarray] = None) -> VerificationReport:
  """Compares a .tflite with its Keras model on `images`.

  Args:
    model_content: the .tflite bytes.
    keras_model: the tf_keras model it was converted from (float).
    images: float32 (N, H, W, C) NHWC images.
    labels: optional int (N,) class labels for top-1.

  Returns:
    A `VerificationReport`.
  """
  images = np.asarray(images, np.float32)
  lite, in_q, out_q = run_tflite(model_content, images)
  ref = np.asarray(keras_model.predict(images, batch_size=32, verbose=0), np.float32)
  diff = np.abs(lite - ref)
  top1 = keras_top1 = None
  if labels is not None:
    labels = np.asarray(labels).reshape(-1)
    top1 = float(np.mean(lite.argmax(-1) == labels))
    keras_top1 = float(np.mean(ref.argmax(-1) == labels))
  return VerificationReport(
      num_images=len(images), top1=top1, keras_top1=keras_top1,
      top1_agreement=float(np.mean(lite.argmax(-1) == ref.argmax(-1))),
      max_abs_diff=float(diff.max()), mean_abs_diff=float(diff.mean()),
      input_quant=in_q, output_quant=out_q)
