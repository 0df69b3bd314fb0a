"""Rewrites a tf_keras Functional model for a target: h-swish form and a static batch.

Works on the model config, so it applies to any Functional model built from stock layers
(the extracted subnets): h-swish is recognised structurally as
``Multiply([x, Rescaling(1/6)(ReLU(6)(Rescaling(1, offset=3)(x)))])`` (either input order),
whatever the layer names. The squeeze-excite gate (the same hard sigmoid applied to another
tensor) is left alone.

Why: the TFLite converter fuses x*relu6(x+3)/6 into one HARD_SWISH op, which the EdgeTPU
compiler does not map (google-coral/edgetpu#272). Written as (x/6)*relu6(x+3) it converts to
MUL, ADD with a fused RELU6, and MUL, all mapped; the function is unchanged.
"""

import copy
from typing import Dict, List, Optional

import tf_keras

from ofa_tf.export import recipes

_EPS = 1e-6


def _inbound_names(layer_cfg) -> List[str]:
  nodes = layer_cfg["inbound_nodes"]
  if len(nodes) != 1:
    return []
  node = nodes[0]
  if node and isinstance(node[0], str):  # One tensor argument: [name, node, tensor, kwargs]
    return [node[0]]                     # (TFOpLambda layers such as `x + 3.0`).
  return [entry[0] for entry in node]


def _is_rescaling(cfg, scale, offset) -> bool:
  c = cfg["config"]
  return (cfg["class_name"] == "Rescaling" and abs(float(c["scale"]) - scale) < _EPS
          and abs(float(c["offset"]) - offset) < _EPS)


def _is_relu6(cfg) -> bool:
  c = cfg["config"]
  return (cfg["class_name"] == "ReLU" and c.get("max_value") is not None
          and abs(float(c["max_value"]) - 6.0) < _EPS and not c.get("negative_slope")
          and not c.get("threshold"))


def find_hswish(config) -> List[Dict[str, str]]:
  """Finds h-swish sub-graphs in a Functional model config.

  Returns:
    One dict per h-swish with the layer names: "input" (x), "add" (Rescaling offset 3),
    "relu6", "scale" (Rescaling 1/6) and "mul" (Multiply).
  """
  by_name = {l["name"]: l for l in config["layers"]}
  found = []
  for layer in config["layers"]:
    if layer["class_name"] != "Multiply":
      continue
    ins = _inbound_names(layer)
    if len(ins) != 2:
      continue
    for x, s in (ins, ins[::-1]):
      chain = [s]
      for _ in range(2):
        parents = _inbound_names(by_name[chain[-1]])
        if len(parents) != 1:
          break
        chain.append(parents[0])
      if len(chain) != 3:
        continue
      scale, relu6, add = (by_name[n] for n in chain)
      if (_is_rescaling(scale, 1 / 6, 0.0) and _is_relu6(relu6) and _is_rescaling(add, 1.0, 3.0)
          and _inbound_names(add) == [x]):
        found.append({"input": x, "add": add["name"], "relu6": relu6["name"],
                      "scale": scale["name"], "mul": layer["name"]})
        break
  return found


def lower_model(model: tf_keras.Model, hswish_mode: str = "keep",
                batch_size: Optional[int] = None) -> tf_keras.Model:
  """Returns a copy of `model` with h-swish rewritten and the batch dimension fixed.

  Args:
    model: a tf_keras Functional model with one input.
    hswish_mode: one of `recipes.HSWISH_MODES`: "keep" (unchanged), "decomposed"
      ((x/6)*relu6(x+3), same function) or "relu" (ReLU instead of h-swish; changes the
      function, measure the accuracy cost).
    batch_size: fixed batch size of the input (static shapes), or None to keep it dynamic.

  Returns:
    A new Functional model with its own weights copied from `model` (layer names kept).

  Raises:
    ValueError: for an unknown `hswish_mode` or a model that is not single-input Functional.
  """
  if hswish_mode not in recipes.HSWISH_MODES:
    raise ValueError(f"hswish_mode={hswish_mode!r}; allowed: {recipes.HSWISH_MODES}")
  if not isinstance(model, tf_keras.Model) or not hasattr(model, "_nested_inputs") or (
      len(model.inputs) != 1):
    raise ValueError("lower_model needs a single-input tf_keras Functional model")
  config = copy.deepcopy(model.get_config())
  by_name = {l["name"]: l for l in config["layers"]}
  for input_name, *_ in config["input_layers"]:
    shape = list(by_name[input_name]["config"]["batch_input_shape"])
    shape[0] = batch_size
    by_name[input_name]["config"]["batch_input_shape"] = tuple(shape)
  for hs in find_hswish(config) if hswish_mode != "keep" else ():
    mul = by_name[hs["mul"]]
    if hswish_mode == "decomposed":
      by_name[hs["scale"]]["inbound_nodes"] = [[[hs["input"], 0, 0, {}]]]
      mul["inbound_nodes"] = [[[hs["scale"], 0, 0, {}], [hs["relu6"], 0, 0, {}]]]
    else:  # relu: the Multiply becomes a ReLU of x; the hard-sigmoid branch is dropped.
      mul["class_name"] = "ReLU"
      mul["module"] = "keras.layers"
      mul["config"] = {"name": hs["mul"], "trainable": True, "dtype": "float32",
                       "max_value": None, "negative_slope": 0.0, "threshold": 0.0}
      mul["inbound_nodes"] = [[[hs["input"], 0, 0, {}]]]
  used = _reachable(config)
  config["layers"] = [l for l in config["layers"] if l["name"] in used]
  lowered = tf_keras.Model.from_config(config)
  for layer in lowered.layers:
    if layer.weights:
      layer.set_weights(model.get_layer(layer.name).get_weights())
  return lowered


def _reachable(config) -> set:
  """Names of the layers the outputs depend on."""
  by_name = {l["name"]: l for l in config["layers"]}
  todo = [name for name, *_ in config["output_layers"]]
  seen = set()
  while todo:
    name = todo.pop()
    if name not in seen:
      seen.add(name)
      todo.extend(_inbound_names(by_name[name]))
  return seen
