"""Training-step time of the OFA supernet vs. extracted static subnets (not a test).

All figures come from one run in one process:
  1. largest subnet, supernet train step / static extracted model train step, per execution
     mode (targets: <= 1.5 masked, <= 1.2 sliced);
  2. mean train step over random subnets, sliced / masked (target <= 0.6).

A train step is forward + backward + SGD (Nesterov 0.9) update on one batch, traced once
(`tf.function`; the supernet gets the subnet as arch tensors). Times in ms, after warm-up, the
runs interleaved round by round: per step (or per random subnet) the median over `--rounds`
rounds, then the mean over steps (subnets).

  PYTHONPATH=. python benchmarks/train_step_benchmark.py [--space=ofa_mbv3_tiny]
      [--resolution=32] [--batch_size=32] [--rounds=6] [--steps=5] [--subnets=12]
"""

import os
import statistics
import time

from absl import app
from absl import flags
import numpy as np
import tensorflow as tf
import tf_keras

from ofa_tf.networks import Supernet, build_supernet, extract_subnet
from ofa_tf.search_space import get_space

FLAGS = flags.FLAGS
flags.DEFINE_string("space", "ofa_mbv3_tiny", "Registered search space.")
flags.DEFINE_integer("resolution", 32, "Input resolution (pixels).")
flags.DEFINE_integer("batch_size", 32, "Batch size.")
flags.DEFINE_integer("rounds", 6, "Interleaved rounds; every run is timed in each round.")
flags.DEFINE_integer("steps", 5, "Timed steps of the largest-subnet runs per round.")
flags.DEFINE_integer("subnets", 12, "Random subnets; each is timed once per round.")
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


def _measure(runs: dict, batches: list, rounds: int, seed: int) -> dict:
  """Mean ms per step of each run, timed in interleaved rounds.

  `runs` maps a name to (step, args_list). Every round times one step per entry of each run's
  `args_list` (step i on batch i mod len(batches); `.numpy()` synchronizes), the runs in a
  shuffled order, so that slow and fast phases of the host (this VM's speed changes 1.7x for
  seconds at a time) fall on every run alike and the ratios stay comparable. A run's figure is
  the mean over its entries of each entry's median over the rounds: for random subnets, the
  mean step time over the subnets.
  """
  for step, args_list in runs.values():  # Trace and warm up.
    for i in range(2):
      step(*batches[i % len(batches)], *args_list[i % len(args_list)]).numpy()
  order = list(runs)
  times = {name: [[] for _ in args_list] for name, (_, args_list) in runs.items()}
  rng = np.random.default_rng(seed)
  for _ in range(rounds):
    rng.shuffle(order)
    for name in order:
      step, args_list = runs[name]
      for i, args in enumerate(args_list):
        start = time.perf_counter()
        step(*batches[i % len(batches)], *args).numpy()
        times[name][i].append(1000 * (time.perf_counter() - start))
  return {name: statistics.mean(statistics.median(t) for t in per_entry)
          for name, per_entry in times.items()}


def main(argv):
  del argv
  r, b = FLAGS.resolution, FLAGS.batch_size
  space = get_space(FLAGS.space).replace(resolutions=(r,))
  rng = np.random.default_rng(FLAGS.seed)
  batches = [(tf.constant(rng.normal(size=(b, r, r, 3)), tf.float32),
              tf.constant(rng.integers(0, space.num_classes, b), tf.int32)) for _ in range(4)]
  largest = space.max_config()
  subnets = [space.sample(rng) for _ in range(FLAGS.subnets)]
  runs = {}
  for mode in ("masked", "sliced"):
    supernet = build_supernet(space, execution_mode=mode)
    step = _step_fn(supernet, supernet.trainable_variables,
                    lambda x, arch, net=supernet: net(x, training=True, arch=arch))
    runs[f"{mode} supernet, largest"] = (step, [(supernet.arch_inputs(largest),)] * FLAGS.steps)
    runs[f"{mode} supernet, random subnets"] = (
        step, [(supernet.arch_inputs(c),) for c in subnets])
  static = extract_subnet(build_supernet(space), largest)
  step = _step_fn(static, static.trainable_variables, lambda x: static(x, training=True))
  runs["static extracted, largest"] = (step, [()] * FLAGS.steps)
  results = _measure(runs, batches, FLAGS.rounds, FLAGS.seed)

  load = os.getloadavg()[0]
  print(f"space {space.name}, resolution {r}, batch {b}, {FLAGS.rounds} interleaved rounds "
        f"({FLAGS.steps} steps of the largest subnet, {FLAGS.subnets} random subnets each), "
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
