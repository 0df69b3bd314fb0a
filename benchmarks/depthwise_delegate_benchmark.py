r"""Single depthwise-convolution layers timed in LiteRT with XNNPACK and with the builtin kernels.

The source of the 7x7 finding in ofa_tf/latency/README.md (issue 17). Each case is one
`DepthwiseConv2D` (H x W x C input, kernel k, stride s, no bias-add or activation beyond what
the converter fuses) converted with the project's precision recipes
(`ofa_tf.latency.layer_models.convert`: 'fp32', or 'int8' full-integer PTQ with int8 I/O), in
two paddings: 'same' inside the op, and 'pad' = an explicit symmetric `ZeroPadding2D`
(a TFLite PAD op) followed by a 'valid' convolution, as the static subnet builder emits
(`networks/static_network.py`, `_pad_for`). Every model is timed in-process, one thread,
under two op resolvers of the same interpreter:

  xnnpack   OpResolverType.AUTO (the default: XNNPACK delegate applied)
  builtin   OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES (LiteRT's own optimized kernels)

Timing: `ofa_tf.latency.litert_runner.time_interpreter` with the thread-CPU clock, fastest of
--runs invokes after --warmup untimed ones (the `cpu_xnnpack_1t*` estimator); the ratio
column is xnnpack / builtin. The host, LiteRT version and load average are printed first.

  nice -n 5 python benchmarks/depthwise_delegate_benchmark.py
  nice -n 5 python benchmarks/depthwise_delegate_benchmark.py --channels=144,72,16 \
      --kernels=3,5,7 --strides=1 --paddings=pad --precisions=int8
"""

import itertools
import os

from absl import app
from absl import flags
import numpy as np
import tf_keras

from ofa_tf.latency import host
from ofa_tf.latency import layer_models
from ofa_tf.latency import litert_runner

_HW = flags.DEFINE_integer("hw", 40, "Input height and width.")
_CHANNELS = flags.DEFINE_list("channels", ["144"], "Channel counts.")
_KERNELS = flags.DEFINE_list("kernels", ["3", "5", "7"], "Kernel sizes.")
_STRIDES = flags.DEFINE_list("strides", ["1", "2"], "Strides.")
_PADDINGS = flags.DEFINE_list("paddings", ["same", "pad"], "'same' or 'pad' (explicit PAD).")
_PRECISIONS = flags.DEFINE_list("precisions", ["fp32", "int8"], "Precision recipes.")
_RUNS = flags.DEFINE_integer("runs", 20, "Timed invokes per model and resolver.")
_WARMUP = flags.DEFINE_integer("warmup", 3, "Untimed invokes first.")

RESOLVERS = {"xnnpack": True, "builtin": False}


def depthwise_model(hw: int, channels: int, kernel: int, stride: int,
                    padding: str) -> tf_keras.Model:
  """One depthwise layer, float32 (1, hw, hw, channels) NHWC in, ReLU out.

  Args:
    padding: 'same' (padding inside the op) or 'pad' (ZeroPadding2D(kernel // 2) + 'valid').
  """
  inputs = tf_keras.layers.Input((hw, hw, channels), batch_size=1)
  x = inputs
  if padding == "pad":
    x = tf_keras.layers.ZeroPadding2D(kernel // 2)(x)
  elif padding != "same":
    raise ValueError(f"padding must be 'same' or 'pad', got {padding!r}")
  x = tf_keras.layers.DepthwiseConv2D(kernel, strides=stride,
                                      padding="valid" if padding == "pad" else "same")(x)
  return tf_keras.Model(inputs, tf_keras.layers.ReLU()(x))


def time_model(content: bytes, use_xnnpack: bool, warmup: int, runs: int) -> float:
  """Fastest of `runs` invokes (ms, thread-CPU clock), 1 thread."""
  interp = litert_runner.make_interpreter(content, 1, use_xnnpack)
  litert_runner.fill_random_inputs(interp, np.random.default_rng(0))
  return litert_runner.time_interpreter(interp, warmup, runs, 1, cpu_clock=True).min_ms


def main(argv):
  del argv
  fingerprint = host.host_fingerprint()
  print(f"host: {host.describe(fingerprint)}; load average {os.getloadavg()}")
  print("| precision | C | kernel | stride | padding | xnnpack ms | builtin ms | xnnpack/builtin |")
  print("|---|---:|---:|---:|---|---:|---:|---:|")
  for precision, c, k, s, padding in itertools.product(
      _PRECISIONS.value, _CHANNELS.value, _KERNELS.value, _STRIDES.value, _PADDINGS.value):
    tf_keras.backend.clear_session()
    content = layer_models.convert(depthwise_model(_HW.value, int(c), int(k), int(s), padding),
                                   precision)
    ms = {name: time_model(content, xnn, _WARMUP.value, _RUNS.value)
          for name, xnn in RESOLVERS.items()}
    print(f"| {precision} | {c} | {k} | {s} | {padding} | {ms['xnnpack']:.3f} | "
          f"{ms['builtin']:.3f} | {ms['xnnpack'] / ms['builtin']:.1f}x |", flush=True)


if __name__ == "__main__":
  app.run(main)
