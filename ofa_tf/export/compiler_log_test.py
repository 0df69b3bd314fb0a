"""Tests for compiler_log on real edgetpu_compiler logs (testdata/export/SOURCES.md)."""

import os

import tensorflow as tf

from ofa_tf.export import compiler_log
from ofa_tf.export import edgetpu

_TESTDATA = os.path.join(os.path.dirname(__file__), "..", "..", "testdata", "export")


def _read(name):
  with open(os.path.join(_TESTDATA, name)) as f:
    return f.read()


class CompilerLogTest(tf.test.TestCase):

  def test_partially_mapped_log(self):
    report = compiler_log.parse_compiler_log(_read("tiny_yolo_edgetpu.log"))
    self.assertEqual(report.source, "edgetpu_compiler 14.1.317412892")
    self.assertLen(report.table, 8)
    self.assertEqual(report.table[2], edgetpu.OperatorCount(
        "RESIZE_NEAREST_NEIGHBOR", 1, edgetpu.UNSUPPORTED_VERSION))
    self.assertEqual((report.ops_on_edgetpu, report.ops_on_cpu), (19, 6))
    self.assertFalse(report.fully_mapped)
    self.assertEqual(report.first_cpu_op,
                     "RESIZE_NEAREST_NEIGHBOR: Operation version not supported")

  def test_fully_mapped_log(self):
    report = compiler_log.parse_compiler_log(_read("mnist9_edgetpu.log"))
    self.assertEqual((report.ops_on_edgetpu, report.ops_on_cpu), (10, 0))
    self.assertTrue(report.fully_mapped)
    self.assertIsNone(report.first_cpu_op)

  def test_stdout_summary_lines_take_precedence(self):
    stdout = ("Edge TPU Compiler version 16.0.384591198\n"
              "Number of operations that will run on Edge TPU: 64\n"
              "Number of operations that will run on CPU: 2\n\n" + _read("mnist9_edgetpu.log"))
    report = compiler_log.parse_compiler_log(stdout)
    self.assertEqual((report.ops_on_edgetpu, report.ops_on_cpu), (64, 2))

  def test_rejects_other_text_and_failed_compilation(self):
    with self.assertRaisesRegex(ValueError, "not edgetpu_compiler output"):
      compiler_log.parse_compiler_log("hello")
    with self.assertRaisesRegex(ValueError, "failed"):
      compiler_log.parse_compiler_log(
          "Edge TPU Compiler version 16.0.384591198\nERROR: Didn't find op for builtin opcode "
          "'CONV_2D' version '6'\n\nInvalid model: m.tflite\nModel could not be parsed\n")


if __name__ == "__main__":
  tf.test.main()
