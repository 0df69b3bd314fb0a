"""Import of the released OFA PyTorch supernets (MobileNetV3, ProxylessNAS; OFA-ResNet50's
mapping is `resnet_checkpoint.resnet_keras_name`).

Every canonical tensor of the checkpoint (`ofa_state_dict`) maps to exactly one weight of
`Supernet.named_weights()`:

  first_conv.conv.weight                       -> stem_conv.kernel            conv
  first_conv.bn.{weight,bias,running_mean,running_var}
                                               -> stem_bn.{gamma,beta,moving_mean,moving_variance}
  blocks.{i}.conv.inverted_bottleneck.conv.weight -> block{i}.expand_conv.kernel  conv
  blocks.{i}.conv.depth_conv.conv.weight       -> block{i}.depthwise.kernel   depthwise
  blocks.{i}.conv.depth_conv.conv.{K}to{k}_matrix -> block{i}.depthwise.transform_{K}to{k}
  blocks.{i}.conv.depth_conv.se.fc.{reduce,expand}.{weight,bias}
                                               -> block{i}.se_{reduce,expand}.{kernel,bias}
  blocks.{i}.conv.point_linear.conv.weight     -> block{i}.project_conv.kernel  conv
  blocks.{i}.conv.{inverted_bottleneck,depth_conv,point_linear}.bn.*
                                               -> block{i}.{expand,depthwise,project}_bn.*
  final_expand_layer.conv.weight / .bn.*       -> final_expand_conv.kernel / final_expand_bn.*
  feature_mix_layer.conv.weight / .bn.*        -> feature_mix_conv.kernel / feature_mix_bn.*
  classifier.linear.weight / .bias             -> classifier.kernel (transposed) / .bias

Layouts (reference README): conv (O, I, kh, kw) -> (kh, kw, I, O); depthwise (C, 1, kh, kw) ->
(kh, kw, C, 1); linear (O, I) -> (I, O); the kernel transformation matrices are used as
`flat @ M.T` on both sides (row-major (kh, kw) flattening), so they are copied unchanged.
"""

from __future__ import annotations

import re
from typing import Callable

import numpy as np
import tf_keras

from ofa_tf import search_space as ss
from ofa_tf.interop import ofa_state_dict
from ofa_tf.interop.resnet_checkpoint import resnet_keras_name
from ofa_tf.layers.elastic_batch_norm import ElasticBatchNormalization
from ofa_tf.networks import Supernet, build_supernet

_BN_NAMES = {"weight": "gamma", "bias": "beta", "running_mean": "moving_mean",
             "running_var": "moving_variance"}
_BLOCK_LAYERS = {"inverted_bottleneck": "expand", "depth_conv": "depthwise",
                 "point_linear": "project"}
_HEAD_LAYERS = {"first_conv": "stem", "final_expand_layer": "final_expand",
                "feature_mix_layer": "feature_mix"}


def keras_name(key: str) -> tuple[str, str]:
  """(`named_weights` name, layout) of canonical checkpoint key `key`.

  Layout is "conv", "depthwise", "linear" or "copy".

  Raises:
    ValueError: `key` is not a tensor of an OFA MBConv supernet.
  """
  m = re.fullmatch(r"blocks\.(\d+)\.conv\.(\w+)\.(conv|bn)\.(\w+)", key)
  if m and m.group(2) in _BLOCK_LAYERS:
    block, layer, kind, leaf = m.groups()
    base = f"block{block}.{_BLOCK_LAYERS[layer]}"
    if kind == "bn" and leaf in _BN_NAMES:
      return f"{base}_bn.{_BN_NAMES[leaf]}", "copy"
    if kind == "conv" and leaf == "weight":
      if layer == "depth_conv":
        return f"{base}.kernel", "depthwise"
      return f"{base}_conv.kernel", "conv"
    transform = re.fullmatch(r"(\d+)to(\d+)_matrix", leaf)
    if kind == "conv" and layer == "depth_conv" and transform:
      return f"{base}.transform_{transform[1]}to{transform[2]}", "copy"
  m = re.fullmatch(r"blocks\.(\d+)\.conv\.depth_conv\.se\.fc\.(reduce|expand)\.(weight|bias)", key)
  if m:
    block, which, leaf = m.groups()
    if leaf == "weight":
      return f"block{block}.se_{which}.kernel", "conv"
    return f"block{block}.se_{which}.bias", "copy"
  m = re.fullmatch(r"(\w+)\.(conv|bn)\.(\w+)", key)
  if m and m.group(1) in _HEAD_LAYERS:
    layer, kind, leaf = m.groups()
    base = _HEAD_LAYERS[layer]
    if kind == "conv" and leaf == "weight":
      return f"{base}_conv.kernel", "conv"
    if kind == "bn" and leaf in _BN_NAMES:
      return f"{base}_bn.{_BN_NAMES[leaf]}", "copy"
  if key == "classifier.linear.weight":
    return "classifier.kernel", "linear"
  if key == "classifier.linear.bias":
    return "classifier.bias", "copy"
  raise ValueError(f"checkpoint tensor {key!r} has no counterpart in the Keras supernet")


