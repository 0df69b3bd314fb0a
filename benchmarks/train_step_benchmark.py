"""Training-step time of the OFA supernet vs. extracted static subnets (not a test).

All figures come from one run in one process:
  1. largest subnet, supernet train step / static extracted model train step, per execution
     mode (targets: <= 1.5 masked, <= 1.2 sliced);
  2. mean train step over random subnets, sliced / masked (target <= 0.6).

A train step is forward + backward + SGD (Nesterov 0.9) update on one batch, traced once
(`tf.function`; the supernet gets the subnet as arch tensors). Times are medians over
`--steps` steps after warm-up, in ms.

  PYTHONPATH=. python benchmarks/train_step_benchmark.py [--space=ofa_mbv3_tiny]
      [--resolution=32] [--batch_size=32] [--steps=20]
"""

import os
import statistics
import time

from absl import app
from absl import flags
import numpy as np
import tensorflow as tf
import tf_keras

from ofa_tf.networks import OFAMobileNetV3, extract_subnet
from ofa_tf.search_space import get_space

FLAGS = flags.FLAGS
flags.DEFINE_string("space", "ofa_mbv3_tiny", "Registered search space.")
flags.DEFINE_integer("resolution", 32, "Input resolution (pixels).")
flags.DEFINE_integer("batch_size", 32, "Batch size.")
flags.DEFINE_integer("steps", 20, "Timed steps per measurement (after 2 warm-up steps).")
flags.DEFINE_integer("seed", 0, "Seed of the random subnets and data.")


def _step_fn(model, variables, call):
  optimizer = tf_keras.optimizers.SGD(0.01, momentum=0.9, nesterov=True)
  optimizer.build(variables)

  @tf.function
  def step(images, labels, *args):
    with tf.GradientTape() as tape:
      logits = call(images, *args)
      loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits))
    grads = tape.gradient(loss, variables, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    optimizer.apply_gradients(zip(grads, variables))
    return loss
  del model
  return step


def _time(step, batches, args_per_step) -> float:
  """Median ms per step; each step runs on its own batch and args (synchronized by .numpy())."""
  for i in range(2):
    step(*batches[i % len(batches)], *args_per_step[i % len(args_per_step)]).numpy()
  times = []
  for i in range(FLAGS.steps):
    start = time.perf_counter()
    step(*batches[i % len(batches)], *args_per_step[i % len(args_per_step)]).numpy()
    times.append(1000 * (time.perf_counter() - start))
  return statistics.median(times)


def main(argv):
  del argv
  r, b = FLAGS.resolution, FLAGS.batch_size
  space = get_space(FLAGS.space).replace(resolutions=(r,))
  rng = np.random.default_rng(FLAGS.seed)
  batches = [(tf.constant(rng.normal(size=(b, r, r, 3)), tf.float32),
              tf.constant(rng.integers(0, space.num_classes, b), tf.int32)) for _ in range(4)]
  largest = space.max_config()
  subnets = [space.sample(rng) for _ in range(FLAGS.steps)]
  results = {}
  for mode in ("masked", "sliced"):
    supernet = OFAMobileNetV3(space, execution_mode=mode)
    step = _step_fn(supernet, supernet.trainable_variables,
                    lambda x, arch, net=supernet: net(x, training=True, arch=arch))
    results[f"{mode} supernet, largest"] = _time(step, batches,
                                                 [(supernet.arch_inputs(largest),)])
    archs = [(supernet.arch_inputs(c),) for c in subnets]
    results[f"{mode} supernet, random subnets"] = _time(step, batches, archs)
  static = extract_subnet(OFAMobileNetV3(space), largest)
  step = _step_fn(static, static.trainable_variables, lambda x: static(x, training=True))
  results["static extracted, largest"] = _time(step, batches, [()])

  load = os.getloadavg()[0]
  print(f"space {space.name}, resolution {r}, batch {b}, median of {FLAGS.steps} steps, "
        f"load average {load:.2f} on {os.cpu_count()} CPUs")
  print(f"{'measurement':<36} {'ms/step':>9}")
  for name, ms in results.items():
    print(f"{name:<36} {ms:9.1f}")
  static_ms = results["static extracted, largest"]
  ratios = {
      "masked largest / static (<= 1.5)": results["masked supernet, largest"] / static_ms,
      "sliced largest / static (<= 1.2)": results["sliced supernet, largest"] / static_ms,
      "random subnets sliced / masked (<= 0.6)": (results["sliced supernet, random subnets"] /
                                                  results["masked supernet, random subnets"]),
  }
  for name, ratio in ratios.items():
    print(f"{name:<44} {ratio:6.2f}")


if __name__ == "__main__":
  app.run(main)
