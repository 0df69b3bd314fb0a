"""Tests of the table builder: resume, caching, metadata checks (fake runner, cached models)."""

import os

import pytest
import tensorflow as tf

from ofa_tf.latency import device_spec as ds
from ofa_tf.latency import host
from ofa_tf.latency import lut
from ofa_tf.latency import network_layers as nl
from ofa_tf.latency import table_builder as tb
from ofa_tf.latency.stats import LatencyStats
from ofa_tf.search_space import get_space


class FakeRunner:
  """Latency = model size / 1000 ms, doubled on 2 of 3 calls (disturbed phases); can fail
  after `fail_after` calls (an interruption). Records the order of the models it timed."""

  def __init__(self, fail_after=None):
    self.calls = 0
    self.fail_after = fail_after
    self.order = []

  def measure(self, model, spec):
    if self.fail_after is not None and self.calls >= self.fail_after:
      raise KeyboardInterrupt("interrupted")
    self.calls += 1
    with open(model, "rb") as f:
      self.order.append(len(f.read()))
    v = self.order[-1] / 1000.0 * (2 if self.calls % 3 else 1)
    return LatencyStats(v, v, 0.0, v, 3)


class ErraticRunner:
  """1 ms for every layer except the model of `erratic_size` bytes, which spreads +-30% over
  passes forever (golden-ratio sequence)."""

  def __init__(self, erratic_size):
    self.erratic_size = erratic_size
    self.erratic_calls = 0

  def measure(self, model, spec):
    with open(model, "rb") as f:
      size = len(f.read())
    v = 1.0
    if size == self.erratic_size:
      v = 0.7 + 0.6 * ((self.erratic_calls * 0.618034) % 1)
      self.erratic_calls += 1
    return LatencyStats(v, v, 0.0, v, 3)


