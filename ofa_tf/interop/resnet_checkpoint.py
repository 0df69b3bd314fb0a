"""The released OFA-ResNet50 checkpoint layout (`ofa_resnet50`, reference `OFAResNets`; 368
tensors, ../shared/reference/README.md) and its mapping onto `OFAResNet.named_weights()`.

Canonical keys (`ofa_state_dict.normalize_key`: the dynamic layers' `.conv.conv.` / `.bn.bn.`
wrappers flattened, `num_batches_tracked` dropped), PyTorch shapes, and the Keras weights:

  input_stem.0.conv.weight (c0, 3, 3, 3)       -> stem1_conv.kernel              conv
  input_stem.0.bn.*                            -> stem1_bn.*
  input_stem.1.conv.weight (c0, c0, 3, 3)      -> stem2_conv.kernel (the skippable residual)
  input_stem.1.conv.bn.*                       -> stem2_bn.*
  input_stem.2.conv.weight (c1, c0, 3, 3)      -> stem3_conv.kernel
  input_stem.2.bn.*                            -> stem3_bn.*
  blocks.{b}.conv{1,2,3}.conv.weight           -> block{b}.conv{1,2,3}.kernel      conv
  blocks.{b}.conv{1,2,3}.bn.*                  -> block{b}.bn{1,2,3}.*
  blocks.{b}.downsample.conv.weight / .bn.*    -> block{b}.downsample_conv.kernel / _bn.*
  classifier.linear.linear.weight / .bias      -> classifier.kernel (transposed) / .bias

with `*` one of weight, bias, running_mean, running_var -> gamma, beta, moving_mean,
moving_variance; c0 / c1 the stem's largest widths, b the elastic block (0-based, 18).
"""

from __future__ import annotations

import re

_BN_NAMES = {"weight": "gamma", "bias": "beta", "running_mean": "moving_mean",
             "running_var": "moving_variance"}
_BN = tuple(_BN_NAMES)
_STEM_BN = ("input_stem.0.bn", "input_stem.1.conv.bn", "input_stem.2.bn")


def resnet_shapes(space) -> dict[str, tuple[int, ...]]:
  """Canonical key -> PyTorch shape of every tensor of the supernet of `ResNetSpace` `space`."""
  shapes: dict[str, tuple[int, ...]] = {}

  def conv_bn(conv, bn, out_channels, in_channels, kernel):
    shapes[f"{conv}.weight"] = (out_channels, in_channels, kernel, kernel)
    shapes.update({f"{bn}.{n}": (out_channels,) for n in _BN})

  top = len(space.width_mults) - 1
  c0, c1 = space.stem_widths(top), space.stem_out_width(top)
  conv_bn("input_stem.0.conv", _STEM_BN[0], c0, 3, 3)
  conv_bn("input_stem.1.conv", _STEM_BN[1], c0, c0, 3)
  conv_bn("input_stem.2.conv", _STEM_BN[2], c1, c0, 3)
  widths = space.width_groups((top,) * (2 + space.num_stages))
  for b in range(space.num_blocks):
    g_in, g_out = space.block_groups(b)
    cin, cout, mid = widths[g_in], widths[g_out], space.max_mid_channels(b)
    p = f"blocks.{b}"
    conv_bn(f"{p}.conv1.conv", f"{p}.conv1.bn", mid, cin, 1)
    conv_bn(f"{p}.conv2.conv", f"{p}.conv2.bn", mid, mid, space.kernel_size)
    conv_bn(f"{p}.conv3.conv", f"{p}.conv3.bn", cout, mid, 1)
    if space.block_position()[b] == 0:
      conv_bn(f"{p}.downsample.conv", f"{p}.downsample.bn", cout, cin, 1)
  shapes["classifier.linear.linear.weight"] = (space.num_classes, widths[-1])
  shapes["classifier.linear.linear.bias"] = (space.num_classes,)
  return shapes


def resnet_keras_name(key: str) -> tuple[str, str]:
  """(`OFAResNet.named_weights()` name, layout "conv" / "linear" / "copy") of canonical key
  `key`.

  Raises:
    ValueError: `key` is not a tensor of the OFA-ResNet50 layout.
  """
  m = re.fullmatch(r"input_stem\.(\d)\.conv\.weight", key)
  if m and int(m[1]) < 3:
    return f"stem{int(m[1]) + 1}_conv.kernel", "conv"
  m = re.fullmatch(r"(input_stem\.\d(?:\.conv)?\.bn)\.(\w+)", key)
  if m and m[1] in _STEM_BN and m[2] in _BN_NAMES:
    return f"stem{_STEM_BN.index(m[1]) + 1}_bn.{_BN_NAMES[m[2]]}", "copy"
  m = re.fullmatch(r"blocks\.(\d+)\.(conv[123]|downsample)\.(conv|bn)\.(\w+)", key)
  if m:
    block, layer, kind, leaf = m.groups()
    if kind == "conv" and leaf == "weight":
      suffix = "_conv" if layer == "downsample" else ""
      return f"block{block}.{layer}{suffix}.kernel", "conv"
    if kind == "bn" and leaf in _BN_NAMES:
      bn = "downsample_bn" if layer == "downsample" else f"bn{layer[-1]}"
      return f"block{block}.{bn}.{_BN_NAMES[leaf]}", "copy"
  if key == "classifier.linear.linear.weight":
    return "classifier.kernel", "linear"
  if key == "classifier.linear.linear.bias":
    return "classifier.bias", "copy"
  raise ValueError(f"checkpoint tensor {key!r} has no counterpart in the OFA-ResNet supernet")
