"""Writes state dicts in the zip layout of `torch.save` (PyTorch >= 1.6), without PyTorch.

For tests and examples that need files of the released layouts with chosen contents (a bad
predictor, a random-weight w1.2 supernet): `archive/data.pkl` is a protocol-2 pickle of the
state dict whose tensors are `torch._utils._rebuild_tensor_v2(storage, offset, size, stride,
requires_grad, backward_hooks)` calls on persistent ids `('storage', torch.<X>Storage, key,
'cpu', numel)`; `archive/data/<key>` holds each tensor's little-endian bytes;
`archive/byteorder` and `archive/version` as torch writes them. The pickle opcodes are written
directly (the globals name torch classes that need not be importable here). Read back with
`ofa_tf.interop.torch_checkpoint.read_torch_file`.
"""

from __future__ import annotations

import io
import struct
import zipfile
from typing import Mapping

import numpy as np

from ofa_tf import atomic_files

_STORAGES = {np.dtype(np.float32): "FloatStorage", np.dtype(np.float64): "DoubleStorage",
             np.dtype(np.float16): "HalfStorage", np.dtype(np.int64): "LongStorage",
             np.dtype(np.int32): "IntStorage", np.dtype(np.int8): "CharStorage",
             np.dtype(np.uint8): "ByteStorage", np.dtype(np.bool_): "BoolStorage"}


def _global(module: str, name: str) -> bytes:
  return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def _text(value: str) -> bytes:
  data = value.encode()
  return b"X" + struct.pack("<I", len(data)) + data


def _int(value: int) -> bytes:
  if -2**31 <= value < 2**31:
    return b"J" + struct.pack("<i", value)
  return b"\x8a\x08" + struct.pack("<q", value)  # LONG1 with 8 bytes.


def _tuple(items) -> bytes:
  return b"(" + b"".join(items) + b"t"


_ORDERED_DICT = _global("collections", "OrderedDict") + b")R"


def _pickle_state(state: Mapping[str, np.ndarray], wrap: bool) -> tuple[bytes, list[bytes]]:
  storages, body = [], [_ORDERED_DICT, b"("]
  for key, array in state.items():
    array = np.array(array, order="C")  # ascontiguousarray would make 0-d arrays 1-d.
    if array.dtype not in _STORAGES:
      raise ValueError(f"tensor {key!r}: dtype {array.dtype} has no torch storage type")
    storage_key = str(len(storages))
    storages.append(array.astype(array.dtype.newbyteorder("<")).tobytes())
    strides = [s // array.itemsize for s in array.strides] if array.size else [1] * array.ndim
    pid = _tuple([_text("storage"), _global("torch", _STORAGES[array.dtype]),
                  _text(storage_key), _text("cpu"), _int(array.size)]) + b"Q"
    args = _tuple([pid, _int(0), _tuple(_int(n) for n in array.shape),
                   _tuple(_int(s) for s in strides), b"\x89", _ORDERED_DICT])
    body += [_text(key), _global("torch._utils", "_rebuild_tensor_v2"), args, b"R"]
  body.append(b"u")
  pickle = b"".join(body)
  if wrap:
    pickle = b"}" + _text("state_dict") + pickle + b"s"
  return b"\x80\x02" + pickle + b".", storages


def write_state_dict(path: str, state: Mapping[str, np.ndarray], *, wrap: bool = False,
                     overwrite: bool = False) -> None:
  """Writes `state` (key -> array, in order) as a `torch.save` zip file, atomically.

  Args:
    path: the `.pth` to write.
    state: the tensors (float16/32/64, int8/32/64, uint8, bool).
    wrap: save `{'state_dict': state}` (the released supernets) instead of the bare dict
      (the released predictors).
    overwrite: replace an existing file.

  Raises:
    ValueError: a dtype without a torch storage type.
    FileExistsError: `path` exists and `overwrite` is False.
  """
  pickle, storages = _pickle_state(state, wrap)
  buffer = io.BytesIO()
  entries = [("archive/data.pkl", pickle), ("archive/byteorder", b"little")]
  entries += [(f"archive/data/{key}", data) for key, data in enumerate(storages)]
  entries.append(("archive/version", b"3\n"))
  with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
    for name, data in entries:  # A fixed timestamp: the same state gives the same bytes.
      archive.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data)
  atomic_files.write_bytes(path, buffer.getvalue(), overwrite)
