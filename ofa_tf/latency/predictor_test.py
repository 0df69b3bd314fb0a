"""Tests of the efficiency predictor, including the released Note10 tables."""

import os
import shutil
import warnings

import numpy as np
import tensorflow as tf

from ofa_tf.latency import host
from ofa_tf.latency import lut
from ofa_tf.latency import network_layers
from ofa_tf.latency import predictor as pl
from ofa_tf.search_space import SubnetConfig, count_macs, get_space

NOTE10 = "/work/shared/reference/ofa_note10_lut"
_LOCAL = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "reference",
                      "ofa_note10_lut")
if os.path.isdir(_LOCAL):
  NOTE10 = _LOCAL

# A w1.2 subnet at r=224: stage depths 2,3,2,4,2; kernels/expands per elastic block
# (inactive blocks hold values that must not count).
W12_CONFIG = SubnetConfig(
    ks=(3, 5, 7, 7, 5, 3, 3, 3, 7, 7, 3, 3, 3, 5, 7, 3, 7, 5, 5, 5),
    e=(4, 6, 3, 3, 3, 3, 6, 4, 6, 4, 6, 6, 3, 4, 6, 3, 6, 3, 4, 4),
    d=(2, 3, 2, 4, 2), r=224, space="ofa_mbv3_w1.2")
# The same subnet written out by hand as Note10 keys (w1.2 widths 24 | 24 32 48 96 136 192,
# mid = make_divisible(in * e, 8), SE in stages 2, 4, 5, h-swish in stages 3-5).
W12_KEYS = (
    "Conv-input:224x224x3-output:112x112x24",
    "expanded_conv-input:112x112x24-output:112x112x24-expand:24-kernel:3-stride:1-idskip:1-se:0-hs:0",
    "expanded_conv-input:112x112x24-output:56x56x32-expand:96-kernel:3-stride:2-idskip:0-se:0-hs:0",
    "expanded_conv-input:56x56x32-output:56x56x32-expand:192-kernel:5-stride:1-idskip:1-se:0-hs:0",
    "expanded_conv-input:56x56x32-output:28x28x48-expand:96-kernel:5-stride:2-idskip:0-se:1-hs:0",
    "expanded_conv-input:28x28x48-output:28x28x48-expand:144-kernel:3-stride:1-idskip:1-se:1-hs:0",
    "expanded_conv-input:28x28x48-output:28x28x48-expand:288-kernel:3-stride:1-idskip:1-se:1-hs:0",
    "expanded_conv-input:28x28x48-output:14x14x96-expand:288-kernel:7-stride:2-idskip:0-se:0-hs:1",
    "expanded_conv-input:14x14x96-output:14x14x96-expand:384-kernel:7-stride:1-idskip:1-se:0-hs:1",
    "expanded_conv-input:14x14x96-output:14x14x136-expand:288-kernel:3-stride:1-idskip:0-se:1-hs:1",
    "expanded_conv-input:14x14x136-output:14x14x136-expand:544-kernel:5-stride:1-idskip:1-se:1-hs:1",
    "expanded_conv-input:14x14x136-output:14x14x136-expand:816-kernel:7-stride:1-idskip:1-se:1-hs:1",
    "expanded_conv-input:14x14x136-output:14x14x136-expand:408-kernel:3-stride:1-idskip:1-se:1-hs:1",
    "expanded_conv-input:14x14x136-output:7x7x192-expand:816-kernel:7-stride:2-idskip:0-se:1-hs:1",
    "expanded_conv-input:7x7x192-output:7x7x192-expand:576-kernel:5-stride:1-idskip:1-se:1-hs:1",
    "Conv_1-input:7x7x192-output:7x7x1152",
    "AvgPool2D-input:7x7x1152-output:1x1x1152",
    "Conv_2-input:1x1x1152-output:1x1x1536",
    "Logits-input:1x1x1536-output:1000",
)


