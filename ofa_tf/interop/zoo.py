"""The released OFA specialized subnets (`ofa_zoo/<name>/net.config` + `run.config`).

A released subnet is a static architecture in the reference JSON format: `first_conv`,
`blocks`, `final_expand_layer` (MobileNetV3 only), `feature_mix_layer`, `classifier`, `bn`.
Blocks are spelled two ways, both read here:
- legacy: `{"name": "MobileInvertedResidualBlock", "mobile_inverted_conv":
  {"name": "MBInvertedConvLayer", ...}, "shortcut": {"name": "IdentityLayer", ...} | null}`;
- newer: `{"name": "ResidualBlock", "conv": {"name": "MBConvLayer", ...}, "shortcut": ...}`.
A `ZeroLayer` conv with an identity shortcut (an identity block) is dropped.

Two families occur, told apart by the top-level `name` (reference `MobileNetV3` and
`ProxylessNASNets`); both become one generic `NetworkSpec` (stem, MBConv blocks, the family's
head convs) built by `ofa_tf.networks.static_network` and counted by the generic counters.
Blocks are numbered 0, 1, ... in file order (layer names `block{i}_...`).

`to_subnet_config` expresses a net as a `SubnetConfig` of the registered OFA supernet of its
family whose fixed widths it has (`ofa_mbv3_w1.0`, `ofa_mbv3_w1.2`, `ofa_proxyless_w1.3`).
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
from typing import Any

import tf_keras

from ofa_tf import search_space as ss
from ofa_tf.networks import static_network
from ofa_tf.search_space.mbconv_space import MBConvSpace

MOBILENET_V3 = "mobilenet_v3"
PROXYLESS = "proxyless"
_FAMILIES = {"MobileNetV3": MOBILENET_V3, "ProxylessNASNets": PROXYLESS}
_ACTIVATIONS = {"relu": "relu", "h_swish": "hswish", "relu6": "relu6"}
_BLOCK_NAMES = ("MobileInvertedResidualBlock", "ResidualBlock")
_CONV_KEYS = ("mobile_inverted_conv", "conv")
_MBCONV_NAMES = ("MBInvertedConvLayer", "MBConvLayer")


@dataclasses.dataclass(frozen=True)
class ZooNet:
  """One released specialized subnet.

  Attributes:
    name: the zoo directory name (e.g. "note10_lat-8ms_top1-71.4_finetune-25"), or "".
    family: the search-space family tag, "mobilenet_v3" or "proxyless".
    spec: its static layers at the `run.config` image size.
  """
  name: str
  family: str
  spec: ss.NetworkSpec

  @property
  def resolution(self) -> int:
    return self.spec.resolution


@dataclasses.dataclass(frozen=True)
class ZooIndexRow:
  """One row of `ofa_zoo/index.csv` (the published table); `directory` "" = not released."""
  short_name: str
  zoo_id: str
  directory: str
  top1: float
  top5: float
  params_m: float
  macs_m: float
  image_size: int | None


def read_index(path: str) -> list[ZooIndexRow]:
  """Reads the published table `ofa_zoo/index.csv`."""
  with open(path, newline="") as f:
    return [ZooIndexRow(short_name=row["short_name"], zoo_id=row["zoo_id"],
                        directory=row["directory"], top1=float(row["top1"]),
                        top5=float(row["top5"]), params_m=float(row["params_m"]),
                        macs_m=float(row["macs_m"]),
                        image_size=int(row["image_size"]) if row["image_size"] else None)
            for row in csv.DictReader(f)]


def _require(cond: bool, where: str, message: str):
  if not cond:
    raise ValueError(f"{where}: {message}")


def _activation(value: Any, where: str) -> str:
  _require(value in _ACTIVATIONS, where,
           f"act_func {value!r} is not supported; expected one of {sorted(_ACTIVATIONS)}")
  return _ACTIVATIONS[value]


def _check_conv(layer: Any, where: str, *, in_channels: int, kernel_size: int, stride: int,
                use_bn: bool, act: str | None) -> int:
  """Checks a reference `ConvLayer` dict; returns its out_channels."""
  _require(isinstance(layer, dict) and layer.get("name") == "ConvLayer", where,
           f"expected a ConvLayer, got {layer!r:.80}")
  want = {"in_channels": in_channels, "kernel_size": kernel_size, "stride": stride,
          "use_bn": use_bn, "bias": False}
  for key, value in want.items():
    _require(layer.get(key, value) == value, where, f"{key} = {layer.get(key)!r}, expected {value!r}")
  _require(layer.get("groups", 1) in (1, None) and layer.get("dilation", 1) == 1, where,
           "grouped or dilated convs are not supported")
  _require(_activation(layer.get("act_func"), where) == act, where,
           f"act_func {layer.get('act_func')!r} is not what this family uses")
  return int(layer["out_channels"])


def _parse_block(block: Any, i: int, in_channels: int, size: int, family: str
                 ) -> ss.BlockSpec | None:
  """One reference block dict -> BlockSpec (None for an identity `ZeroLayer` block)."""
  where = f"blocks[{i}]"
  _require(isinstance(block, dict) and block.get("name") in _BLOCK_NAMES, where,
           f"block name must be one of {_BLOCK_NAMES}, got {block.get('name')!r}")
  keys = [k for k in _CONV_KEYS if k in block]
  _require(len(keys) == 1, where, f"needs exactly one of {_CONV_KEYS}")
  conv, shortcut = block[keys[0]], block.get("shortcut")
  _require(shortcut is None or shortcut.get("name") in ("IdentityLayer", "ZeroLayer"), where,
           f"shortcut must be null or an IdentityLayer, got {shortcut!r:.80}")
  residual = shortcut is not None and shortcut["name"] == "IdentityLayer"
  if conv is None or conv.get("name") == "ZeroLayer":
    _require(residual and (conv or {}).get("stride", 1) == 1, where,
             "a ZeroLayer block without an identity shortcut zeroes the network")
    return None
  _require(conv.get("name") in _MBCONV_NAMES, where,
           f"conv name must be one of {_MBCONV_NAMES}, got {conv.get('name')!r}")
  _require(conv["in_channels"] == in_channels, where,
           f"in_channels = {conv['in_channels']}, but the previous layer outputs {in_channels}")
  _require(conv.get("groups") in (None, 1), where, "grouped MBConv is not supported")
  expand = float(conv["expand_ratio"])
  has_expand = expand != 1
  mid = conv.get("mid_channels")
  if not has_expand:
    mid = in_channels
  elif mid is None:
    mid = ss.make_divisible(round(in_channels * expand), 8)
  use_se = bool(conv.get("use_se", False))
  _require(not (use_se and family == PROXYLESS), where, "ProxylessNAS blocks have no SE")
  out_channels, stride = int(conv["out_channels"]), int(conv["stride"])
  _require(not residual or (stride == 1 and out_channels == in_channels), where,
           "an identity shortcut needs stride 1 and in_channels == out_channels")
  return ss.BlockSpec(
      index=0, in_channels=in_channels, out_channels=out_channels, mid_channels=int(mid),
      kernel_size=int(conv["kernel_size"]), stride=stride,
      activation=_activation(conv.get("act_func"), where),
      se_channels=ss.make_divisible(int(mid) // 4, 8) if use_se else 0, input_size=size,
      has_expand=has_expand, residual=residual)


def parse_net_config(config: dict[str, Any], image_size: int, name: str = "") -> ZooNet:
  """Turns a released `net.config` dict (and the `run.config` image size) into a `ZooNet`.

  Args:
    config: the parsed `net.config` JSON.
    image_size: input resolution r from `run.config` (the net is resolution-agnostic).
    name: the zoo name, kept for messages.

  Returns:
    A ZooNet whose spec describes the net at `image_size`.

  Raises:
    ValueError: an unknown family, layer name or unsupported field, or inconsistent
      channels; the message names the layer (`blocks[3]`, `feature_mix_layer`, ...).
  """
  where = name or "net.config"
  family = _FAMILIES.get(config.get("name"))
  _require(family is not None, where,
           f"unknown network {config.get('name')!r}; expected one of {sorted(_FAMILIES)}")
  _require(isinstance(image_size, int) and image_size > 0, where,
           f"image_size must be a positive int, got {image_size!r}")
  head_act = "hswish" if family == MOBILENET_V3 else "relu6"
  bn = config.get("bn") or {"momentum": 0.1, "eps": 1e-5 if family == MOBILENET_V3 else 1e-3}
  stem = _check_conv(config.get("first_conv"), f"{where}: first_conv", in_channels=3,
                     kernel_size=3, stride=2, use_bn=True, act=head_act)
  channels, size, blocks = stem, ss.conv_output_size(image_size, 2), []
  for i, block in enumerate(config.get("blocks") or ()):
    parsed = _parse_block(block, i, channels, size, family)
    if parsed is not None:
      blocks.append(dataclasses.replace(parsed, index=len(blocks)))
      channels, size = parsed.out_channels, parsed.output_size
  _require(bool(blocks), where, "the net has no blocks")
  if family == MOBILENET_V3:
    final_expand = _check_conv(config.get("final_expand_layer"), f"{where}: final_expand_layer",
                               in_channels=channels, kernel_size=1, stride=1, use_bn=True,
                               act="hswish")
    channels = final_expand
  feature_mix = _check_conv(config.get("feature_mix_layer"), f"{where}: feature_mix_layer",
                            in_channels=channels, kernel_size=1, stride=1,
                            use_bn=family == PROXYLESS, act=head_act)
  classifier = config.get("classifier") or {}
  _require(classifier.get("name") == "LinearLayer" and classifier.get("in_features") == feature_mix
           and classifier.get("bias", True) and not classifier.get("use_bn", False),
           f"{where}: classifier", f"expected a LinearLayer with bias from {feature_mix} "
           f"features, got {classifier!r:.120}")
  # Layer and table names as the spaces' own `network_spec` gives them.
  size = blocks[-1].output_size
  if family == MOBILENET_V3:
    before_pool = (ss.ConvSpec("final_expand", blocks[-1].out_channels, final_expand, 1, 1,
                               size, activation="hswish", table_name="Conv_1"),)
    after_pool = (ss.ConvSpec("feature_mix", final_expand, feature_mix, 1, 1, 1,
                              batch_norm=False, activation="hswish", table_name="Conv_2"),)
  else:
    before_pool = (ss.ConvSpec("feature_mix", channels, feature_mix, 1, 1, size,
                               activation="relu6", table_name="Conv_1"),)
    after_pool = ()
  spec = ss.NetworkSpec(
      resolution=image_size,
      stem=(ss.ConvSpec("stem", 3, stem, 3, 2, image_size, activation=head_act,
                        table_name="Conv"),),
      blocks=tuple(blocks), head_before_pool=before_pool, head_after_pool=after_pool,
      num_classes=int(classifier["out_features"]),
      dropout_rate=float(classifier.get("dropout_rate") or 0.0),
      bn_epsilon=float(bn["eps"]), bn_momentum=1.0 - float(bn["momentum"]))
  return ZooNet(name=name, family=family, spec=spec)


def load_zoo_net(directory: str) -> ZooNet:
  """Reads `directory/net.config` and `directory/run.config` (`{"image_size": r}`).

  Raises:
    FileNotFoundError: a file is missing.
    ValueError: see `parse_net_config`.
  """
  with open(os.path.join(directory, "net.config")) as f:
    config = json.load(f)
  with open(os.path.join(directory, "run.config")) as f:
    image_size = json.load(f).get("image_size")
  if isinstance(image_size, list) and len(image_size) == 1:
    image_size = image_size[0]
  return parse_net_config(config, image_size, name=os.path.basename(os.path.normpath(directory)))


def count_macs(net: ZooNet) -> int:
  """Multiply-accumulates of one image at `net.resolution` (published convention)."""
  return ss.count_macs(net.spec)


def count_params(net: ZooNet, include_bn_statistics: bool = False) -> int:
  """Parameters (PyTorch convention: BN statistics excluded unless asked)."""
  return ss.count_params(net.spec, include_bn_statistics)


def build_model(net: ZooNet, *, batch_size: int | None = None) -> tf_keras.Model:
  """A static tf_keras model of `net` (fresh weights); [B, r, r, 3] NHWC -> [B, classes]."""
  name = "".join(c if c.isalnum() else "_" for c in net.name) or "zoo_net"
  return static_network.build_static_model(net.spec, batch_size=batch_size, name=name)


def _structure(block: ss.BlockSpec) -> tuple:
  return (block.kind, block.in_channels, block.out_channels, block.mid_channels,
          block.kernel_size, block.stride, block.activation, block.se_channels,
          block.has_expand, block.residual)


def _widths(spec: ss.NetworkSpec) -> tuple:
  """The fixed widths of a network: stem, block 0, head convs, classes."""
  return (tuple(c.out_channels for c in spec.stem), spec.blocks[0].out_channels,
          tuple(c.out_channels for c in spec.head_before_pool + spec.head_after_pool),
          spec.num_classes)


def matching_space(net: ZooNet) -> MBConvSpace:
  """The registered MBConv space of `net`'s family whose fixed widths `net` has.

  Raises:
    ValueError: no registered space of the family has its widths (the message lists them).
  """
  tried = []
  for name in ss.space_names():
    space = ss.get_space(name)
    if space.family != net.family or not isinstance(space, MBConvSpace):
      continue
    if _widths(space.network_spec(space.max_config())) == _widths(net.spec):
      return space
    tried.append(name)
  raise ValueError(f"{net.name}: its widths stem/block0/head/classes {_widths(net.spec)} match "
                   f"no registered {net.family} space (tried {tried})")


def to_subnet_config(net: ZooNet, *, allow_any_resolution: bool = False) -> ss.SubnetConfig:
  """Expresses a zoo net as a `SubnetConfig` of its family's OFA supernet.

  Blocks are matched stage by stage (widths, strides, activations, SE, kernel sizes, expand
  ratios and middle channels must be the space's); the block entries of skipped blocks are
  the smallest choices and a stage clipped to fewer blocks than the depth choices (the last
  ProxylessNAS stage) gets the smallest depth that activates them (`SearchSpace.canonical`).

  Args:
    net: a ZooNet of an MBConv family.
    allow_any_resolution: accept an image size outside the space's resolutions (e.g. 236):
      the returned config then fails `space.validate`, but the supernet runs it.

  Returns:
    A SubnetConfig whose `space` is the matching registered space (see `matching_space`).

  Raises:
    ValueError: why the net is not a subnet of the supernet (naming the block and field).
  """
  space = matching_space(net)
  blocks = net.spec.blocks
  zero = space.mbconv_blocks(space.max_config())[0]
  if _structure(blocks[0]) != _structure(zero):
    raise ValueError(f"{net.name}: block 0 {_structure(blocks[0])} is not the supernet's "
                     f"{_structure(zero)}")
  ks = [min(space.kernel_sizes)] * space.num_blocks
  e = [min(space.expand_ratios)] * space.num_blocks
  depths, position = [], 1
  for s, (stage, ids) in enumerate(zip(space.stages, space.stage_blocks())):
    count = 0
    while (position < len(blocks) and blocks[position].out_channels == stage.width
           and (count == 0 or blocks[position].stride == 1) and count < len(ids)):
      block, b = blocks[position], ids[count]
      ratio = block.mid_channels / block.in_channels
      matches = [x for x in space.expand_ratios
                 if space.mid_channels(block.in_channels, x) == block.mid_channels]
      if block.kernel_size not in space.kernel_sizes or not matches:
        raise ValueError(f"{net.name}: block {position} (k={block.kernel_size}, mid="
                         f"{block.mid_channels}, ~e={ratio:.2f}) has no kernel/expand choice "
                         f"of {space.name}")
      ks[b], e[b] = block.kernel_size, matches[0]
      count, position = count + 1, position + 1
    depth = [d for d in space.depths if space.active_depth(s, d) == count]
    if not depth:
      raise ValueError(f"{net.name}: stage {s} (width {stage.width}) has {count} blocks; "
                       f"{space.name} allows depths {space.depths}")
    depths.append(depth[0])
  if position != len(blocks):
    raise ValueError(f"{net.name}: block {position} does not fit any stage of {space.name}")
  config = ss.SubnetConfig(ks=tuple(ks), e=tuple(e), d=tuple(depths), r=net.resolution,
                           space=space.name)
  if net.resolution not in space.resolutions and not allow_any_resolution:
    raise ValueError(f"{net.name}: image size {net.resolution} is not a resolution of "
                     f"{space.name} ({space.resolutions[0]}..{space.resolutions[-1]}); the "
                     f"architecture is a subnet (allow_any_resolution=True gives its config)")
  check = space.network_spec(config.replace(r=space.resolutions[-1]))
  if [_structure(b) for b in check.blocks] != [_structure(b) for b in blocks]:
    raise ValueError(f"{net.name}: activations, SE or shortcuts differ from {space.name}")
  return config
