"""Tests for targets: subnet configs, BN recalibration, and the work directory -> files job."""

import os

import numpy as np
import tensorflow as tf
import tf_keras

from ofa_tf.data import load_dataset
from ofa_tf.export import targets
from ofa_tf.export import tflite_graph
from ofa_tf.networks import Supernet, build_supernet
from ofa_tf.networks import extract_subnet
from ofa_tf.search_space import get_space
from ofa_tf import workdir as workdir_lib


class SubnetConfigTest(tf.test.TestCase):

  def test_config_of_another_space_is_refused(self):
    other = get_space("ofa_mbv3_w1.0").min_config(160)
    with self.assertRaisesRegex(ValueError, "ofa_mbv3_w1.0.*ofa_mbv3_tiny|ofa_mbv3_tiny.*"
                                "ofa_mbv3_w1.0"):
      targets.load_subnet_config(other.to_json(), get_space("ofa_mbv3_tiny"))

  def test_reads_json_file(self):
    space = get_space("ofa_mbv3_tiny")
    path = os.path.join(self.get_temp_dir(), "chosen.json")
    with open(path, "w") as f:
      f.write(space.min_config(24).to_json())
    self.assertEqual(targets.load_subnet_config(path, space), space.min_config(24))


TINY_MODEL = os.path.join(os.path.dirname(__file__), "..", "..", "testdata", "latency",
                          "tiny_conv_fp32.tflite")


class DelegateLatencyTest(tf.test.TestCase):

  def test_times_both_cpu_delegates(self):
    with open(TINY_MODEL, "rb") as f:
      content = f.read()
    latencies = targets.delegate_latencies_ms(content, warmup_runs=1, num_runs=3)
    self.assertEqual(sorted(latencies), ["builtin", "xnnpack"])
    self.assertTrue(all(ms > 0 for ms in latencies.values()))

  def test_report_names_the_faster_delegate(self):
    row = dict(method="ptq", path="x.tflite", size_bytes=10, top1=0.5, keras_top1=0.5,
               agreement=1.0, edgetpu_mappable=None, edgetpu_ops="")
    latency, items = targets._latency_fields({"xnnpack": 1346.0, "builtin": 127.0})
    self.assertEqual(latency, 127.0)
    slow_7x7 = targets.TargetExport(target="cpu_int8", latency_ms=latency,
                                    delegate_latencies_ms=items, **row)
    self.assertEqual(slow_7x7.best_delegate, "builtin")
    latency, items = targets._latency_fields({"xnnpack": 13.0, "builtin": 60.0})
    fast = targets.TargetExport(target="cpu_int8", latency_ms=latency,
                                delegate_latencies_ms=items, **row)
    self.assertEqual(fast.best_delegate, "xnnpack")
    single = targets.TargetExport(target="cpu_fp32", latency_ms=2.5, **row)
    self.assertIsNone(single.best_delegate)
    table = targets.format_table([slow_7x7, fast, single])
    self.assertIn("| xnnpack 1346.00 / builtin 127.00 | builtin |", table)
    self.assertIn("| xnnpack 13.00 / builtin 60.00 | xnnpack |", table)
    self.assertIn("| 2.50 | - |", table)
    self.assertEqual(targets._latency_fields(None), (None, ()))
    with self.assertRaisesRegex(ValueError, "empty mapping"):
      targets._latency_fields({})


class RecalibrateStaticBnTest(tf.test.TestCase):

  def test_statistics_match_numpy(self):
    inputs = tf_keras.Input((6, 6, 2))
    x = tf_keras.layers.Conv2D(3, 1, use_bias=False, name="conv1")(inputs)
    x = tf_keras.layers.BatchNormalization(name="bn1")(x)
    x = tf_keras.layers.Conv2D(4, 1, use_bias=False, name="conv2")(x)
    x = tf_keras.layers.BatchNormalization(name="bn2", epsilon=1e-3)(x)
    model = tf_keras.Model(inputs, x)
    rng = np.random.default_rng(0)
    batches = [rng.normal(1, 2, (5, 6, 6, 2)).astype(np.float32) for _ in range(2)]
    self.assertEqual(targets.recalibrate_static_bn(model, batches), 10)
    k1 = model.get_layer("conv1").get_weights()[0][0, 0]
    k2 = model.get_layer("conv2").get_weights()[0][0, 0]
    g1, b1 = model.get_layer("bn1").get_weights()[:2]
    means = [[], []]
    variances = [[], []]
    for images in batches:  # Reference: BN in training mode (batch statistics) per batch.
      h = images.reshape(-1, 2) @ k1
      means[0].append(h.mean(0))
      variances[0].append(h.var(0))
      h = (h - h.mean(0)) / np.sqrt(h.var(0) + 1e-3) * g1 + b1
      h = h @ k2
      means[1].append(h.mean(0))
      variances[1].append(h.var(0))
    for i, name in enumerate(("bn1", "bn2")):
      bn = model.get_layer(name)
      self.assertAllClose(bn.moving_mean, np.mean(means[i], 0), rtol=1e-4, atol=1e-5)
      self.assertAllClose(bn.moving_variance, np.mean(variances[i], 0), rtol=1e-4, atol=1e-5)

  def test_empty(self):
    model = tf_keras.Sequential([tf_keras.Input((2, 2, 1)),
                                 tf_keras.layers.BatchNormalization()])
    with self.assertRaisesRegex(ValueError, "empty"):
      targets.recalibrate_static_bn(model, [])


class SupernetExportTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.space = get_space("ofa_mbv3_tiny")
    cls.supernet = build_supernet(cls.space)
    for v in cls.supernet.named_weights().values():
      v.assign(v + tf.random.normal(v.shape, stddev=0.05, seed=1))
    cls.data = load_dataset("digits")

  def test_extract_recalibrated_has_the_subnet_statistics(self):
    config = self.space.min_config(24)
    reference = extract_subnet(self.supernet, config)  # Before any in-place recalibration.
    supernet_variance = reference.get_layer("final_expand_bn").moving_variance.numpy()
    model = targets.extract_recalibrated(self.supernet, config.to_json(), self.data,
                                         num_images=64)
    targets.recalibrate_static_bn(reference, self.data.calibration_batches(64, 200, 24))
    for name in ("stem_bn", "block1_expand_bn", "final_expand_bn"):
      self.assertAllClose(model.get_layer(name).moving_mean,
                          reference.get_layer(name).moving_mean, atol=1e-4, rtol=1e-4)
      self.assertAllClose(model.get_layer(name).moving_variance,
                          reference.get_layer(name).moving_variance, atol=1e-4, rtol=1e-3)
    self.assertNotAllClose(model.get_layer("final_expand_bn").moving_variance,
                           supernet_variance)

  def test_workdir_to_int8_files(self):
    space, supernet, data = self.space, self.supernet, self.data
    wd = os.path.join(self.get_temp_dir(), "run")
    workdir_lib.save_supernet(wd, supernet)
    config = space.min_config(24)
    out = os.path.join(wd, "export")
    results = targets.export_for_targets(
        wd, config.to_json(), data, out, ("cpu_int8", "edgetpu_int8"),
        recalibration_images=64, max_eval_images=16,
        latency_fn=lambda content: targets.delegate_latencies_ms(content, num_runs=2))
    self.assertEqual([r.target for r in results], ["cpu_int8", "edgetpu_int8"])
    for r in results:
      self.assertTrue(os.path.exists(r.path))
      self.assertEqual(os.path.getsize(r.path), r.size_bytes)
      self.assertContainsSubset(tflite_graph.read_tflite(r.path).activation_dtypes(),
                                {"INT8", "UINT8"})
      self.assertBetween(r.top1, 0.0, 1.0)
      self.assertGreater(r.latency_ms, 0.0)
      by_delegate = dict(r.delegate_latencies_ms)
      self.assertEqual(sorted(by_delegate), ["builtin", "xnnpack"])
      self.assertEqual(r.latency_ms, min(by_delegate.values()))
      self.assertEqual(by_delegate[r.best_delegate], r.latency_ms)
    self.assertTrue(results[1].edgetpu_mappable)
    table = targets.format_table(results)
    self.assertRegex(table, r"\| cpu_int8 \| ptq \|.*\| xnnpack [0-9.]+ / builtin [0-9.]+ \| "
                     r"(xnnpack|builtin) \|")
    self.assertIn("| edgetpu_int8 | ptq |", table)
    with self.assertRaisesRegex(FileExistsError, "exists"):
      targets.export_for_targets(wd, config, data, out, ("cpu_int8",),
                                 recalibration_images=0)
    with self.assertRaisesRegex(ValueError, "unknown target"):
      targets.export_for_targets(wd, config, data, out, ("tpu_int3",),
                                 recalibration_images=0)
    other_space = config.replace(space="ofa_mbv3_w1.0")
    with self.assertRaisesRegex(ValueError, "belongs to space 'ofa_mbv3_w1.0'"):
      targets.export_for_targets(wd, other_space.to_json(), data,
                                 os.path.join(wd, "export_other"), ("cpu_int8",),
                                 recalibration_images=0)
    self.assertFalse(os.path.exists(os.path.join(wd, "export_other", "cpu_int8.tflite")))


if __name__ == "__main__":
  tf.test.main()
