"""Checks a supernet against recorded reference outputs (a "cases" file of the OFA oracle).

A cases file is JSON (format of ../shared/reference/ofa_mbv3_w1.0_seed0_cases.json):
`{"supernet": "<arch name>", "arrays": "<npz beside the JSON>", "cases": [{"index": i,
"config": {"ks": [...], "e": [...], "d": [...]}, "resolution": r, "bn_mode": "eval"|"train"}]}`
with `input_i` [B, 3, r, r] float32 NCHW and `logits_i` [B, classes] in the npz.

`bn_mode == "eval"` runs inference BatchNorm (moving statistics); "train" normalizes with the
batch's own statistics (biased variance). Dropout is off in both (the reference outputs were
recorded with dropout 0).

The cases are run in file order, replaying what the recording did to the BN moving statistics:
its BatchNorm modules had `momentum=None` (PyTorch's cumulative average) and the checkpoint's
`num_batches_tracked` (4), so each train-mode case moved the statistics of the BN layers it
ran by 1 / (count + 1) towards the batch's mean and unbiased variance, and later eval-mode
cases read them. Measured on the ProxylessNAS oracle (eval cases after its first train case):
without the replay those cases differ by up to 0.56; with it, by at most 2e-5 like the others
(the MobileNetV3 oracle has its eval cases first, so it is unaffected). The replay needs the
counters the import keeps (`checkpoint_import.record_batches_tracked`); without them train-mode
cases leave the statistics alone. The supernet is left as it was: moving statistics and the
dropout rate are restored afterwards.
"""

from __future__ import annotations

import dataclasses
import json
import os

import numpy as np
import tensorflow as tf

from ofa_tf import search_space as ss
from ofa_tf.interop import ofa_state_dict
from ofa_tf.layers.elastic_batch_norm import ElasticBatchNormalization
from ofa_tf.networks import Supernet, build_supernet

TOLERANCE = 1e-3  # Max |logit difference| of a faithful port (reference README).
BN_MODES = ("eval", "train")


@dataclasses.dataclass(frozen=True)
class CaseResult:
  """One case: its subnet, resolution, BN mode and the max |logits - reference|."""
  index: int
  config: ss.SubnetConfig
  bn_mode: str
  max_abs_diff: float

  @property
  def passed(self) -> bool:
    return self.max_abs_diff <= TOLERANCE


def load_cases(path: str) -> tuple[dict, dict[str, np.ndarray]]:
  """Reads a cases JSON and its npz (path relative to the JSON's directory).

  Returns:
    (the JSON dict, the arrays by name).

  Raises:
    FileNotFoundError: the JSON or its arrays file is missing.
    ValueError: a malformed case (missing fields, unknown bn_mode, missing arrays).
  """
  with open(path) as f:
    spec = json.load(f)
  cases = spec.get("cases")
  if not isinstance(cases, list) or not cases or "arrays" not in spec:
    raise ValueError(f"{path}: expected 'arrays' and a non-empty 'cases' list")
  arrays_path = os.path.join(os.path.dirname(os.path.abspath(path)), spec["arrays"])
  with np.load(arrays_path) as data:
    arrays = {k: data[k] for k in data.files}
  for case in cases:
    missing = [k for k in ("index", "config", "resolution", "bn_mode") if k not in case]
    if missing:
      raise ValueError(f"{path}: case {case.get('index', '?')} lacks {missing}")
    if case["bn_mode"] not in BN_MODES:
      raise ValueError(f"{path}: case {case['index']} has bn_mode {case['bn_mode']!r}; "
                       f"expected one of {BN_MODES}")
    for name in (f"input_{case['index']}", f"logits_{case['index']}"):
      if name not in arrays:
        raise ValueError(f"{arrays_path}: array {name!r} of case {case['index']} is missing")
  return spec, arrays


def verify_cases(supernet: Supernet, path: str, *, mode: str | None = None
                 ) -> list[CaseResult]:
  """Runs every case of cases file `path` on `supernet` and compares the logits.

  Args:
    supernet: the Keras supernet (e.g. from `load_ofa_pytorch_checkpoint`).
    path: the cases JSON.
    mode: execution mode ("sliced" / "masked"), None for the supernet's default.

  Returns:
    One CaseResult per case, in file order (check `passed`; nothing is raised for a case
    above the tolerance).

  Raises:
    ValueError: the file is malformed or was recorded for another supernet architecture.
  """
  spec, arrays = load_cases(path)
  arch = spec.get("supernet")
  if arch is not None and ofa_state_dict.ARCHITECTURES.get(arch) != supernet.space.name:
    raise ValueError(f"{path} was recorded for {arch!r}, but the supernet has space "
                     f"{supernet.space.name!r}")
  results = []
  rate = supernet.dropout.rate
  supernet.dropout.rate = 0.0
  bns = [layer for layer in supernet.submodules
         if isinstance(layer, ElasticBatchNormalization)]
  saved = [(layer.moving_mean.numpy(), layer.moving_variance.numpy()) for layer in bns]
  for layer in bns:  # Replay the recording's BN updates (module docstring).
    layer.torch_batches_tracked = getattr(layer, "imported_batches_tracked", None)
  try:
    for case in spec["cases"]:
      i = case["index"]
      config = ss.SubnetConfig.from_reference(case["config"], resolution=case["resolution"],
                                              space=supernet.space.name)
      images = tf.constant(np.transpose(arrays[f"input_{i}"], (0, 2, 3, 1)))  # NCHW -> NHWC
      train = case["bn_mode"] == "train"
      logits = supernet(images, training=train, arch=supernet.arch_inputs(config), mode=mode)
      diff = float(np.max(np.abs(logits.numpy() - arrays[f"logits_{i}"])))
      results.append(CaseResult(index=i, config=config, bn_mode=case["bn_mode"],
                                max_abs_diff=diff))
  finally:
    supernet.dropout.rate = rate
    for layer, (mean, variance) in zip(bns, saved):
      layer.torch_batches_tracked = None
      layer.moving_mean.assign(mean)
      layer.moving_variance.assign(variance)
  return results
