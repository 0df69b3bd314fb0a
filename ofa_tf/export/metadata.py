"""TFLite model metadata for Android (Task Library / Support Library), written from the schema.

Writes the `ModelMetadata` flatbuffer of tflite-support's published schema
(tensorflow_lite_support/metadata/metadata_schema.fbs, file identifier "M001") with a
`flatbuffers.Builder`, stores it as the model's "TFLITE_METADATA" buffer, and appends the
labels file as a zip archive after the flatbuffer -- the layout `MetadataPopulator` produces
and the Android libraries read. (tflite-support 0.4.4 itself is not installed: it requires
protobuf<4, which conflicts with TensorFlow 2.21.)

Content for an image classifier, as tflite-support's image classifier writer lays it out:
input tensor with RGB ImageProperties, NormalizationOptions(mean, std) and the stats of the
normalized range; output tensor with FeatureProperties and a TENSOR_AXIS_LABELS labels file.
"""

import dataclasses
import io
import zipfile
from typing import Optional, Sequence, Tuple

from ai_edge_litert import schema_py_generated as schema_fb
import flatbuffers
from flatbuffers import number_types
from flatbuffers import table as fb_table

METADATA_NAME = "TFLITE_METADATA"
METADATA_IDENTIFIER = b"M001"
# Parser version that reads every field written here (fields introduced with 1.0.0 of the
# schema: ImageProperties, NormalizationOptions, Stats, AssociatedFile TENSOR_AXIS_LABELS).
MIN_PARSER_VERSION = "1.0.0"
_TENSOR_AXIS_LABELS = 2
_RGB = 1
_CONTENT_FEATURE, _CONTENT_IMAGE = 1, 2
_PROCESS_NORMALIZATION = 1


@dataclasses.dataclass(frozen=True)
class ImageClassifierMetadata:
  """What the Android libraries need to run an image classifier.

  Attributes:
    name: model name shown by tools.
    description: one-line description.
    version: model version string.
    labels: class names in logit order; written as `labels_file`.
    mean: per-channel mean, normalized = (pixel - mean) / std, pixel in [0, 255].
    std: per-channel std.
    author: author string.
    license: license string.
    labels_file: name of the packed labels file.
  """
  name: str
  description: str
  version: str
  labels: Tuple[str, ...]
  mean: Tuple[float, ...] = (0.0,)
  std: Tuple[float, ...] = (255.0,)
  author: str = "ofa-tf"
  license: str = "Apache-2.0"
  labels_file: str = "labels.txt"

  def __post_init__(self):
    if not self.labels:
      raise ValueError("labels must be a non-empty tuple of class names")
    if len(self.mean) != len(self.std) or len(self.mean) not in (1, 3):
      raise ValueError(f"mean {self.mean} and std {self.std} need 1 or 3 values each")
    if any(s <= 0 for s in self.std):
      raise ValueError(f"std={self.std}: all values must be > 0")


def _strings(b: flatbuffers.Builder, values: Sequence[str]):
  return [b.CreateString(v) for v in values]


def _vector(b, offsets):
  b.StartVector(4, len(offsets), 4)
  for off in reversed(offsets):
    b.PrependUOffsetTRelative(off)
  return b.EndVector()


def _float_vector(b, values):
  b.StartVector(4, len(values), 4)
  for v in reversed(values):
    b.PrependFloat32(float(v))
  return b.EndVector()


def _table(b, num_slots, fields):
  """fields: (slot, kind, value) with kind in {"offset", "byte", "uint"}."""
  b.StartObject(num_slots)
  for slot, kind, value in fields:
    if kind == "offset":
      b.PrependUOffsetTRelativeSlot(slot, value, 0)
    elif kind == "byte":
      b.PrependUint8Slot(slot, value, 0)
    else:
      b.PrependUint32Slot(slot, value, 0)
  return b.EndObject()


