r"""cpu_int8 latency of OFA-MobileNetV3 subnets vs Keras' MobileNetV3-Large, side by side.

Every model is exported with the `cpu_int8` recipe (full integer, int8 I/O, batch 1; PTQ
calibrated on random images: the timings do not depend on the weights) and timed in LiteRT,
in process, 1 thread, XNNPACK on, random int8 input (`targets.litert_latency_ms`: median of
--runs invocations after 3 warm-up runs). MACs: the search space's counter for the subnets
(`space.macs`), the same convolution/dense count (`keras_macs`) for the Keras model.

  python benchmarks/int8_latency_comparison.py --resolution=224
  python benchmarks/int8_latency_comparison.py --resolution=160 --subnets=min,max

Timings of a loaded, shared machine vary; the load average is printed with the table.
"""

import dataclasses
import os
import tempfile
import time

from absl import app
from absl import flags
import numpy as np
import tf_keras

from ofa_tf.export import converter
from ofa_tf.export import recipes
from ofa_tf.export import targets
from ofa_tf.networks import build_static_model
from ofa_tf.search_space import get_space

_SPACE = flags.DEFINE_string("space", "ofa_mbv3_w1.0", "OFA search space.")
_RESOLUTION = flags.DEFINE_integer("resolution", 224, "Input resolution (pixels).")
_SUBNETS = flags.DEFINE_list("subnets", ["min", "mid", "max"], "OFA subnets: min, max, mid "
                             "(kernel 5, expand 4, depth 3 everywhere).")
_RUNS = flags.DEFINE_integer("runs", 30, "Timed invocations per model.")
_THREADS = flags.DEFINE_integer("threads", 1, "LiteRT threads.")


def keras_macs(model: tf_keras.Model) -> int:
  """Multiply-accumulates of a tf_keras model's Conv2D, DepthwiseConv2D and Dense layers."""
  total = 0
  for layer in model.layers:
    if isinstance(layer, tf_keras.layers.DepthwiseConv2D):
      _, h, w, c = layer.output_shape
      kh, kw = layer.kernel_size
      total += h * w * c * kh * kw
    elif isinstance(layer, tf_keras.layers.Conv2D):
      _, h, w, c = layer.output_shape
      kh, kw = layer.kernel_size
      total += h * w * c * kh * kw * layer.input_shape[-1] // layer.groups
    elif isinstance(layer, tf_keras.layers.Dense):
      total += layer.input_shape[-1] * layer.units
  return int(total)


def _subnet_config(space, name, r):
  if name == "min":
    return space.min_config(r)
  if name == "max":
    return space.max_config(r)
  if name == "mid":
    return dataclasses.replace(space.max_config(r), ks=(5,) * space.num_blocks,
                               e=(4,) * space.num_blocks, d=(3,) * space.num_stages)
  raise app.UsageError(f"unknown subnet {name!r}; use min, mid or max")


def _row(label, model, macs, recipe, images, workdir):
  path = os.path.join(workdir, f"{label.split()[0]}_{len(os.listdir(workdir))}.tflite")
  start = time.time()
  result = converter.export_tflite(model, recipe, images, path)
  convert_s = time.time() - start
  with open(path, "rb") as f:
    content = f.read()
  latency = targets.litert_latency_ms(content, num_threads=_THREADS.value,
                                      num_runs=_RUNS.value)
  return (f"| {label} | {macs / 1e6:.0f} | {model.count_params() / 1e6:.2f} | "
          f"{result.size_bytes / 1e6:.2f} | {latency:.2f} | {latency / (macs / 1e9):.1f} | "
          f"{convert_s:.0f} |")


def main(argv):
  del argv
  space = get_space(_SPACE.value)
  r = _RESOLUTION.value
  recipe = dataclasses.replace(recipes.get_recipe("cpu_int8"), num_calibration_samples=8)
  images = np.random.default_rng(0).uniform(-1, 1, (8, r, r, 3)).astype(np.float32)
  tf_keras.utils.set_random_seed(0)
  lines = [f"cpu_int8, LiteRT {_THREADS.value} thread(s), XNNPACK, batch 1, {r}x{r}; median of "
           f"{_RUNS.value} runs; load average at start "
           f"{', '.join(f'{v:.1f}' for v in os.getloadavg())}",
           "| model | MACs (M) | params (M) | file (MB) | latency (ms) | ms per GMAC | "
           "convert (s) |", "|---|---:|---:|---:|---:|---:|---:|"]
  with tempfile.TemporaryDirectory() as workdir:
    for name in _SUBNETS.value:
      config = _subnet_config(space, name, r)
      model = build_static_model(space.network_spec(config))
      lines.append(_row(f"OFA {space.name} {name} (d={config.d[0]}, e={config.e[0]}, "
                        f"k={config.ks[0]})", model, space.macs(config), recipe, images,
                        workdir))
    keras = tf_keras.applications.MobileNetV3Large(weights=None, input_shape=(r, r, 3))
    lines.append(_row("Keras MobileNetV3-Large (random weights)", keras, keras_macs(keras),
                      recipe, images, workdir))
  lines.append(f"load average at end {', '.join(f'{v:.1f}' for v in os.getloadavg())}")
  print("\n".join(lines))


if __name__ == "__main__":
  app.run(main)
