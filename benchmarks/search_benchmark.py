r"""Benchmarks the predictor-guided evolutionary search.

Measured in one run, on one space and constraint:
  1. one full default search (population 100 x 500 generations), batched (the library);
  2. the same search scoring one candidate at a time (per-config `space.macs`/`space.params`
     and one predictor row per call), and the ratio;
  3. predictor inference on a batch of 100: NumPy forward pass vs. the tf_keras model;
  4. evolutionary vs. random search with the same number of predictor calls, on predicted
     accuracy at the same budget;
  5. the batched search on OFA-ResNet50 (18 blocks, widths and the stem's depth entry).

  python benchmarks/search_benchmark.py                          # random-init MLP, w1.0
  python benchmarks/search_benchmark.py --workdir=/tmp/ofa       # a trained predictor

Without --workdir the predictor is a seeded, randomly initialized 3 x 400 MLP on the space's
encoding: a black-box function with the real model's size, which is all the timings need.
"""

import time

from absl import app, flags
import numpy as np
import threadpoolctl

from ofa_tf.search.constraints import Constraint, Metrics
from ofa_tf.search.encoding import ArchEncoder
from ofa_tf.search.evolution import EvolutionConfig, evolutionary_search, random_search
from ofa_tf.search.accuracy_predictor import AccuracyPredictor
from ofa_tf.search_space import get_space

_WORKDIR = flags.DEFINE_string("workdir", None, "Work directory with accuracy_predictor/.")
_SPACE = flags.DEFINE_string("space", "ofa_mbv3_w1.0", "Space (without --workdir).")
_CONSTRAINTS = flags.DEFINE_multi_string("constraint", ["macs:300e6"], "Constraints.")
_SEED = flags.DEFINE_integer("seed", 0, "Search seed.")
_RESNET_CONSTRAINT = flags.DEFINE_string(
    "resnet_constraint", "macs:2e9",
    "Step 5: the batched search on ofa_resnet50 (random-init MLP) under this constraint.")


def random_predictor(space, seed=0, hidden=(400, 400, 400)):
  """A Glorot-uniform initialized MLP with the output bias at 75 (top-1 percent)."""
  rng = np.random.default_rng(seed)
  sizes = (ArchEncoder(space).dim,) + tuple(hidden) + (1,)
  weights = []
  for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    weights.append((rng.uniform(-limit, limit, (fan_in, fan_out)), np.zeros(fan_out)))
  weights[-1] = (weights[-1][0], np.array([75.0]))
  return AccuracyPredictor(space, weights)


class OneAtATimeMetrics(Metrics):
  """The naive scorer: one `NetworkSpec` per candidate (`space.macs` / `space.params`)."""

  def evaluate(self, key, genes):
    if key not in ("macs", "params", "int8_size_bytes"):
      return super().evaluate(key, genes)
    values = []
    for config in self.codec.decode(genes):
      if key == "macs":
        values.append(self.space.macs(config))
      else:
        params = self.space.params(config)
        values.append(params + (self.tables.int8_overhead_bytes if key != "params" else 0))
    return np.array(values, np.float64)


def one_at_a_time(predictor):
  def accuracy_fn(genes):
    return np.array([predictor.predict_genes(genes[i:i + 1])[0] for i in range(len(genes))])
  return accuracy_fn


def timed(fn):
  start = time.perf_counter()
  result = fn()
  return result, time.perf_counter() - start


def main(argv):
  del argv
  if _WORKDIR.value:
    predictor = AccuracyPredictor.load(f"{_WORKDIR.value}/accuracy_predictor")
    source = f"trained predictor of {_WORKDIR.value}"
  else:
    predictor = random_predictor(get_space(_SPACE.value), _SEED.value)
    source = "random-init 3x400 MLP"
  space = predictor.space
  constraints = [Constraint.parse(c) for c in _CONSTRAINTS.value]
  config = EvolutionConfig(seed=_SEED.value)
  print(f"space {space.name}, {source}, constraints {[str(c) for c in constraints]}, "
        f"population {config.population_size} x {config.generations} generations")

  metrics = Metrics(space)
  evo, batched_s = timed(lambda: evolutionary_search(metrics, predictor.predict_genes,
                                                     constraints, config))
  print(f"1. batched search:          {batched_s:7.2f} s  (limit 10 s: "
        f"{'OK' if batched_s <= 10 else 'OVER'}), best predicted top-1 "
        f"{evo.best.predicted_top1:.2f}, {evo.predictor_calls} predictor calls")
  naive, naive_s = timed(lambda: evolutionary_search(
      OneAtATimeMetrics(space, tables=metrics.tables), one_at_a_time(predictor), constraints,
      config))
  print(f"2. one candidate at a time: {naive_s:7.2f} s  -> batched is {naive_s / batched_s:.1f}x "
        f"faster (same result: {naive.best.config == evo.best.config})")

  features = predictor.encoder.encode_genes(metrics.codec.sample(np.random.default_rng(0), 100))
  repeats = 200
  with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):  # As the search runs it.
    _, numpy_s = timed(lambda: [predictor.predict_features(features) for _ in range(repeats)])
  model = predictor.keras_model()
  model(features)  # Build and warm up.
  _, keras_s = timed(lambda: [model(features, training=False) for _ in range(repeats)])
  model.predict(features, verbose=0)
  _, predict_s = timed(lambda: [model.predict(features, verbose=0) for _ in range(20)])
  print(f"3. predictor, batch of 100: NumPy (1 BLAS thread) {numpy_s / repeats * 1e3:.3f} ms, tf_keras "
        f"model(x) {keras_s / repeats * 1e3:.3f} ms, model.predict {predict_s / 20 * 1e3:.3f} ms")

  rand, rand_s = timed(lambda: random_search(metrics, predictor.predict_genes, constraints,
                                             evo.predictor_calls, seed=_SEED.value))
  print(f"4. same budget, {evo.predictor_calls} predictor calls each: evolution "
        f"{evo.best.predicted_top1:.2f} vs random {rand.best.predicted_top1:.2f} predicted "
        f"top-1 (random search took {rand_s:.2f} s)")
  for name, result in (("evolution", evo), ("random", rand)):
    values = ", ".join(f"{k}={v:.4g}" for k, v in result.best.metrics.items())
    print(f"   {name:9s} best: {values}")

  resnet = get_space("ofa_resnet50")
  resnet_metrics = Metrics(resnet)
  resnet_predictor = random_predictor(resnet, _SEED.value)
  best, resnet_s = timed(lambda: evolutionary_search(
      resnet_metrics, resnet_predictor.predict_genes,
      [Constraint.parse(_RESNET_CONSTRAINT.value)], config).best)
  print(f"5. ofa_resnet50 batched search ({_RESNET_CONSTRAINT.value}, random-init MLP): "
        f"{resnet_s:.2f} s (limit 2 s: {'OK' if resnet_s <= 2 else 'OVER'}), best "
        f"{best.metrics['macs'] / 1e9:.2f} GMACs, predicted top-1 {best.predicted_top1:.2f}")


if __name__ == "__main__":
  app.run(main)