def build_metadata(meta: ImageClassifierMetadata, input_size: Tuple[int, int]) -> bytes:
  """Serializes `meta` as a ModelMetadata flatbuffer ("M001").

  Args:
    meta: the metadata.
    input_size: (height, width) of the model input in pixels.

  Returns:
    The metadata flatbuffer bytes.
  """
  b = flatbuffers.Builder(1024)
  # Labels file.
  file_name, file_desc = _strings(b, [meta.labels_file, "Labels for the output logits."])
  labels = _table(b, 5, [(0, "offset", file_name), (1, "offset", file_desc),
                         (2, "byte", _TENSOR_AXIS_LABELS)])
  # Input tensor.
  size = _table(b, 2, [(0, "uint", input_size[1]), (1, "uint", input_size[0])])
  image_props = _table(b, 2, [(0, "byte", _RGB), (1, "offset", size)])
  in_content = _table(b, 3, [(0, "byte", _CONTENT_IMAGE), (1, "offset", image_props)])
  norm = _table(b, 2, [(0, "offset", _float_vector(b, meta.mean)),
                       (1, "offset", _float_vector(b, meta.std))])
  unit = _table(b, 2, [(0, "byte", _PROCESS_NORMALIZATION), (1, "offset", norm)])
  lo = [(0.0 - m) / s for m, s in zip(meta.mean, meta.std)]
  hi = [(255.0 - m) / s for m, s in zip(meta.mean, meta.std)]
  in_stats = _table(b, 2, [(0, "offset", _float_vector(b, hi)),
                           (1, "offset", _float_vector(b, lo))])
  in_name, in_desc = _strings(b, ["image", "Input RGB image, NHWC, normalized as "
                                  "(pixel - mean) / std."])
  in_tensor = _table(b, 7, [(0, "offset", in_name), (1, "offset", in_desc),
                            (3, "offset", in_content), (4, "offset", _vector(b, [unit])),
                            (5, "offset", in_stats)])
  # Output tensor.
  feature = _table(b, 0, [])
  out_content = _table(b, 3, [(0, "byte", _CONTENT_FEATURE), (1, "offset", feature)])
  out_name, out_desc = _strings(b, ["logits", "Class logits (higher is more likely)."])
  out_tensor = _table(b, 7, [(0, "offset", out_name), (1, "offset", out_desc),
                             (3, "offset", out_content), (6, "offset", _vector(b, [labels]))])
  subgraph = _table(b, 10, [(2, "offset", _vector(b, [in_tensor])),
                            (3, "offset", _vector(b, [out_tensor]))])
  name, desc, version, author, lic, parser = _strings(
      b, [meta.name, meta.description, meta.version, meta.author, meta.license,
          MIN_PARSER_VERSION])
  root = _table(b, 8, [(0, "offset", name), (1, "offset", desc), (2, "offset", version),
                       (3, "offset", _vector(b, [subgraph])), (4, "offset", author),
                       (5, "offset", lic), (7, "offset", parser)])
  b.Finish(root, file_identifier=METADATA_IDENTIFIER)
  return bytes(b.Output())


def add_image_classifier_metadata(model: bytes, meta: ImageClassifierMetadata) -> bytes:
  """Returns `model` with `meta` in its "TFLITE_METADATA" buffer and the labels file packed.

  Args:
    model: .tflite bytes with one NHWC image input.
    meta: the metadata.

  Returns:
    The new .tflite bytes (flatbuffer followed by a zip archive holding the labels file).

  Raises:
    ValueError: if the model already carries packed files or TFLITE_METADATA.
  """
  obj = schema_fb.ModelT.InitFromObj(schema_fb.Model.GetRootAs(model, 0))
  if any((m.name or b"").decode() == METADATA_NAME for m in (obj.metadata or ())):
    raise ValueError("model already has TFLITE_METADATA")
  sg = obj.subgraphs[0]
  shape = sg.tensors[sg.inputs[0]].shape
  buffer = schema_fb.BufferT()
  buffer.data = list(build_metadata(meta, (int(shape[1]), int(shape[2]))))
  obj.buffers.append(buffer)
  entry = schema_fb.MetadataT()
  entry.name = METADATA_NAME
  entry.buffer = len(obj.buffers) - 1
  obj.metadata = (obj.metadata or []) + [entry]
  b = flatbuffers.Builder(len(model) + 4096)
  b.Finish(obj.Pack(b), file_identifier=b"TFL3")
  stream = io.BytesIO()
  stream.write(bytes(b.Output()))
  with zipfile.ZipFile(stream, "a") as zf:
    zf.writestr(meta.labels_file, "\n".join(meta.labels) + "\n")
  return stream.getvalue()