# Family tag -> function(canonical key) -> (named-weight name, layout). Both MBConv families
# share the reference layout; a new family registers its own with `register_names`.
_NAMES: dict[str, Callable[[str], tuple[str, str]]] = {
    "mobilenet_v3": keras_name, "proxyless": keras_name, "resnet50": resnet_keras_name}


def register_names(family: str, names: Callable[[str], tuple[str, str]]) -> None:
  """Declares how the checkpoint keys of `family` map onto its supernet's named weights."""
  _NAMES[family] = names


def to_keras_layout(array: np.ndarray, layout: str) -> np.ndarray:
  """Converts one PyTorch tensor to the Keras layout (see the module docstring)."""
  if layout == "conv":
    return np.transpose(array, (2, 3, 1, 0))
  if layout == "depthwise":
    return np.transpose(array, (2, 3, 0, 1))
  if layout == "linear":
    return np.transpose(array)
  return array


_TO_TORCH = {"conv": (3, 2, 0, 1), "depthwise": (2, 3, 0, 1), "linear": (1, 0)}


def release_state_dict(supernet: Supernet) -> dict[str, np.ndarray]:
  """The supernet's weights as a state dict of the released layout: the inverse of
  `keras_weights` (canonical keys of `ofa_state_dict.expected_shapes`, PyTorch layouts).

  Written with `torch_writer.write_state_dict(path, state, wrap=True)` it is a file of the
  released supernet's layout that `load_ofa_pytorch_checkpoint` reads back.
  """
  targets = supernet.named_weights()
  names = _NAMES[supernet.space.family]
  state = {}
  for key in ofa_state_dict.expected_shapes(supernet.space):
    name, layout = names(key)
    value = np.asarray(targets[name].numpy(), np.float32)
    state[key] = np.transpose(value, _TO_TORCH[layout]) if layout in _TO_TORCH else value
  return state


def random_supernet(space: ss.SearchSpace, seed: int, num_images: int = 8) -> Supernet:
  """A seeded, freshly initialized supernet of `space` whose BatchNorm statistics are those
  of its largest subnet on `num_images` N(0, 1) images [N, r, r, 3] at the largest
  resolution (how the reference's random-weight oracle files were made): a stand-in for a
  released checkpoint with plausible activations."""
  tf_keras.utils.set_random_seed(seed)
  supernet = build_supernet(space)
  config = space.max_config()
  supernet.set_active_subnet(config)
  images = np.random.default_rng(seed).normal(size=(num_images, config.r, config.r, 3))
  supernet(images.astype(np.float32), training=True, bn_momentum=0.0)  # Stats := batch's.
  return supernet


def write_release_checkpoint(path: str, arch_name: str, *, workdir: str | None = None,
                             seed: int = 0, overwrite: bool = False) -> Supernet:
  """Writes a supernet of `arch_name` as a `torch.save` file of the released layout.

  Args:
    path: the `.pth` to write (`{'state_dict': ...}`, `release_state_dict`).
    arch_name: a key of `ofa_state_dict.ARCHITECTURES`.
    workdir: a work directory whose supernet to write; None: `random_supernet(seed)`.
    seed: seed of the random supernet.
    overwrite: replace an existing `path`.

  Returns:
    The supernet written.

  Raises:
    ValueError: unknown architecture, or `workdir` holds another space.
    atomic_files.OutputExistsError: `path` exists and `overwrite` is False.
  """
  from ofa_tf import workdir as workdir_lib  # pylint: disable=g-import-not-at-top
  from ofa_tf.interop import torch_writer  # pylint: disable=g-import-not-at-top
  space = supernet_space(arch_name)
  if workdir:
    supernet = workdir_lib.load_supernet(workdir)
    if supernet.space != space:
      raise ValueError(f"{workdir} holds space {supernet.space.name}, not the space "
                       f"{space.name} of {arch_name}")
  else:
    supernet = random_supernet(space, seed)
  torch_writer.write_state_dict(path, release_state_dict(supernet), wrap=True,
                                overwrite=overwrite)
  return supernet


