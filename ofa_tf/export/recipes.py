"""TFLite target recipes: what each deployment target needs from the converter, as data.

A recipe names the numeric format (weights and activations), the dtype of the model's input
and output tensors, the batch size fixed at conversion (1: static shapes), how h-swish is
lowered (`lowering.HSWISH_MODES`) and whether the file must map fully to the EdgeTPU.
"""

import dataclasses
import json
from typing import Optional

QUANTIZATIONS = ("float32", "float16", "int8")
IO_DTYPES = ("float32", "int8", "uint8")
HSWISH_MODES = ("keep", "decomposed", "relu")


@dataclasses.dataclass(frozen=True)
class TargetRecipe:
  """How to convert a tf_keras model for one deployment target.

  Attributes:
    name: recipe name, e.g. "edgetpu_int8".
    quantization: "float32" (no quantization), "float16" (float16 weights, float32 compute
      unless the GPU delegate runs it in float16), or "int8" (full integer: int8 weights and
      activations, int32 biases, calibrated on a representative dataset).
    io_dtype: dtype of the model input and output tensors: "float32", "int8" or "uint8".
      Full-integer recipes need "int8" or "uint8"; float recipes need "float32".
    batch_size: batch dimension fixed in the file (static shapes), or None to keep it dynamic.
    hswish_mode: "keep" lets the converter fuse x*relu6(x+3)/6 into HARD_SWISH; "decomposed"
      rewrites it as (x/6)*relu6(x+3) so it converts to MUL, ADD(+RELU6) and MUL (EdgeTPU
      maps those; same function); "relu" replaces h-swish by ReLU (changes the function).
    require_edgetpu_mapping: the exported file must be fully mappable by EdgeTPU compiler 16
      (checked with `edgetpu.analyze_edgetpu`); the export fails otherwise.
    max_abs_diff_vs_keras: the export fails when LiteRT logits differ from Keras by more than
      this (absolute, on the representative samples); None disables the check.
    num_calibration_samples: representative samples used for calibration and checks.
  """
  name: str
  quantization: str
  io_dtype: str
  batch_size: Optional[int] = 1
  hswish_mode: str = "keep"
  require_edgetpu_mapping: bool = False
  max_abs_diff_vs_keras: Optional[float] = None
  num_calibration_samples: int = 100

  def __post_init__(self):
    if self.quantization not in QUANTIZATIONS:
      raise ValueError(f"quantization={self.quantization!r}; allowed: {QUANTIZATIONS}")
    if self.io_dtype not in IO_DTYPES:
      raise ValueError(f"io_dtype={self.io_dtype!r}; allowed: {IO_DTYPES}")
    if (self.quantization == "int8") != (self.io_dtype in ("int8", "uint8")):
      raise ValueError(f"io_dtype={self.io_dtype!r} does not fit quantization="
                       f"{self.quantization!r}: int8 needs 'int8' or 'uint8', floats 'float32'")
    if self.batch_size is not None and self.batch_size < 1:
      raise ValueError(f"batch_size={self.batch_size}; allowed: None or an integer >= 1")
    if self.hswish_mode not in HSWISH_MODES:
      raise ValueError(f"hswish_mode={self.hswish_mode!r}; allowed: {HSWISH_MODES}")
    if self.require_edgetpu_mapping and (self.quantization != "int8" or self.batch_size != 1
                                         or self.hswish_mode == "keep"):
      raise ValueError("require_edgetpu_mapping=True needs quantization='int8', batch_size=1 "
                       "and hswish_mode 'decomposed' or 'relu' (EdgeTPU has no HARD_SWISH)")
    if self.num_calibration_samples < 1:
      raise ValueError(f"num_calibration_samples={self.num_calibration_samples}; must be >= 1")

  def to_json(self) -> str:
    return json.dumps(dataclasses.asdict(self), sort_keys=True)

  @classmethod
  def from_json(cls, text: str) -> "TargetRecipe":
    return cls(**json.loads(text))


RECIPES = {
    r.name: r for r in (
        TargetRecipe("cpu_fp32", "float32", "float32", max_abs_diff_vs_keras=1e-4),
        TargetRecipe("cpu_int8", "int8", "int8"),
        TargetRecipe("gpu_fp16", "float16", "float32"),
        # Hexagon DSP delegate: uint8 I/O (the camera/bitmap byte layout), int8 inside.
        TargetRecipe("dsp_int8", "int8", "uint8"),
        TargetRecipe("edgetpu_int8", "int8", "int8", hswish_mode="decomposed",
                     require_edgetpu_mapping=True),
    )
}


def get_recipe(name: str) -> TargetRecipe:
  """Returns the named recipe.

  Raises:
    ValueError: for an unknown name (the message lists the known ones).
  """
  if name not in RECIPES:
    raise ValueError(f"unknown target {name!r}; known targets: {sorted(RECIPES)}")
  return RECIPES[name]