class Note10Test(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.table = lut.load_note10_tables(NOTE10)
    self.space = get_space("ofa_mbv3_w1.2")

  def test_w12_subnet_sum_equals_hand_sum(self):
    hand = sum(self.table.entries[224][k].mean for k in W12_KEYS)
    pred = pl.EfficiencyPredictor(self.table, self.space)
    self.assertAllClose(pred.table_sum(W12_CONFIG), hand, rtol=1e-12)
    self.assertAllClose(pred.latency(W12_CONFIG), hand, rtol=1e-12)

  def test_batch_matches_single(self):
    pred = pl.EfficiencyPredictor(self.table, self.space)
    rng = np.random.default_rng(0)
    configs = [self.space.sample(rng, resolutions=self.table.resolutions) for _ in range(200)]
    values = pred.latency_batch(configs)
    self.assertEqual(values.shape, (200,))
    for c, v in zip(configs[:20], values[:20]):
      self.assertAllClose(v, pred.table_sum(c), rtol=1e-9)

  def test_load_predictor_by_profile_name(self):
    tables = self.get_temp_dir()
    shutil.copytree(NOTE10, os.path.join(tables, "note10"))
    latency_fn = pl.load_latency_fn(tables, "note10")
    hand = sum(self.table.entries[224][k].mean for k in W12_KEYS)
    self.assertAllClose(latency_fn([W12_CONFIG]), [hand], rtol=1e-12)
    with self.assertRaisesRegex(FileNotFoundError, r"no latency table for profile 'pixel4'.*note10"):
      pl.load_latency_fn(tables, "pixel4")

  def test_errors(self):
    with self.assertRaisesRegex(ValueError, "built for space 'ofa_mbv3_w1.2', not 'ofa_mbv3_w1.0'"):
      pl.EfficiencyPredictor(self.table, get_space("ofa_mbv3_w1.0"))
    pred = pl.EfficiencyPredictor(self.table, self.space)
    with self.assertRaisesRegex(lut.MissingEntryError, "no resolution 128"):
      pred.latency(W12_CONFIG.replace(r=128))
    del self.table.entries[224]["Conv_1-input:7x7x192-output:7x7x1152"]
    pred = pl.EfficiencyPredictor(self.table, self.space)
    with self.assertRaisesRegex(lut.MissingEntryError, "lacks layer 'Conv_1-input:7x7x192"):
      pred.latency(W12_CONFIG)

  def test_resnet_batch_equals_the_sum_of_its_layer_keys(self):
    from ofa_tf.latency import network_layers  # pylint: disable=g-import-not-at-top
    space = get_space("ofa_resnet50_tiny").replace(resolutions=(16, 32))
    rng = np.random.default_rng(3)
    table = lut.LatencyTable(metadata={"space": space.name})
    for r, layers in network_layers.space_layers(space, space.resolutions).items():
      for layer in layers:
        table.put(r, layer.key, lut.LutEntry(float(rng.uniform(0.1, 2.0))))
    pred = pl.EfficiencyPredictor(table, space)
    configs = [space.sample(rng) for _ in range(40)] + [space.min_config(), space.max_config()]
    self.assertAllClose(pred.latency_batch(configs), [pred.table_sum(c) for c in configs],
                        rtol=1e-12)

  def test_other_metrics(self):
    pred = pl.EfficiencyPredictor(self.table, self.space)
    m = pred.metrics(W12_CONFIG)
    self.assertEqual(m["macs"], count_macs(self.space.network_spec(W12_CONFIG)))
    self.assertGreater(m["params"], 0)
    self.assertGreater(m["tflite_bytes"], 3 * m["params"])


SHIPPED_INT8 = os.path.join(os.path.dirname(__file__), "..", "..", "testdata", "latency",
                            "tables", "w10_cpu_xnnpack_1t_int8.json")
XEON_AMX = {"cpu_model": "Intel(R) Xeon(R) CPU @ 2.00GHz", "machine": "x86_64",
            "isa_flags": ["amx_int8", "amx_tile", "avx2", "avx512_vnni", "avx512f"],
            "litert": "2.3.0", "cpu_count": 2, "profile": "cpu_xnnpack_1t_int8",
            "num_threads": 1}


class HostCheckTest(tf.test.TestCase):
  """A table measured on another host warns (or is refused); remote-device tables are not
  checked; tables from before fingerprints load with a warning."""

  def setUp(self):
    super().setUp()
    self.table = lut.load_table(SHIPPED_INT8)
    self.space = get_space("ofa_mbv3_w1.0").replace(resolutions=self.table.resolutions)
    self.here = host.host_fingerprint()

  def _save(self, table_host, name="cpu_xnnpack_1t_int8"):
    self.table.metadata["host"] = table_host
    tables = self.get_temp_dir()
    lut.save_table(self.table, os.path.join(tables, name + ".json"))
    return tables

  def test_table_from_another_host_warns_naming_both(self):
    tables = self._save(dict(XEON_AMX, cpu_model="Intel(R) Xeon(R) CPU @ 2.00GHz (test)"))
    with self.assertWarns(UserWarning) as ctx:
      pred = pl.load_predictor(tables, "cpu_xnnpack_1t_int8")
    message = str(ctx.warning)
    self.assertIn("measured on another host", message)
    self.assertIn("Intel(R) Xeon(R) CPU @ 2.00GHz (test)", message)
    self.assertIn(self.here["cpu_model"], message)
    self.assertIn("cpu_xnnpack_1t_int8.json", message)
    self.assertGreater(pred.latency(self.space.min_config(160)), 0.0)  # Still usable.

  def test_table_from_another_host_refused_on_error(self):
    tables = self._save(dict(XEON_AMX, cpu_model="Some other CPU"))
    with self.assertRaisesRegex(host.HostMismatchError, "Some other CPU"):
      pl.load_latency_fn(tables, "cpu_xnnpack_1t_int8", host_check="error")
    with warnings.catch_warnings():
      warnings.simplefilter("error")  # Accepted explicitly: no warning.
      pl.load_latency_fn(tables, "cpu_xnnpack_1t_int8", host_check="ignore")

  def test_table_of_this_host_is_silent(self):
    tables = self._save(dict(self.here, profile="cpu_xnnpack_1t_int8", num_threads=1))
    with warnings.catch_warnings():
      warnings.simplefilter("error")
      pl.load_predictor(tables, "cpu_xnnpack_1t_int8", host_check="error")

  def test_table_without_fingerprint_warns_not_crashes(self):
    # Tables written before fingerprints existed (the shipped ones until they were rebuilt)
    # have no host entry.
    self.table.metadata.pop("host", None)
    with self.assertWarnsRegex(UserWarning, "no host fingerprint"):
      pred = pl.EfficiencyPredictor(self.table, self.space, table_name=SHIPPED_INT8)
    self.assertGreater(pred.latency(self.space.max_config(224)), 0.0)

  def test_remote_device_tables_are_not_checked(self):
    self.table.metadata["device"] = dict(self.table.metadata["device"], runner="benchmark_model",
                                         adb=True)
    with warnings.catch_warnings():
      warnings.simplefilter("error")
      pl.EfficiencyPredictor(self.table, self.space, host_check="error")
      pl.EfficiencyPredictor(lut.load_note10_tables(NOTE10), get_space("ofa_mbv3_w1.2"),
                             host_check="error")

  def test_table_of_another_profile_refused(self):
    tables = self._save(dict(self.here), name="cpu_builtin_1t_int8")
    with self.assertRaisesRegex(ValueError, "built for device profile 'cpu_xnnpack_1t_int8', "
                                "not 'cpu_builtin_1t_int8'"):
      pl.load_predictor(tables, "cpu_builtin_1t_int8")


class CorrectionTest(tf.test.TestCase):

  def test_fit_recovers_a_line(self):
    sums = np.array([5.0, 10.0, 20.0, 40.0])
    c = pl.fit_correction(sums, 0.3 + 1.1 * sums)
    self.assertAllClose([c.intercept_ms, c.slope], [0.3, 1.1])
    self.assertEqual(c.num_subnets, 4)
    self.assertEqual(pl.Correction.from_dict(c.to_dict()), c)
    noisy = 0.3 + 1.1 * sums
    noisy = np.append(noisy, 1.5 * (0.3 + 1.1 * 30.0))
    c = pl.fit_correction(np.append(sums, 30.0), noisy)
    self.assertAllClose([c.intercept_ms, c.slope], [0.3, 1.1])
    self.assertEqual(c.num_subnets, 4)
    with self.assertRaisesRegex(ValueError, ">= 2"):
      pl.fit_correction([1.0], [1.0])

  def test_correction_from_table_metadata(self):
    table = lut.load_note10_tables(NOTE10)
    table.metadata["correction"] = pl.Correction(1.0, 2.0, 5).to_dict()
    pred = pl.EfficiencyPredictor(table, get_space("ofa_mbv3_w1.2"))
    self.assertAllClose(pred.latency(W12_CONFIG), 1.0 + 2.0 * pred.table_sum(W12_CONFIG))


class PerEntryChoicesTest(tf.test.TestCase):
  """A space whose block entries allow different kernels (OFA-EdgeTPU: fused blocks k 3)."""

  def test_batched_prediction_equals_the_sum_of_each_subnets_keys(self):
    space = get_space("ofa_edgetpu_tiny")
    rng = np.random.default_rng(0)
    table = lut.LatencyTable(metadata={"space": space.name})
    for r, layers in network_layers.space_layers(space, space.resolutions).items():
      table.entries[r] = {l.key: lut.LutEntry(float(rng.uniform(0.1, 1.0))) for l in layers}
    keys = {l.key for layers in network_layers.space_layers(space, (16,)).values()
            for l in layers}
    self.assertTrue(any(k.startswith("fused_conv-") for k in keys))
    pred = pl.EfficiencyPredictor(table, space)
    configs = [space.min_config(), space.max_config()] + [space.sample(rng) for _ in range(40)]
    self.assertAllClose(pred.latency_batch(configs), [pred.table_sum(c) for c in configs],
                        rtol=1e-12)


if __name__ == "__main__":
  tf.test.main()