def keras_weights(state: dict[str, np.ndarray], supernet: Supernet
                  ) -> dict[str, np.ndarray]:
  """Maps a normalized state dict onto `supernet.named_weights()`, checking everything.

  Returns:
    named-weight name -> float32 array in the Keras layout, one per supernet weight.

  Raises:
    ValueError: listing the checkpoint tensors without a counterpart, the supernet weights no
      tensor maps to, and the shape mismatches after the layout change.
  """
  targets = supernet.named_weights()
  names = _NAMES[supernet.space.family]
  out, unmapped, misshaped, seen = {}, [], [], set()
  for key, array in state.items():
    try:
      name, layout = names(key)
    except ValueError:
      unmapped.append(key)
      continue
    if name not in targets:
      unmapped.append(f"{key} (-> {name})")
      continue
    seen.add(name)
    value = to_keras_layout(np.asarray(array), layout)
    want = tuple(targets[name].shape)
    if value.shape != want:
      misshaped.append(f"{key} {array.shape} -> {name} {value.shape} (expected {want})")
      continue
    out[name] = value.astype(np.float32)
  missing = sorted(set(targets) - seen)
  if unmapped or missing or misshaped:
    parts = []
    for label, names in (("unmapped checkpoint tensors", unmapped),
                         ("supernet weights without a tensor", missing),
                         ("mis-shaped tensors", misshaped)):
      if names:
        parts.append(f"{len(names)} {label}: {ofa_state_dict._listing(sorted(names))}.")
    raise ValueError("checkpoint does not map onto the supernet: " + " ".join(parts))
  return out


def assign_state_dict(supernet: Supernet, state: dict[str, np.ndarray]) -> None:
  """Assigns a normalized state dict to `supernet` (all checks first, then all writes)."""
  weights = keras_weights(state, supernet)
  targets = supernet.named_weights()
  for name, value in weights.items():
    targets[name].assign(value)


def load_ofa_pytorch_checkpoint(path: str, arch_name: str, *,
                                execution_mode: str = "sliced") -> Supernet:
  """Builds the Keras supernet of `arch_name` with the weights of a PyTorch OFA checkpoint.

  PyTorch is not needed (the file is read by `ofa_tf.interop.torch_checkpoint`).

  Args:
    path: `torch.save` file holding `{'state_dict': ...}` or a bare state dict, legacy or
      current key spellings (`ofa_state_dict.normalize_key`).
    arch_name: a key of `ofa_state_dict.ARCHITECTURES`, e.g. "ofa_mbv3_d234_e346_k357_w1.2"
      or "ofa_proxyless_d234_e346_k357_w1.3".
    execution_mode: the supernet's default mode ("sliced" or "masked").

  Returns:
    An supernet over `ss.get_space(...)` of the architecture, every weight
    (including BN moving statistics and kernel transformation matrices) from the file.

  Raises:
    FileNotFoundError: no such file.
    torch_checkpoint.CheckpointFormatError: truncated or corrupt file.
    ValueError: an unknown architecture, or a checkpoint of another architecture, or
      missing / unexpected / mis-shaped tensors (all listed).
  """
  raw = ofa_state_dict.read_raw_state_dict(path)
  state = ofa_state_dict.normalize_state_dict(raw, path)
  space = ofa_state_dict.check_state_dict(state, arch_name, source=path)
  supernet = build_supernet(space, execution_mode=execution_mode)
  assign_state_dict(supernet, state)
  record_batches_tracked(supernet, ofa_state_dict.batches_tracked(raw))
  return supernet


def record_batches_tracked(supernet: Supernet, tracked: dict[str, int]) -> None:
  """Keeps each BN's PyTorch `num_batches_tracked` as `imported_batches_tracked` on the
  supernet's BN layer (Keras BN has no such variable; `oracle.verify_cases` replays the
  reference's BN updates from it). Prefixes without a counterpart are ignored."""
  layers = {id(layer.moving_mean): layer for layer in supernet.submodules
            if isinstance(layer, ElasticBatchNormalization)}
  weights = supernet.named_weights()
  names = _NAMES[supernet.space.family]
  for prefix, count in tracked.items():
    try:
      name, _ = names(f"{prefix}.running_mean")
    except ValueError:
      continue
    layer = layers.get(id(weights.get(name)))
    if layer is not None:
      layer.imported_batches_tracked = count


def supernet_space(arch_name: str) -> ss.SearchSpace:
  """The search space of released supernet `arch_name`.

  Raises:
    ValueError: unknown architecture (the message lists the known ones).
  """
  if arch_name not in ofa_state_dict.ARCHITECTURES:
    raise ValueError(f"unknown OFA architecture {arch_name!r}; known: "
                     f"{sorted(ofa_state_dict.ARCHITECTURES)}")
  return ss.get_space(ofa_state_dict.ARCHITECTURES[arch_name])
