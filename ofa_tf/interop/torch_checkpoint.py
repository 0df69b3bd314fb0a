"""Reads PyTorch checkpoint files (`torch.save`) into NumPy arrays, without PyTorch.

Two on-disk formats are read:
- the zip format (PyTorch >= 1.6): `<prefix>/data.pkl` (a pickle whose tensors refer to
  storages by persistent id `('storage', StorageType, key, location, numel)`),
  `<prefix>/data/<key>` (raw storage bytes) and `<prefix>/byteorder`;
- the legacy format (`_use_new_zipfile_serialization=False`, PyTorch < 1.6, e.g. the 2020
  OFA release): pickles of a magic number, the protocol version and system info, then the
  object pickle, then the list of storage keys, then per storage an int64 element count and
  its raw bytes, in that key order.

The pickle is read by a restricted `pickle.Unpickler`: tensors are rebuilt from
`torch._utils._rebuild_tensor_v2` / `_rebuild_parameter` calls into `np.ndarray`,
`collections.OrderedDict` is a dict, and every other global becomes an inert placeholder (no
code from the file is imported or run). Storage types: float16/32/64, int8/16/32/64, uint8,
bool.

PyTorch is optional: only a cross-check test uses it when installed (CPU-only:
`.venv/bin/pip install torch==2.13.0`, the `+cpu` wheel on this machine; for the pip package,
the `torch` extra: `pip install ".[torch]"`).
"""

from __future__ import annotations

import collections
import io
import pickle
import struct
import zipfile
from typing import Any, BinaryIO

import numpy as np

_STORAGE_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16,
    "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_,
}
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_LEGACY_PROTOCOL = 1001


class CheckpointFormatError(ValueError):
  """The file is not a readable PyTorch checkpoint (truncated, corrupt or unsupported)."""


class _StorageType:
  """Stands for `torch.<X>Storage` in the pickle; only its dtype matters."""

  def __init__(self, name: str):
    self.name = name
    self.dtype = np.dtype(_STORAGE_DTYPES[name])


class _Opaque:
  """Inert stand-in for any other pickled global (optimizer classes, argparse, ...)."""

  def __init__(self, *args, **kwargs):
    self.args, self.kwargs = args, kwargs

  def __setstate__(self, state):
    self.state = state


def _opaque_factory(module: str, name: str):
  return type(f"Opaque[{module}.{name}]", (_Opaque,), {})


def _rebuild_tensor(storage, storage_offset, size, stride, *unused) -> np.ndarray:
  """`torch._utils._rebuild_tensor_v2`: a strided view of a storage, copied."""
  del unused  # requires_grad, backward hooks, metadata.
  size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
  if not isinstance(storage, np.ndarray):
    raise CheckpointFormatError("a tensor refers to a storage that could not be read")
  if len(size) != len(stride):
    raise CheckpointFormatError(f"tensor size {size} and stride {stride} differ in rank")
  if not all(size):
    return np.zeros(size, storage.dtype)
  needed = storage_offset + 1 + sum((n - 1) * s for n, s in zip(size, stride))
  if needed > storage.size:
    raise CheckpointFormatError(
        f"a tensor of size {size} at offset {storage_offset} needs {needed} elements; its "
        f"storage has {storage.size} (the file is truncated or corrupt)")
  view = np.lib.stride_tricks.as_strided(
      storage[storage_offset:], shape=size,
      strides=tuple(s * storage.itemsize for s in stride), writeable=False)
  return np.array(view)


def _rebuild_parameter(data, requires_grad=None, backward_hooks=None, *unused):
  del requires_grad, backward_hooks, unused
  return data


class _Unpickler(pickle.Unpickler):
  """Restricted unpickler; `load_storage(key, dtype, numel)` returns a flat array."""

  def __init__(self, file: BinaryIO, load_storage):
    super().__init__(file)
    self._load_storage = load_storage
    self._storages: dict[str, np.ndarray] = {}

  def find_class(self, module: str, name: str):
    if module == "collections" and name == "OrderedDict":
      return collections.OrderedDict
    if module == "torch._utils" and name in ("_rebuild_tensor_v2", "_rebuild_tensor"):
      return _rebuild_any
    if module == "torch._utils" and name == "_rebuild_parameter":
      return _rebuild_parameter
    if module == "torch" and name in _STORAGE_DTYPES:
      return _StorageType(name)
    if module == "torch" and name.endswith("Storage"):
      raise CheckpointFormatError(f"unsupported tensor storage type torch.{name}")
    return _opaque_factory(module, name)

  def persistent_load(self, pid):
    if not isinstance(pid, tuple) or not pid or pid[0] != "storage":
      raise CheckpointFormatError(f"unsupported persistent id {pid!r:.80}")
    storage_type, key, numel = pid[1], str(pid[2]), pid[4] if len(pid) > 4 else None
    if not isinstance(storage_type, _StorageType):
      raise CheckpointFormatError(f"unsupported storage type {storage_type!r:.80}")
    if key not in self._storages:
      self._storages[key] = self._load_storage(key, storage_type.dtype, numel)
    storage = self._storages[key]
    if len(pid) > 5 and pid[5] is not None:  # Legacy view: (view_key, offset, view_size).
      _, offset, view_size = pid[5]
      return storage[offset:offset + view_size]
    return storage


