"""Tests of OFA keys, table files and the released Note10 tables."""

import json
import os

import tensorflow as tf

from ofa_tf.latency import lut

NOTE10 = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "reference",
                      "ofa_note10_lut")
if not os.path.isdir(NOTE10):
  NOTE10 = "/work/shared/reference/ofa_note10_lut"


class KeyTest(tf.test.TestCase):

  def test_keys_match_the_released_format(self):
    self.assertEqual(
        lut.block_key(112, 24, 56, 32, 144, 3, 2, False, False, False),
        "expanded_conv-input:112x112x24-output:56x56x32-expand:144-kernel:3-stride:2-idskip:0"
        "-se:0-hs:0")
    self.assertEqual(lut.conv_key("Conv", 224, 3, 112, 24),
                     "Conv-input:224x224x3-output:112x112x24")
    self.assertEqual(lut.logits_key(1536, 1000), "Logits-input:1x1x1536-output:1000")
    fields = lut.parse_key("expanded_conv-input:14x14x136-output:14x14x136-expand:408-kernel:5"
                           "-stride:1-idskip:1-se:1-hs:1")
    self.assertEqual(fields["expand"], 408)
    self.assertEqual(fields["input"], (14, 14, 136))
    with self.assertRaisesRegex(ValueError, "not an OFA latency-table key"):
      lut.parse_key("conv 3x3")


class TableFileTest(tf.test.TestCase):

  def _table(self):
    t = lut.LatencyTable(metadata={"space": "ofa_mbv3_tiny"})
    t.put(32, "Conv-input:32x32x3-output:16x16x16", lut.LutEntry(0.5, 0.01, 30, 0.45, 0.4))
    t.put(24, "Conv-input:24x24x3-output:12x12x16", lut.LutEntry(0.3))
    t.put(24, "Conv_1-input:3x3x32-output:3x3x128", lut.LutEntry(0.3, 0.1, 9, 0.25, 0.2, 0.2,
                                                                 passes=7, rse=0.031))
    return t

  def test_round_trip_json_and_yaml(self):
    for ext in ("json", "yaml"):
      path = os.path.join(self.get_temp_dir(), f"t.{ext}")
      lut.save_table(self._table(), path)
      loaded = lut.load_table(path)
      self.assertEqual(loaded.entries, self._table().entries)
      self.assertEqual(loaded.metadata["space"], "ofa_mbv3_tiny")
      self.assertIn("updated", loaded.metadata)
      self.assertEqual(loaded.value(32, "Conv-input:32x32x3-output:16x16x16"), 0.45)
      self.assertEqual(loaded.value(24, "Conv-input:24x24x3-output:12x12x16"), 0.3)
      self.assertEqual(loaded.value(24, "Conv_1-input:3x3x32-output:3x3x128"), 0.2)
      entry = loaded.get(24, "Conv_1-input:3x3x32-output:3x3x128")
      self.assertEqual((entry.passes, entry.rse), (7, 0.031))
      self.assertIsNone(loaded.get(24, "Conv-input:24x24x3-output:12x12x16").passes)
    self.assertEqual([n for n in os.listdir(self.get_temp_dir()) if n.startswith(".tmp")], [])

  def test_missing_layer_is_named(self):
    t = self._table()
    with self.assertRaisesRegex(lut.MissingEntryError, "Conv_1-input:1x1x1-output:1x1x1"):
      t.get(32, "Conv_1-input:1x1x1-output:1x1x1")
    with self.assertRaisesRegex(lut.MissingEntryError, "no resolution 64"):
      t.get(64, "Conv-input:64x64x3-output:32x32x16")

  def test_rejects_foreign_file(self):
    path = os.path.join(self.get_temp_dir(), "x.json")
    with open(path, "w") as f:
      json.dump({"a": 1}, f)
    with self.assertRaisesRegex(ValueError, "not a ofa_tf.latency_table/1 table"):
      lut.load_table(path)


class Note10Test(tf.test.TestCase):

  def test_loads_all_resolutions(self):
    t = lut.load_note10_tables(NOTE10)
    self.assertEqual(t.resolutions, (160, 176, 192, 208, 224))
    self.assertLen(t.entries[224], 96)
    self.assertAllClose(t.value(224, "Conv-input:224x224x3-output:112x112x24"), 0.994418)
    self.assertAllClose(t.value(160, "Conv_2-input:1x1x1152-output:1x1x1536"),
                        t.entries[160]["Conv_2-input:1x1x1152-output:1x1x1536"].mean)


if __name__ == "__main__":
  tf.test.main()
