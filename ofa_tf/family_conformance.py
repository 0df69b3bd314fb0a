"""The conformance checks every registered supernet family passes (KerasHub's shared
`run_backbone_test`): a new family gets all of them by registering a space.

`FamilyConformance` is a mixin of `tf.test.TestCase`; a concrete test class sets `SPACE` (a
registered space name) and, for the full-size spaces, `RESOLUTION` (checks run at one
resolution, the smallest by default) and `NUM_CONFIGS`. The checks:
  * the extracted static model equals the supernet (<= 1e-4, eval and batch-statistics BN);
  * the masked and sliced execution modes agree on outputs and gradients (<= 1e-5; gradients
    relative to their tensor's largest entry when above 1), each
    traced once over `NUM_CONFIGS` configs;
  * the MACs/params counters equal `count_params()` of the extracted model;
  * config JSON and search genes round-trip;
  * channel re-organization keeps the function of the subnets trained so far (<= 1e-4 of
    the logits' scale);
  * the latency-table layer list covers every sampled subnet's layers;
  * extract -> `cpu_int8` -> LiteRT runs and agrees with Keras.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np
import tensorflow as tf

from ofa_tf import search_space as ss
from ofa_tf.latency import network_layers
from ofa_tf.networks import build_supernet, extract_subnet
from ofa_tf.networks.supernet_test_util import randomize
from ofa_tf.search.genes import GeneCodec


class FamilyConformance:
  """Mixin: set SPACE (and optionally RESOLUTION, NUM_CONFIGS) in the test class."""

  SPACE: str = ""
  RESOLUTION: int | None = None
  NUM_CONFIGS: int = 20

  def space(self) -> ss.SearchSpace:
    space = ss.get_space(self.SPACE).replace(dropout_rate=0.0)
    r = self.RESOLUTION or min(space.resolutions)
    return space.replace(resolutions=(r,))

  def configs(self, space, seed=1):
    rng = np.random.default_rng(seed)
    return [space.min_config(), space.max_config()] + [
        space.sample(rng) for _ in range(self.NUM_CONFIGS - 2)]

  def images(self, r, seed=0, batch=2):
    return tf.random.stateless_normal((batch, r, r, 3), seed=(seed, 7))

  def test_extraction_equals_supernet_and_counters_equal_count_params(self):
    space = self.space()
    supernet = build_supernet(space, execution_mode="masked")
    randomize(supernet)
    for i, config in enumerate(self.configs(space)):
      x = self.images(config.r, i)
      model = extract_subnet(supernet, config)
      self.assertEqual(model.count_params(), space.params(config, include_bn_statistics=True),
                       str(config))
      for training in (False, True):
        want = supernet(x, training=training, arch=supernet.arch_inputs(config), mode="masked")
        self.assertAllClose(model(x, training=training), want, atol=1e-4, rtol=0,
                            msg=f"{config} training={training}")

  def test_masked_equals_sliced_with_one_trace(self):
    space = self.space()
    supernet = build_supernet(space)
    randomize(supernet)
    traces = {"masked": 0, "sliced": 0}

    def make_step(mode):
      @tf.function
      def step(x, arch):
        traces[mode] += 1
        with tf.GradientTape() as tape:
          logits = supernet(x, training=True, arch=arch, mode=mode)
          loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
              tf.zeros([tf.shape(x)[0]], tf.int32), logits))
        return logits, tape.gradient(loss, supernet.trainable_variables)
      return step

    steps = {mode: make_step(mode) for mode in traces}
    stats = {k: v.numpy() for k, v in supernet.named_weights().items() if "moving" in k}
    for i, config in enumerate(self.configs(space, seed=11)):
      x = self.images(config.r, 100 + i)
      arch = supernet.arch_inputs(config)
      outputs = {}
      for mode, step in steps.items():
        for k, v in stats.items():  # Same BN statistics before each mode's step.
          supernet.named_weights()[k].assign(v)
        outputs[mode] = step(x, arch)
      (lm, gm), (ls, gs) = outputs["masked"], outputs["sliced"]
      self.assertAllClose(lm, ls, atol=1e-5, msg=str(config))
      for a, b, v in zip(gm, gs, supernet.trainable_variables):
        a = tf.zeros_like(v) if a is None else tf.convert_to_tensor(a)
        b = tf.zeros_like(v) if b is None else tf.convert_to_tensor(b)
        # float32 round-off scales with the tensor: 1e-5 of its largest entry (at least 1e-5).
        scale = max(1.0, float(tf.reduce_max(tf.abs(b))))
        self.assertAllClose(a, b, atol=1e-5 * scale, msg=f"config {i} {v.name}")
    self.assertEqual(traces, {"masked": 1, "sliced": 1})

  def test_config_json_and_genes_round_trip(self):
    space = ss.get_space(self.SPACE)
    configs = self.configs(space, seed=5)
    for config in configs:
      self.assertEqual(ss.SubnetConfig.from_json(config.to_json()), config)
      self.assertEqual(ss.space_from_dict(space.to_dict()).validate(config), config)
    codec = GeneCodec(space)
    genes = codec.encode(configs)
    self.assertEqual(codec.decode(genes), configs)
    sampled = codec.decode(codec.sample(np.random.default_rng(2), 30))
    self.assertEqual(codec.decode(codec.encode(sampled)), sampled)
    self.assertEqual(codec.decode(codec.canonical(genes)), [space.canonical(c) for c in configs])

  def test_reorganization_keeps_trained_subnets(self):
    space = self.space()
    supernet = build_supernet(space)
    randomize(supernet, seed=4)
    last = space.shrinking_order()[-1][1]
    trained = {d: tuple(last[d])[1:] for d in space.reorganize_dims}
    kept = [space.max_config()] + [
        space.extreme_config(True, restrictions={d: (values[0],)})
        for d, values in trained.items()]
    x = self.images(kept[0].r, 3)
    before = [supernet(x, arch=supernet.arch_inputs(c)) for c in kept]
    supernet.reorganize(trained)
    for config, want in zip(kept, before):
      # Re-sorted channels re-order float32 sums: 1e-4 of the logits' scale (at least 1e-4).
      # Full-size OFA-ResNet50 at 128 px: a pure permutation of every channel group moves
      # logits of O(5) by 3.2e-4.
      scale = max(1.0, float(tf.reduce_max(tf.abs(want))))
      self.assertAllClose(supernet(x, arch=supernet.arch_inputs(config)), want,
                          atol=1e-4 * scale, msg=str(config))

  def test_latency_table_layers_cover_every_subnet(self):
    space = ss.get_space(self.SPACE)
    rs = sorted({min(space.resolutions), max(space.resolutions)})
    table = {r: {l.key for l in layers}
             for r, layers in network_layers.space_layers(space, rs).items()}
    rng = np.random.default_rng(9)
    for _ in range(self.NUM_CONFIGS):
      config = space.sample(rng, resolutions=rs)
      keys = {l.key for l in network_layers.network_layers(space.network_spec(config))}
      self.assertEmpty(keys - table[config.r], str(config))

  def test_extract_export_cpu_int8_runs_in_litert_and_agrees(self):
    from ofa_tf.export import converter  # pylint: disable=g-import-not-at-top
    space = self.space()
    supernet = build_supernet(space)
    randomize(supernet, seed=6)
    config = space.sample(np.random.default_rng(4))
    model = extract_subnet(supernet, config)
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (32, config.r, config.r, 3)).astype(np.float32)
    with tempfile.TemporaryDirectory() as d:
      result = converter.export_tflite(model, "cpu_int8", images, os.path.join(d, "m.tflite"))
    check = result.check
    logits = model.predict(images, verbose=0)
    # int8 logits track the float ones (random weights: compare to the logits' spread).
    self.assertLess(check.mean_abs_diff, 0.1 * float(np.std(logits)) + 1e-3, str(check))
    self.assertGreaterEqual(check.top1_agreement, 0.75, str(check))
