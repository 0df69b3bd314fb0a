"""Tests for accuracy_study: the table, and QAT within 1 point of float on digits (slow)."""

import pytest
import tensorflow as tf

from ofa_tf.export import accuracy_study


class FormatStudyTest(tf.test.TestCase):

  def test_table_has_difference_to_float(self):
    rows = [accuracy_study.StudyRow("float (h-swish)", "keras", "-", 0.9),
            accuracy_study.StudyRow("float (h-swish)", "edgetpu_int8", "qat", 0.895, 0.99,
                                    12345, True)]
    table = accuracy_study.format_study(rows).splitlines()
    self.assertLen(table, 4)
    self.assertEqual(table[3], "| float (h-swish) | edgetpu_int8 | qat | 89.50% | -0.50 | "
                     "99.00% | 12345 | yes |")
    self.assertIn("| 90.00% | +0.00 | - | - | - |", table[2])


class QuantizationStudyTest(tf.test.TestCase):

  @pytest.mark.slow
  def test_qat_int8_within_one_point_of_float_on_digits(self):
    from ofa_tf.data import load_dataset  # pylint: disable=g-import-not-at-top
    from ofa_tf.networks import build_static_model  # pylint: disable=g-import-not-at-top
    from ofa_tf.search_space import get_space  # pylint: disable=g-import-not-at-top
    data = load_dataset("digits")
    space = get_space("ofa_mbv3_tiny")
    model = build_static_model(space.network_spec(space.min_config(24)))
    accuracy_study.train_float(model, data, 200)
    rows = accuracy_study.quantization_study(model, data, self.get_temp_dir(),
                                             qat_steps=40, relu_finetune_steps=20)
    by_key = {(r.model, r.target, r.method): r for r in rows}
    float_top1 = by_key["float (h-swish)", "keras", "-"].top1
    self.assertGreater(float_top1, 0.8)
    for target in ("cpu_int8", "edgetpu_int8"):
      qat_row = by_key["float (h-swish)", target, "qat"]
      self.assertGreaterEqual(qat_row.top1, float_top1 - 0.01, target)
      self.assertGreaterEqual(by_key["float (h-swish)", target, "ptq"].top1,
                              float_top1 - 0.05, target)
    self.assertTrue(by_key["float (h-swish)", "edgetpu_int8", "qat"].edgetpu_mappable)
    self.assertTrue(by_key["ReLU lowering, fine-tuned", "edgetpu_int8_relu", "ptq"]
                    .edgetpu_mappable)
    self.assertIn(("float (h-swish), same fine-tune", "keras", "-"), by_key)


if __name__ == "__main__":
  tf.test.main()