def add_signature(model: bytes, key: str = "serving_default", input_name: str = "image",
                  output_name: str = "logits") -> bytes:
  """Returns `model` with one SignatureDef mapping `input_name`/`output_name` to its I/O.

  The converter adds no signature when it converts a bare concrete function; Android's
  `Interpreter.runSignature` and LiteRT's `get_signature_runner` need one.

  Raises:
    ValueError: if the model already has signatures or more than one input or output.
  """
  obj = schema_fb.ModelT.InitFromObj(schema_fb.Model.GetRootAs(model, 0))
  if obj.signatureDefs:
    raise ValueError("model already has signatures")
  sg = obj.subgraphs[0]
  if len(sg.inputs) != 1 or len(sg.outputs) != 1:
    raise ValueError("add_signature supports one input and one output")
  signature = schema_fb.SignatureDefT()
  signature.signatureKey = key
  signature.subgraphIndex = 0
  signature.inputs, signature.outputs = [], []
  for name, index, target in ((input_name, sg.inputs[0], signature.inputs),
                              (output_name, sg.outputs[0], signature.outputs)):
    tensor_map = schema_fb.TensorMapT()
    tensor_map.name = name
    tensor_map.tensorIndex = int(index)
    target.append(tensor_map)
  obj.signatureDefs = [signature]
  b = flatbuffers.Builder(len(model) + 1024)
  b.Finish(obj.Pack(b), file_identifier=b"TFL3")
  return bytes(b.Output())


def _field(tab: fb_table.Table, slot: int) -> int:
  return tab.Offset(4 + 2 * slot)


def _string(tab, slot) -> Optional[str]:
  o = _field(tab, slot)
  return tab.String(o + tab.Pos).decode() if o else None


def _subtable(tab, slot) -> Optional[fb_table.Table]:
  o = _field(tab, slot)
  return fb_table.Table(tab.Bytes, tab.Indirect(o + tab.Pos)) if o else None


def _tables(tab, slot):
  o = _field(tab, slot)
  if not o:
    return []
  start, n = tab.Vector(o), tab.VectorLen(o)
  return [fb_table.Table(tab.Bytes, tab.Indirect(start + 4 * i)) for i in range(n)]


def _floats(tab, slot):
  o = _field(tab, slot)
  if not o:
    return []
  start = tab.Vector(o)
  return [tab.Get(number_types.Float32Flags, start + 4 * i) for i in range(tab.VectorLen(o))]


def read_image_classifier_metadata(model: bytes) -> dict:
  """Reads back what `add_image_classifier_metadata` wrote (for checks and tools).

  Returns:
    A dict with "name", "version", "min_parser_version", "mean", "std", "labels_file" and
    "labels" (from the packed zip); raises ValueError when the model has no metadata.
  """
  from ofa_tf.export import tflite_graph  # pylint: disable=g-import-not-at-top
  buf = tflite_graph.find_metadata_buffer(model, METADATA_NAME)
  if buf is None:
    raise ValueError("model has no TFLITE_METADATA")
  if buf[4:8] != METADATA_IDENTIFIER:
    raise ValueError("TFLITE_METADATA is not a ModelMetadata flatbuffer (identifier M001)")
  root = fb_table.Table(bytearray(buf), flatbuffers.encode.Get(
      flatbuffers.packer.uoffset, bytearray(buf), 0))
  subgraph = _tables(root, 3)[0]
  in_tensor, out_tensor = _tables(subgraph, 2)[0], _tables(subgraph, 3)[0]
  norm = _subtable(_tables(in_tensor, 4)[0], 1)
  labels_file = _string(_tables(out_tensor, 6)[0], 0)
  with zipfile.ZipFile(io.BytesIO(model)) as zf:
    labels = zf.read(labels_file).decode().splitlines()
  return {"name": _string(root, 0), "version": _string(root, 2),
          "min_parser_version": _string(root, 7), "mean": _floats(norm, 0),
          "std": _floats(norm, 1), "labels_file": labels_file, "labels": labels,
          "input_name": _string(in_tensor, 0)}
