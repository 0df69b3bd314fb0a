"""Training-step time of the OFA supernet vs. extracted static subnets (not a test).

All figures come from one run in one process:
  1. largest subnet, supernet train step / static extracted model train step, per execution
     mode (targets: <= 1.5 masked, <= 1.2 sliced);
  2. mean train step over random subnets, sliced / masked (target <= 0.6).

A train step is forward + backward + SGD (Nesterov 0.9) update on one batch, traced once
(`tf.function`; the supernet gets the subnet as arch tensors). Times are medians in ms over
`--rounds` x `--steps` steps after warm-up, the runs interleaved round by round.

  PYTHONPATH=. python benchmarks/train_step_benchmark.py [--space=ofa_mbv3_tiny]
      [--resolution=32] [--batch_size=32] [--rounds=6] [--steps=5]
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
flags.DEFINE_integer("rounds", 6, "Interleaved rounds; every run is timed in each round.")
flags.DEFINE_integer("steps", 5, "Timed steps per run and round (after 2 warm-up steps).")
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


def _measure(runs: dict, rounds: int, steps: int, seed: int) -> dict:
  """Median ms per step of each run, timed in interleaved rounds.

  `runs` maps a name to (step, batches, args_per_step). Every round times `steps` steps of each
  run, in a shuffled order, so that slow and fast phases of the host (this VM's speed changes
  1.7x for seconds at a time) fall on every run alike and the ratios stay comparable. Each
  step runs on its own batch and args and is synchronized by `.numpy()`.
  """
  for step, batches, args_per_step in runs.values():  # Trace and warm up.
    for i in range(2):
      step(*batches[i % len(batches)], *args_per_step[i % len(args_per_step)]).numpy()
  order = list(runs)
  times = {name: [] for name in runs}
  rng = np.random.default_rng(seed)
  for r in range(rounds):
    for name in order:
      step, batches, args_per_step = runs[name]
      for i in range(r * steps, (r + 1) * steps):
        start = time.perf_counter()
        step(*batches[i % len(batches)], *args_per_step[i % len(args_per_step)]).numpy()
        times[name].append(1000 * (time.perf_counter() - start))
    rng.shuffle(order)
  return {name: statistics.median(t) for name, t in times.items()}


def main(argv):
  del argv
  r, b = FLAGS.resolution, FLAGS.batch_size
  space = get_space(FLAGS.space).replace(resolutions=(r,))
  rng = np.random.default_rng(FLAGS.seed)
  batches = [(tf.constant(rng.normal(size=(b, r, r, 3)), tf.float32),
              tf.constant(rng.integers(0, space.num_classes, b), tf.int32)) for _ in range(4)]
  largest = space.max_config()
  subnets = [space.sample(rng) for _ in range(FLAGS.rounds * FLAGS.steps)]
  runs = {}
  for mode in ("masked", "sliced"):
    supernet = OFAMobileNetV3(space, execution_mode=mode)
    step = _step_fn(supernet, supernet.trainable_variables,
                    lambda x, arch, net=supernet: net(x, training=True, arch=arch))
    runs[f"{mode} supernet, largest"] = (step, batches, [(supernet.arch_inputs(largest),)])
    runs[f"{mode} supernet, random subnets"] = (
        step, batches, [(supernet.arch_inputs(c),) for c in subnets])
  static = extract_subnet(OFAMobileNetV3(space), largest)
  step = _step_fn(static, static.trainable_variables, lambda x: static(x, training=True))
  runs["static extracted, largest"] = (step, batches, [()])
  results = _measure(runs, FLAGS.rounds, FLAGS.steps, FLAGS.seed)

  load = os.getloadavg()[0]
  print(f"space {space.name}, resolution {r}, batch {b}, median of {FLAGS.rounds} x "
        f"{FLAGS.steps} steps in interleaved rounds, "
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
