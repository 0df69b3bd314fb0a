"""Reads the operators and tensors of a .tflite flatbuffer (no interpreter needed).

Uses the schema module shipped with LiteRT (`ai_edge_litert.schema_py_generated`, generated
from tensorflow/compiler/mlir/lite/schema/schema.fbs).
"""

import dataclasses
import os
from typing import Optional, Tuple, Union

from ai_edge_litert import schema_py_generated as schema_fb
import numpy as np

_OP_NAMES = {v: k for k, v in vars(schema_fb.BuiltinOperator).items() if not k.startswith("_")}
_TYPE_NAMES = {v: k for k, v in vars(schema_fb.TensorType).items() if not k.startswith("_")}


@dataclasses.dataclass(frozen=True)
class TensorInfo:
  """One tensor of the graph.

  Attributes:
    index: tensor index in the subgraph.
    name: tensor name.
    dtype: schema type name, e.g. "INT8", "FLOAT32".
    shape: static shape (NHWC for images).
    shape_signature: shape with -1 for dynamic dimensions (equal to `shape` when static).
    is_constant: True when the tensor has data in a buffer (weights, biases, shapes).
    scale: quantization scales (empty when not quantized).
    zero_point: quantization zero points.
  """
  index: int
  name: str
  dtype: str
  shape: Tuple[int, ...]
  shape_signature: Tuple[int, ...]
  is_constant: bool
  scale: Tuple[float, ...] = ()
  zero_point: Tuple[int, ...] = ()

  @property
  def is_dynamic(self) -> bool:
    return any(d < 0 for d in self.shape_signature)


@dataclasses.dataclass(frozen=True)
class OpInfo:
  """One operator in execution order.

  Attributes:
    index: position in the subgraph's operator list (execution order).
    name: builtin operator name, e.g. "CONV_2D", or "CUSTOM:<code>".
    version: operator version from the model's operator codes.
    inputs: input tensors (optional inputs omitted).
    outputs: output tensors.
  """
  index: int
  name: str
  version: int
  inputs: Tuple[TensorInfo, ...]
  outputs: Tuple[TensorInfo, ...]


@dataclasses.dataclass(frozen=True)
class TfliteGraph:
  """The first subgraph of a .tflite model.

  Attributes:
    ops: operators in execution order.
    tensors: all tensors of the subgraph.
    inputs: model input tensors.
    outputs: model output tensors.
    num_subgraphs: number of subgraphs in the model.
    metadata_names: names of the model's metadata entries (e.g. "TFLITE_METADATA").
    signature_keys: signature names (e.g. "serving_default").
  """
  ops: Tuple[OpInfo, ...]
  tensors: Tuple[TensorInfo, ...]
  inputs: Tuple[TensorInfo, ...]
  outputs: Tuple[TensorInfo, ...]
  num_subgraphs: int
  metadata_names: Tuple[str, ...]
  signature_keys: Tuple[str, ...]

  def activation_dtypes(self) -> Tuple[str, ...]:
    """Sorted distinct dtypes of all non-constant tensors."""
    return tuple(sorted({t.dtype for t in self.tensors if not t.is_constant}))


def _decode(value) -> str:
  return value.decode("utf-8") if isinstance(value, bytes) else (value or "")


def _tensor_info(index, tensor, buffers) -> TensorInfo:
  shape = tuple(int(d) for d in (tensor.shape if tensor.shape is not None else ()))
  signature = tensor.shapeSignature
  signature = tuple(int(d) for d in signature) if signature is not None else shape
  buffer = buffers[tensor.buffer] if tensor.buffer < len(buffers) else None
  is_constant = buffer is not None and (
      (buffer.data is not None and len(buffer.data) > 0) or bool(getattr(buffer, "size", 0)))
  scale, zero_point = (), ()
  q = tensor.quantization
  if q is not None and q.scale is not None and len(q.scale):
    scale = tuple(float(s) for s in np.asarray(q.scale))
    zero_point = tuple(int(z) for z in np.asarray(q.zeroPoint))
  return TensorInfo(index=index, name=_decode(tensor.name), dtype=_TYPE_NAMES[tensor.type],
                    shape=shape, shape_signature=signature, is_constant=is_constant,
                    scale=scale, zero_point=zero_point)


def read_tflite(model: Union[bytes, str, os.PathLike]) -> TfliteGraph:
  """Parses a .tflite file or buffer into its first subgraph's ops and tensors.

  Args:
    model: the flatbuffer bytes, or a path to a .tflite file.

  Returns:
    A `TfliteGraph`.

  Raises:
    ValueError: if the buffer is not a TFLite model (file identifier "TFL3"); the message
      names the file.
    FileNotFoundError: no such file.
  """
  source = "buffer"
  if not isinstance(model, (bytes, bytearray)):
    source = os.fspath(model)
    with open(model, "rb") as f:
      model = f.read()
  if len(model) < 8 or not schema_fb.Model.ModelBufferHasIdentifier(model, 0):
    raise ValueError(f"{source} is not a TFLite flatbuffer (missing file identifier 'TFL3')")
  m = schema_fb.ModelT.InitFromObj(schema_fb.Model.GetRootAs(model, 0))
  sg = m.subgraphs[0]
  tensors = tuple(_tensor_info(i, t, m.buffers) for i, t in enumerate(sg.tensors))
  ops = []
  for i, op in enumerate(sg.operators or ()):
    code = m.operatorCodes[op.opcodeIndex]
    builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
    name = _OP_NAMES.get(builtin, f"BUILTIN_{builtin}")
    if name == "CUSTOM":
      name = f"CUSTOM:{_decode(code.customCode)}"
    ops.append(OpInfo(index=i, name=name, version=int(code.version),
                      inputs=tuple(tensors[j] for j in op.inputs if j >= 0),
                      outputs=tuple(tensors[j] for j in op.outputs if j >= 0)))
  return TfliteGraph(
      ops=tuple(ops), tensors=tensors, inputs=tuple(tensors[j] for j in sg.inputs),
      outputs=tuple(tensors[j] for j in sg.outputs), num_subgraphs=len(m.subgraphs),
      metadata_names=tuple(_decode(md.name) for md in (m.metadata or ())),
      signature_keys=tuple(_decode(s.signatureKey) for s in (m.signatureDefs or ())))


def find_metadata_buffer(model: bytes, name: str) -> Optional[bytes]:
  """Returns the bytes of the model metadata entry `name`, or None if absent."""
  m = schema_fb.Model.GetRootAs(model, 0)
  for i in range(m.MetadataLength()):
    entry = m.Metadata(i)
    if _decode(entry.Name()) == name:
      return m.Buffers(entry.Buffer()).DataAsNumpy().tobytes()
  return None