class TableBuilderTest(tf.test.TestCase):

  def _config(self, stable_rse=0.0, **kw):
    out = os.path.join(self.get_temp_dir(), "table.json")
    kw.setdefault("resolutions", (24, 32))
    device = ds.get_profile("cpu_xnnpack_1t", stable_rse=stable_rse)
    return tb.TableBuildConfig(space="ofa_mbv3_tiny", device=device, output=out,
                               measure_chunk=4, **kw)

  def _fill_cache(self, config):
    """Pretend every layer was converted: distinct fake bytes per key (no TensorFlow)."""
    os.makedirs(config.model_cache_dir, exist_ok=True)
    layers = nl.space_layers(get_space(config.space), config.resolutions)
    keys = sorted({l.key for rl in layers.values() for l in rl})
    for i, key in enumerate(keys):
      with open(tb._model_path(config.model_cache_dir, key, config.device), "wb") as f:
        f.write(b"x" * (100 + i))
    return layers, keys

  def test_build_resume_and_no_remeasure(self):
    config = self._config()
    passes = config.device.passes
    self.assertGreater(passes, 1)
    layers, keys = self._fill_cache(config)
    # Interrupted in the second chunk: the first chunk's 4 layers are saved.
    with self.assertRaises(KeyboardInterrupt):
      tb.build_table(config, runner=FakeRunner(fail_after=4 * passes + 3))
    partial = lut.load_table(config.output)
    self.assertLen({k for t in partial.entries.values() for k in t}, 4)
    runner = FakeRunner()
    progress = []
    table = tb.build_table(config, runner=runner, progress=progress.append)
    self.assertEqual(runner.calls, (len(keys) - 4) * passes)
    measured = [p for p in progress if p.phase == "measure"]  # one per layer and pass
    self.assertEqual([p.done for p in measured], list(range(1, len(measured) + 1)))
    self.assertEqual(measured[-1].total, (len(keys) - 4) * passes)
    # Chunk by chunk, every layer of a chunk once per pass; the entry is the fastest pass.
    sizes = [100 + i for i in range(4, len(keys))]
    first = runner.order[:4 * passes]  # the first chunk: in order, then shuffled passes
    self.assertEqual(first[:4], sizes[:4])
    for p in range(1, passes):
      self.assertCountEqual(first[4 * p:4 * p + 4], sizes[:4])
    self.assertNotEqual(first, sizes[:4] * passes)
    for i, key in enumerate(keys[4:]):
      entry = next(t[key] for t in table.entries.values() if key in t)
      self.assertAlmostEqual(entry.estimate, sizes[i] / 1000.0)
      self.assertEqual(entry.count, 3 * passes)
    for r, rl in layers.items():
      self.assertEqual(set(table.entries[r]), {l.key for l in rl})
    again = FakeRunner()
    tb.build_table(config, runner=again)
    self.assertEqual(again.calls, 0)
    loaded = lut.load_table(config.output)
    self.assertEqual(loaded.metadata["space"], "ofa_mbv3_tiny")
    self.assertEqual(loaded.metadata["device"]["name"], "cpu_xnnpack_1t")
    self.assertIn("tensorflow", loaded.metadata["tool_versions"])
    # Logits / Conv_2 are shared across resolutions and measured once.
    shared = [k for k in keys if k.startswith("Logits")]
    self.assertLen(shared, 1)
    self.assertEqual(loaded.get(24, shared[0]), loaded.get(32, shared[0]))

  def test_refuses_other_space_or_profile(self):
    config = self._config(resolutions=(24,))
    self._fill_cache(config)
    tb.build_table(config, runner=FakeRunner())
    other = tb.TableBuildConfig(space="ofa_mbv3_tiny", output=config.output,
                                device=ds.get_profile("cpu_xnnpack_1t_int8"), resolutions=(24,))
    with self.assertRaisesRegex(ValueError, "built for another setup.*device.name"):
      tb.build_table(other, runner=FakeRunner())

  def test_unstable_layers_get_more_passes_then_are_reported(self):
    config = self._config(stable_rse=0.02, resolutions=(24,))
    _, keys = self._fill_cache(config)
    table = tb.build_table(config, runner=ErraticRunner(erratic_size=100))  # keys[0]
    device = config.device
    self.assertEqual(list(table.metadata["unstable_layers"]), [keys[0]])
    report = table.metadata["unstable_layers"][keys[0]]
    self.assertEqual(report["passes"], device.max_passes)
    self.assertGreater(report["rse"], device.stable_rse)
    self.assertLen(report["pass_estimates_ms"], device.max_passes)
    entry = table.get(24, keys[0])
    self.assertEqual((entry.passes, entry.rse), (device.max_passes, report["rse"]))
    self.assertAlmostEqual(entry.estimate, min(report["pass_estimates_ms"]))
    steady = table.get(24, keys[1])
    self.assertEqual((steady.passes, steady.rse, steady.estimate), (device.passes, 0.0, 1.0))
    loaded = lut.load_table(config.output)
    self.assertEqual(loaded.get(24, keys[0]), entry)

  def test_host_fingerprint_recorded_and_resume_elsewhere_refused(self):
    config = self._config(resolutions=(24,))
    self._fill_cache(config)
    table = tb.build_table(config, runner=FakeRunner())
    here = host.host_fingerprint()
    recorded = table.metadata["host"]
    for field in host.HOST_FIELDS:
      self.assertEqual(recorded[field], here[field])
    self.assertEqual((recorded["profile"], recorded["num_threads"]), ("cpu_xnnpack_1t", 1))
    table.metadata["host"] = dict(recorded, cpu_model="Intel(R) Xeon(R) CPU @ 2.00GHz")
    lut.save_table(table, config.output)
    with self.assertRaisesRegex(ValueError, "built for another setup.*host cpu_model"):
      tb.build_table(config, runner=FakeRunner())

  def test_bad_resolution(self):
    with self.assertRaisesRegex(ValueError, "not in space ofa_mbv3_tiny"):
      tb.build_table(self._config(resolutions=(30,)), runner=FakeRunner())

  @pytest.mark.slow
  def test_real_conversion_and_timing(self):
    config = self._config(resolutions=(24,), workers=2)
    table = tb.build_table(config)
    self.assertLen(table.entries[24], len(nl.space_layers(get_space("ofa_mbv3_tiny"),
                                                          [24])[24]))
    self.assertGreater(table.metadata["build_seconds"]["convert"], 0)


if __name__ == "__main__":
  tf.test.main()
