"""OFA supernet state dicts: reading, key normalization and the expected tensor layout.

The released OFA supernets (`ofa_mbv3_d234_e346_k357_w1.0`, `_w1.2`,
`ofa_proxyless_d234_e346_k357_w1.3`, `ofa_resnet50`) are `torch.save({'state_dict': ...})` files (some releases save the bare state dict). Their keys
come in several spellings, normalized here to one canonical, flat form:
- `module.` prefixes (DataParallel) are dropped;
- `.mobile_inverted_conv.` (legacy block attribute) becomes `.conv.`;
- the dynamic layers' nested wrappers `.conv.conv.` and `.bn.bn.` (DynamicConv2d /
  DynamicBatchNorm2d hold an `nn.Conv2d` / `nn.BatchNorm2d` named `conv` / `bn`) become
  `.conv.` and `.bn.`, which is the spelling of the static layers.
So `blocks.1.mobile_inverted_conv.depth_conv.conv.conv.weight` and
`blocks.1.conv.depth_conv.conv.weight` both read `blocks.1.conv.depth_conv.conv.weight`.
`num_batches_tracked` counters are dropped (Keras BatchNorm has no such variable).

Canonical tensors of an MBConv supernet (both families share the reference layout; PyTorch
layouts; mid = largest middle width of the block):
`first_conv.conv.weight` (stem, 3, 3, 3), `first_conv.bn.{weight,bias,running_mean,
running_var}`; block 0: `blocks.0.conv.depth_conv.conv.weight` (stem, 1, 3, 3) and
`point_linear`; elastic blocks `blocks.{b+1}.conv.`: `inverted_bottleneck.conv.weight`
(mid, in, 1, 1), `depth_conv.conv.weight` (mid, 1, 7, 7), `depth_conv.conv.7to5_matrix`
(25, 25), `depth_conv.conv.5to3_matrix` (9, 9), `depth_conv.se.fc.{reduce,expand}.{weight,
bias}` (SE stages), `point_linear.conv.weight` (out, mid, 1, 1), each conv with its `.bn.*`;
then the head convs of the family: MobileNetV3 `final_expand_layer.conv.weight` and `.bn.*`
(before pooling), `feature_mix_layer.conv.weight` (after pooling, no BN); ProxylessNAS
`feature_mix_layer.conv.weight` and `.bn.*` (before pooling); last
`classifier.linear.{weight,bias}` (classes, feature_mix) / (classes,).

The OFA-ResNet50 layout is in `resnet_checkpoint`. A family plugs its layout in with `register_layout(family, expected_shapes_fn)`; released
architecture names map to registered spaces in `ARCHITECTURES`.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ofa_tf import search_space as ss
from ofa_tf.interop import torch_checkpoint
from ofa_tf.interop.resnet_checkpoint import resnet_shapes

# Released supernet name -> search space name.
ARCHITECTURES = {
    "ofa_mbv3_d234_e346_k357_w1.0": "ofa_mbv3_w1.0",
    "ofa_mbv3_d234_e346_k357_w1.2": "ofa_mbv3_w1.2",
    "ofa_proxyless_d234_e346_k357_w1.3": "ofa_proxyless_w1.3",
    "ofa_resnet50": "ofa_resnet50",
}
_BN = ("weight", "bias", "running_mean", "running_var")


def normalize_key(key: str) -> str:
  """The canonical spelling of a state-dict key (see the module docstring)."""
  while key.startswith("module."):
    key = key[len("module."):]
  key = key.replace(".mobile_inverted_conv.", ".conv.")
  for nested, flat in ((".conv.conv.", ".conv."), (".bn.bn.", ".bn.")):
    while nested in key:
      key = key.replace(nested, flat)
  return key


def _state_dict_of(obj, path: str) -> dict:
  if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
    obj = obj["state_dict"]
  if not isinstance(obj, dict) or not obj or not all(
      isinstance(k, str) and isinstance(v, np.ndarray) for k, v in obj.items()):
    raise ValueError(f"{path}: neither a state dict of tensors nor a dict with a "
                     f"'state_dict' entry")
  return obj


def normalize_state_dict(state: dict[str, np.ndarray], source: str = "state dict"
                         ) -> dict[str, np.ndarray]:
  """Canonical keys, `num_batches_tracked` dropped.

  Raises:
    ValueError: two keys normalize to the same name (e.g. legacy and new spellings mixed).
  """
  out: dict[str, np.ndarray] = {}
  origin: dict[str, str] = {}
  for key, value in state.items():
    if key.endswith("num_batches_tracked"):
      continue
    canonical = normalize_key(key)
    if canonical in out:
      raise ValueError(f"{source}: {origin[canonical]!r} and {key!r} are the same tensor "
                       f"{canonical!r}")
    out[canonical], origin[canonical] = value, key
  return out


def load_state_dict(path: str) -> dict[str, np.ndarray]:
  """Reads an OFA PyTorch checkpoint (`{'state_dict': ...}` or a bare state dict).

  Needs no PyTorch (see `torch_checkpoint`).

  Returns:
    Canonical key -> NumPy array in the PyTorch layout; `num_batches_tracked` dropped.

  Raises:
    FileNotFoundError, torch_checkpoint.CheckpointFormatError: unreadable file.
    ValueError: the file holds no state dict, or keys collide after normalization.
  """
  return normalize_state_dict(read_raw_state_dict(path), path)


def read_raw_state_dict(path: str) -> dict[str, np.ndarray]:
  """The state dict of an OFA PyTorch checkpoint with its keys as written (see
  `load_state_dict` for the errors)."""
  return _state_dict_of(torch_checkpoint.read_torch_file(path), path)


def batches_tracked(state: dict[str, np.ndarray]) -> dict[str, int]:
  """Canonical BN prefix (e.g. `blocks.3.conv.depth_conv.bn`) -> its `num_batches_tracked`,
  from a raw state dict (`normalize_state_dict` drops these counters)."""
  suffix = ".num_batches_tracked"
  return {normalize_key(k)[:-len(suffix)]: int(np.asarray(v)) for k, v in state.items()
          if k.endswith(suffix)}


def mbconv_shapes(space) -> dict[str, tuple[int, ...]]:
  """Canonical key -> PyTorch shape of every tensor of the supernet of MBConv `space`
  (MobileNetV3 and ProxylessNAS; head convs from the space's own network spec)."""
  shapes: dict[str, tuple[int, ...]] = {}

  def conv_bn(prefix, out_channels, in_channels, kernel, bn=True):
    shapes[f"{prefix}.conv.weight"] = (out_channels, in_channels, kernel, kernel)
    if bn:
      shapes.update({f"{prefix}.bn.{n}": (out_channels,) for n in _BN})

  conv_bn("first_conv", space.stem_width, 3, 3)
  conv_bn("blocks.0.conv.depth_conv", space.stem_width, 1, 3)
  conv_bn("blocks.0.conv.point_linear", space.first_block_width, space.stem_width, 1)
  kernels = sorted(space.kernel_sizes)
  for b in range(space.num_blocks):
    stage = space.stages[space.stage_of_block(b)]
    in_channels, mid = space.block_input_channels(b), space.max_mid_channels(b)
    p = f"blocks.{b + 1}.conv"
    conv_bn(f"{p}.inverted_bottleneck", mid, in_channels, 1)
    conv_bn(f"{p}.depth_conv", mid, 1, space.max_kernel_size)
    for small, large in zip(kernels[:-1], kernels[1:]):
      shapes[f"{p}.depth_conv.conv.{large}to{small}_matrix"] = (small * small, small * small)
    if stage.use_se:
      se = space.se_channels(mid)
      shapes.update({f"{p}.depth_conv.se.fc.reduce.weight": (se, mid, 1, 1),
                     f"{p}.depth_conv.se.fc.reduce.bias": (se,),
                     f"{p}.depth_conv.se.fc.expand.weight": (mid, se, 1, 1),
                     f"{p}.depth_conv.se.fc.expand.bias": (mid,)})
    conv_bn(f"{p}.point_linear", stage.width, mid, 1)
  spec = space.network_spec(space.max_config())
  for conv in spec.head_before_pool + spec.head_after_pool:
    conv_bn(f"{conv.name}_layer", conv.out_channels, conv.in_channels, conv.kernel_size,
            bn=conv.batch_norm)
  shapes["classifier.linear.weight"] = (space.num_classes, spec.classifier_in_channels)
  shapes["classifier.linear.bias"] = (space.num_classes,)
  return shapes


# Family tag -> function(space) -> {canonical key: PyTorch shape}.
_LAYOUTS: dict[str, Callable[[Any], dict[str, tuple[int, ...]]]] = {
    "mobilenet_v3": mbconv_shapes, "proxyless": mbconv_shapes, "resnet50": resnet_shapes}


def register_layout(family: str, shapes: Callable[[Any], dict[str, tuple[int, ...]]]) -> None:
  """Declares the released checkpoint layout of search-space family `family`."""
  _LAYOUTS[family] = shapes


def expected_shapes(space) -> dict[str, tuple[int, ...]]:
  """Canonical key -> PyTorch shape of every tensor of the supernet of `space`.

  Raises:
    ValueError: `space`'s family has no registered checkpoint layout.
  """
  if space.family not in _LAYOUTS:
    raise ValueError(f"family {space.family!r} of space {space.name!r} has no released "
                     f"checkpoint layout; known: {sorted(_LAYOUTS)}")
  return _LAYOUTS[space.family](space)


def _listing(names: list[str], limit: int = 12) -> str:
  shown = ", ".join(names[:limit])
  return shown + (f", ... ({len(names) - limit} more)" if len(names) > limit else "")


def check_state_dict(state: dict[str, np.ndarray], arch_name: str,
                     source: str = "checkpoint") -> ss.SearchSpace:
  """Checks a normalized state dict against supernet `arch_name`; returns its space.

  Raises:
    ValueError: an unknown `arch_name`; or missing, unexpected or mis-shaped tensors, all
      listed (and, when the tensors are those of another known supernet, its name).
  """
  if arch_name not in ARCHITECTURES:
    raise ValueError(f"unknown OFA architecture {arch_name!r}; known: {sorted(ARCHITECTURES)}")
  space = ss.get_space(ARCHITECTURES[arch_name])
  want = expected_shapes(space)
  missing = sorted(set(want) - set(state))
  unexpected = sorted(set(state) - set(want))
  misshaped = sorted(f"{k} {tuple(state[k].shape)} (expected {want[k]})"
                     for k in set(want) & set(state) if tuple(state[k].shape) != want[k])
  if not (missing or unexpected or misshaped):
    return space
  problems = [f"{source} does not fit {arch_name}:"]
  for other in ARCHITECTURES:
    shapes = expected_shapes(ss.get_space(ARCHITECTURES[other]))
    if other != arch_name and set(shapes) == set(state) and all(
        tuple(state[k].shape) == s for k, s in shapes.items()):
      problems.append(f"it is a checkpoint of {other}.")
  if missing:
    problems.append(f"{len(missing)} missing tensors: {_listing(missing)}.")
  if unexpected:
    problems.append(f"{len(unexpected)} unexpected tensors: {_listing(unexpected)}.")
  if misshaped:
    problems.append(f"{len(misshaped)} mis-shaped tensors: {_listing(misshaped)}.")
  raise ValueError(" ".join(problems))