def _read_zip(path: str) -> Any:
  with zipfile.ZipFile(path) as archive:
    names = archive.namelist()
    pickles = [n for n in names if n.endswith("/data.pkl") or n == "data.pkl"]
    if len(pickles) != 1:
      raise CheckpointFormatError(f"{path}: a zip file without exactly one data.pkl")
    prefix = pickles[0][:-len("data.pkl")]
    byteorder = "little"
    if prefix + "byteorder" in names:
      byteorder = archive.read(prefix + "byteorder").decode().strip()
    order = "<" if byteorder == "little" else ">"

    def load_storage(key, dtype, numel):
      name = f"{prefix}data/{key}"
      if name not in names:
        raise CheckpointFormatError(f"{path}: storage {key} is missing from the archive")
      data = archive.read(name)
      if numel is not None and len(data) < numel * dtype.itemsize:
        raise CheckpointFormatError(f"{path}: storage {key} holds {len(data)} bytes, needs "
                                    f"{numel * dtype.itemsize}")
      return np.frombuffer(data, dtype.newbyteorder(order) if dtype.itemsize > 1 else dtype
                           ).astype(dtype)

    return _Unpickler(io.BytesIO(archive.read(pickles[0])), load_storage).load()


def _read_legacy(path: str) -> Any:
  with open(path, "rb") as f:
    restricted = lambda: _Unpickler(f, _no_storage).load()
    if restricted() != _LEGACY_MAGIC:
      raise CheckpointFormatError(f"{path}: not a PyTorch checkpoint (no magic number)")
    if restricted() != _LEGACY_PROTOCOL:
      raise CheckpointFormatError(f"{path}: unsupported legacy protocol version")
    sys_info = restricted()
    little = not isinstance(sys_info, dict) or sys_info.get("little_endian", True)
    pending: dict[str, tuple] = {}

    def defer(key, dtype, numel):
      # Legacy storages follow the object pickle: hand out a placeholder array filled later.
      pending[key] = (dtype, numel)
      return _Deferred(key)

    deferred_result = _Unpickler(f, defer).load()
    keys = _Unpickler(f, _no_storage).load()
    storages = {}
    for key in keys:
      header = f.read(8)
      if len(header) != 8:
        raise CheckpointFormatError(f"{path}: truncated before storage {key}")
      (numel,) = struct.unpack("<q" if little else ">q", header)
      dtype = pending.get(str(key), (np.dtype(np.float32), None))[0]
      data = f.read(numel * dtype.itemsize)
      if len(data) != numel * dtype.itemsize:
        raise CheckpointFormatError(f"{path}: truncated inside storage {key}")
      order = "<" if little else ">"
      storages[str(key)] = np.frombuffer(
          data, dtype.newbyteorder(order) if dtype.itemsize > 1 else dtype).astype(dtype)
    missing = sorted(set(pending) - set(storages))
    if missing:
      raise CheckpointFormatError(f"{path}: storages {missing[:5]} are missing")
  return _resolve_deferred(deferred_result, storages)


def _no_storage(key, dtype, numel):
  raise CheckpointFormatError("a storage reference outside the object pickle")


class _Deferred:
  """A legacy storage not read yet; tensors built on it are resolved after the pickle."""

  def __init__(self, key: str, view=None):
    self.key, self.view = key, view

  def __getitem__(self, item):
    return _Deferred(self.key, item)


def _resolve_deferred(obj: Any, storages: dict[str, np.ndarray]) -> Any:
  if isinstance(obj, _DeferredTensor):
    storage = storages[obj.storage.key]
    if obj.storage.view is not None:
      storage = storage[obj.storage.view]
    return _rebuild_tensor(storage, *obj.args)
  if isinstance(obj, dict):
    resolved = type(obj)() if isinstance(obj, collections.OrderedDict) else {}
    for key, value in obj.items():
      resolved[key] = _resolve_deferred(value, storages)
    return resolved
  if isinstance(obj, (list, tuple)):
    return type(obj)(_resolve_deferred(v, storages) for v in obj)
  return obj


class _DeferredTensor:

  def __init__(self, storage: _Deferred, *args):
    self.storage, self.args = storage, args


def _rebuild_any(storage, *args):
  if isinstance(storage, _Deferred):
    return _DeferredTensor(storage, *args)
  return _rebuild_tensor(storage, *args)


def read_torch_file(path: str) -> Any:
  """Reads a `torch.save` file; tensors become NumPy arrays (C order, native byte order).

  Args:
    path: a `.pth` / `.pt` file in the zip or the legacy format.

  Returns:
    The saved object with dicts (OrderedDicts stay OrderedDicts), lists, numbers, strings and
    `np.ndarray` tensors; other pickled objects become inert placeholders.

  Raises:
    FileNotFoundError: `path` does not exist.
    CheckpointFormatError: the file is truncated, corrupt or not a PyTorch checkpoint.
  """
  try:
    if zipfile.is_zipfile(path):
      return _read_zip(path)
    with open(path, "rb") as f:
      head = f.read(2)
    if head[:1] != b"\x80":
      raise CheckpointFormatError(
          f"{path}: not a PyTorch checkpoint (neither a zip archive nor a pickle); a truncated "
          f"zip checkpoint also looks like this")
    return _read_legacy(path)
  except CheckpointFormatError:
    raise
  except (zipfile.BadZipFile, EOFError, pickle.UnpicklingError, struct.error, KeyError,
          ValueError, TypeError, IndexError, AttributeError, UnicodeDecodeError) as e:
    raise CheckpointFormatError(
        f"{path}: cannot read the checkpoint (truncated or corrupt?): {type(e).__name__}: {e}"
    ) from e
