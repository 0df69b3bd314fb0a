"""EdgeTPU compatibility analysis of a .tflite file, reported like `edgetpu_compiler -s`.

The EdgeTPU compiler maps a prefix of the graph: at the first op it cannot map, the
compiler cuts the graph and that op and everything after it run on the CPU (its log then
says "More than one subgraph is not supported" for later ops it could otherwise map). An op
maps when (coral.ai/docs/edgetpu/models-intro, "Model requirements" and "Supported
operations"): its type is in the supported list, its op version is one the compiler knows,
all its tensors are int8/uint8 (int32 only for constant biases/shapes), shapes are static, and
tensors have at most 3 dimensions or only the 3 innermost dimensions larger than 1.

The status strings are the compiler's own (see testdata/export/*edgetpu*.log); reasons the
compiler reports as an unspecified limitation get an explicit reason here.
"""

import dataclasses
import json
from typing import Optional, Tuple

from ofa_tf.export import tflite_graph

MAPPED = "Mapped to Edge TPU"
UNSUPPORTED_OP = "Operation not supported"
UNSUPPORTED_VERSION = "Operation version not supported"
UNSUPPORTED_DTYPE = "Operation is working on an unsupported data type"
AFTER_FALLBACK = "More than one subgraph is not supported"
UNSPECIFIED = "Operation is otherwise supported, but not mapped due to some unspecified limitation"

# Highest op version EdgeTPU compiler 16.0.384591198 maps, per supported builtin op. The op
# list is the "Supported operations" table of coral.ai/docs/edgetpu/models-intro (HARD_SWISH
# and LEAKY_RELU are absent: google-coral/edgetpu#272). The version bound is the last version
# whose only new feature is int8/uint8 support (later versions add int16, hybrid or int4
# kernels, grouped conv, keep_num_dims...); observed limits: CONV_2D v6 "Didn't find op"
# (google-coral/edgetpu#631), TRANSPOSE_CONV v4 (#845), FULLY_CONNECTED with keep_num_dims
# (v5+) "Operation version not supported". The bound is an assumption where no compiler run
# confirmed it; `compile_edgetpu.sh` with the real compiler is the ground truth.
COMPILER16_MAX_OP_VERSIONS = {
    "ADD": 2, "AVERAGE_POOL_2D": 2, "CONCATENATION": 2, "CONV_2D": 3, "DEPTHWISE_CONV_2D": 3,
    "EXPAND_DIMS": 1, "FULLY_CONNECTED": 4, "L2_NORMALIZATION": 2, "LOGISTIC": 2,
    "MAXIMUM": 2, "MAX_POOL_2D": 2, "MEAN": 2, "MINIMUM": 2, "MUL": 3, "PACK": 2, "PAD": 2,
    "PRELU": 1, "QUANTIZE": 2, "REDUCE_MAX": 2, "REDUCE_MIN": 2, "RELU": 2, "RELU6": 2,
    "RELU_N1_TO_1": 1, "RESHAPE": 1, "RESIZE_BILINEAR": 2, "RESIZE_NEAREST_NEIGHBOR": 2,
    "RSQRT": 2, "SLICE": 2, "SOFTMAX": 2, "SPACE_TO_DEPTH": 2, "SPLIT": 2, "SQUEEZE": 1,
    "STRIDED_SLICE": 2, "SUB": 2, "SUM": 1, "SQUARED_DIFFERENCE": 1, "TANH": 2,
    "TRANSPOSE": 2, "TRANSPOSE_CONV": 2,
}
_QUANTIZED = ("INT8", "UINT8")


@dataclasses.dataclass(frozen=True)
class OpVerdict:
  """Whether one op maps, with the compiler-style status and a specific reason."""
  index: int
  op: str
  version: int
  status: str
  reason: str


@dataclasses.dataclass(frozen=True)
class OperatorCount:
  """One row of the compiler's "Operator Count Status" table."""
  op: str
  count: int
  status: str


