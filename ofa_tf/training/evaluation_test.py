"""Tests of subnet labels (written by `subnet_label`, read by `parse_subnet_label`)."""

import tensorflow as tf

from ofa_tf.search_space import get_space
from ofa_tf.training import config as config_lib
from ofa_tf.training import evaluation


class SubnetLabelTest(tf.test.TestCase):

  def test_labels_round_trip_and_tag(self):
    for space_name in ("ofa_mbv3_tiny", "ofa_proxyless_tiny"):
      space = get_space(space_name)
      for config in (space.min_config(min(space.resolutions)),
                     space.max_config(max(space.resolutions))):
        label = evaluation.subnet_label(space, config)
        values = evaluation.parse_subnet_label(label)
        self.assertEqual(values["r"], config.r)
        for dim in space.dim_names:
          self.assertEqual(values[dim[0]], getattr(config, dim)[0], msg=(label, dim))
        self.assertEqual(evaluation.summary_tag(label), "eval/" + label.replace(" ", "_"))

  def test_extreme_labels_of_a_phase(self):
    space = get_space("ofa_mbv3_tiny")
    last = config_lib.get_preset("smoke").phases[-1]
    smallest, largest = evaluation.extreme_labels(space, last, (16, 20))
    self.assertEqual(evaluation.parse_subnet_label(smallest)["r"], 16)
    self.assertEqual(evaluation.parse_subnet_label(largest)["r"], 20)
    self.assertEqual(evaluation.parse_subnet_label(smallest)["d"], min(space.dim("d").values))

  def test_bad_labels(self):
    for label in ("", "d2 e3", "d2 x r", "2d r24"):
      with self.assertRaisesRegex(ValueError, "subnet label"):
        evaluation.parse_subnet_label(label)


if __name__ == "__main__":
  tf.test.main()
