"""Tests for edgetpu (the analyzer) on models converted in the test."""

from ai_edge_litert import schema_py_generated as schema_fb
import flatbuffers
import numpy as np
import tensorflow as tf

from ofa_tf.export import converter
from ofa_tf.export import edgetpu
from ofa_tf.export import lowering
from ofa_tf.export import recipes
from ofa_tf.export import toy_model


def _set_op_version(content, op_name, version):
  obj = schema_fb.ModelT.InitFromObj(schema_fb.Model.GetRootAs(content, 0))
  code = getattr(schema_fb.BuiltinOperator, op_name)
  for op_code in obj.operatorCodes:
    if max(op_code.builtinCode, op_code.deprecatedBuiltinCode) == code:
      op_code.version = version
  b = flatbuffers.Builder(len(content))
  b.Finish(obj.Pack(b), file_identifier=b"TFL3")
  return bytes(b.Output())


class AnalyzeEdgeTpuTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    model = toy_model.toy_mobilenet_v3()
    images = np.random.default_rng(0).uniform(0, 1, (8, 32, 32, 3)).astype(np.float32)
    int8 = recipes.get_recipe("cpu_int8")
    cls.hswish_int8 = converter._convert(model, int8, images)  # pylint: disable=protected-access
    cls.lowered_int8 = converter._convert(  # pylint: disable=protected-access
        lowering.lower_model(model, "decomposed"), int8, images)
    cls.float32 = converter._convert(  # pylint: disable=protected-access
        model, recipes.get_recipe("cpu_fp32"), images)

  def test_lowered_model_maps_fully(self):
    report = edgetpu.analyze_edgetpu(self.lowered_int8)
    self.assertTrue(report.fully_mapped, report.format())
    self.assertIsNone(report.first_cpu_op)
    self.assertNotIn("HARD_SWISH", [row.op for row in report.table])

  def test_hard_swish_is_unsupported_and_cuts_the_graph(self):
    report = edgetpu.analyze_edgetpu(self.hswish_int8)
    self.assertFalse(report.fully_mapped)
    first = next(v for v in report.ops if v.status != edgetpu.MAPPED)
    self.assertEqual((first.op, first.status), ("HARD_SWISH", edgetpu.UNSUPPORTED_OP))
    self.assertEqual(first.index, 2)  # PAD, CONV_2D, then the stem h-swish.
    self.assertEqual(report.ops_on_edgetpu, 2)
    self.assertTrue(all(v.status != edgetpu.MAPPED for v in report.ops[2:]))
    self.assertIn(edgetpu.AFTER_FALLBACK, [v.status for v in report.ops])
    self.assertStartsWith(report.first_cpu_op, "2 HARD_SWISH: unsupported op")

  def test_float_op_is_not_int8(self):
    report = edgetpu.analyze_edgetpu(self.float32)
    first = report.ops[0]
    self.assertEqual(first.status, edgetpu.UNSUPPORTED_DTYPE)
    self.assertIn("not int8", first.reason)
    self.assertIn("FLOAT32", first.reason)
    self.assertEqual(report.ops_on_edgetpu, 0)

  def test_too_new_op_version(self):
    report = edgetpu.analyze_edgetpu(_set_op_version(self.lowered_int8, "CONV_2D", 6))
    first = next(v for v in report.ops if v.status != edgetpu.MAPPED)
    self.assertEqual((first.op, first.version, first.status),
                     ("CONV_2D", 6, edgetpu.UNSUPPORTED_VERSION))
    self.assertIn("v6 > v3", first.reason)

  def test_dynamic_batch_is_flagged(self):
    dynamic = converter._convert(  # pylint: disable=protected-access
        lowering.lower_model(toy_model.toy_mobilenet_v3(), "decomposed"),
        recipes.TargetRecipe("dyn", "int8", "int8", batch_size=None),
        np.zeros((2, 32, 32, 3), np.float32))
    report = edgetpu.analyze_edgetpu(dynamic)
    self.assertFalse(report.fully_mapped)
    self.assertIn("dynamic shape", report.first_cpu_op)

  def test_report_format_is_compiler_like(self):
    text = edgetpu.analyze_edgetpu(self.hswish_int8).format()
    self.assertIn("Number of operations that will run on Edge TPU: 2", text)
    self.assertRegex(text, r"HARD_SWISH\s+\d+\s+Operation not supported")


if __name__ == "__main__":
  tf.test.main()