@dataclasses.dataclass(frozen=True)
class EdgeTpuReport:
  """EdgeTPU mapping of one model, from the analyzer or parsed from a compiler log.

  Attributes:
    source: "analyzer" or "edgetpu_compiler <version>".
    ops_on_edgetpu: number of ops that run on the EdgeTPU.
    ops_on_cpu: number of ops that run on the CPU.
    table: rows of the "Operator Count Status" table, in order of first appearance.
    ops: per-op verdicts in execution order (analyzer only; empty from a compiler log).
    first_cpu_op: "INDEX OP: reason" of the op where CPU fallback starts (None: fully mapped).
  """
  source: str
  ops_on_edgetpu: int
  ops_on_cpu: int
  table: Tuple[OperatorCount, ...]
  ops: Tuple[OpVerdict, ...] = ()
  first_cpu_op: Optional[str] = None

  @property
  def fully_mapped(self) -> bool:
    return self.ops_on_cpu == 0 and self.ops_on_edgetpu > 0

  def format(self) -> str:
    """The report as text, in the layout of the compiler's log."""
    lines = [f"Source: {self.source}",
             f"Number of operations that will run on Edge TPU: {self.ops_on_edgetpu}",
             f"Number of operations that will run on CPU: {self.ops_on_cpu}"]
    if self.first_cpu_op:
      lines.append(f"CPU fallback starts at op {self.first_cpu_op}")
    lines += ["", f"{'Operator':<31}{'Count':<11}Status", ""]
    lines += [f"{row.op:<31}{row.count:<11}{row.status}" for row in self.table]
    for v in self.ops:
      if v.status != MAPPED:
        lines.append(f"  op {v.index} {v.op} v{v.version}: {v.reason}")
    return "\n".join(lines)

  def to_json(self) -> str:
    return json.dumps(dataclasses.asdict(self) | {"fully_mapped": self.fully_mapped},
                      sort_keys=True)


def count_table(verdicts) -> Tuple[OperatorCount, ...]:
  """Aggregates (op, status) pairs into table rows, in order of first appearance."""
  counts = {}
  for op, status in verdicts:
    counts[(op, status)] = counts.get((op, status), 0) + 1
  return tuple(OperatorCount(op, n, status) for (op, status), n in counts.items())


def _tensor_problem(tensor: tflite_graph.TensorInfo) -> Optional[Tuple[str, str]]:
  if tensor.dtype not in _QUANTIZED and not (tensor.is_constant and tensor.dtype == "INT32"):
    return UNSUPPORTED_DTYPE, f"not int8: tensor '{tensor.name}' is {tensor.dtype}"
  if tensor.is_constant:
    return None
  if tensor.is_dynamic:
    return UNSPECIFIED, f"dynamic shape: tensor '{tensor.name}' has shape signature " \
                        f"{list(tensor.shape_signature)}"
  if len(tensor.shape) > 3 and any(d != 1 for d in tensor.shape[:-3]):
    return UNSPECIFIED, (f"more than 3 non-unit dimensions: tensor '{tensor.name}' has shape "
                         f"{list(tensor.shape)} (only the 3 innermost may exceed 1)")
  return None


def _verdict(op: tflite_graph.OpInfo) -> Tuple[str, str]:
  max_version = COMPILER16_MAX_OP_VERSIONS.get(op.name)
  if max_version is None:
    return UNSUPPORTED_OP, f"unsupported op: {op.name} is not in the EdgeTPU op list"
  if op.version > max_version:
    return UNSUPPORTED_VERSION, (f"unsupported op version: {op.name} v{op.version} > "
                                 f"v{max_version} (highest compiler 16 maps)")
  for tensor in op.inputs + op.outputs:
    problem = _tensor_problem(tensor)
    if problem:
      return problem
  return MAPPED, "mapped"


def analyze_edgetpu(model) -> EdgeTpuReport:
  """Predicts how `edgetpu_compiler` (v16, default options) maps a .tflite model.

  Args:
    model: .tflite bytes, a path, or a `tflite_graph.TfliteGraph`.

  Returns:
    An `EdgeTpuReport` (source "analyzer") with a verdict per op; ops after the first
    unmappable one get status "More than one subgraph is not supported", as the compiler
    reports them.
  """
  graph = model if isinstance(model, tflite_graph.TfliteGraph) else tflite_graph.read_tflite(
      model)
  verdicts, first = [], None
  for op in graph.ops:
    status, reason = _verdict(op)
    if graph.num_subgraphs > 1 and status == MAPPED:
      status, reason = AFTER_FALLBACK, f"model has {graph.num_subgraphs} subgraphs"
    if first is not None and status == MAPPED:
      status, reason = AFTER_FALLBACK, f"after CPU fallback at op {first.index} {first.op}"
    verdict = OpVerdict(op.index, op.name, op.version, status, reason)
    if first is None and status != MAPPED:
      first = verdict
    verdicts.append(verdict)
  on_tpu = sum(v.status == MAPPED for v in verdicts)
  return EdgeTpuReport(
      source="analyzer", ops_on_edgetpu=on_tpu, ops_on_cpu=len(verdicts) - on_tpu,
      table=count_table((v.op, v.status) for v in verdicts), ops=tuple(verdicts),
      first_cpu_op=None if first is None else f"{first.index} {first.op}: {first.reason}")
