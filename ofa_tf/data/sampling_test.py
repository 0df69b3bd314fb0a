"""Tests for ofa_tf.data.sampling."""

import collections

import numpy as np
import tensorflow as tf

from ofa_tf.data import sampling


class ResolutionForStepTest(tf.test.TestCase):

  def test_same_seed_and_step_give_same_resolution(self):
    res = (16, 24, 32)
    first = [sampling.resolution_for_step(3, s, res) for s in range(50)]
    again = [sampling.resolution_for_step(3, s, res) for s in range(50)]
    self.assertEqual(first, again)

  def test_seed_changes_sequence(self):
    res = (16, 24, 32, 40)
    a = [sampling.resolution_for_step(0, s, res) for s in range(40)]
    b = [sampling.resolution_for_step(1, s, res) for s in range(40)]
    self.assertNotEqual(a, b)

  def test_uniform_coverage(self):
    res = (8, 16, 24, 32)
    index = next(iter(tf.data.Dataset.range(4000).map(
        lambda s: sampling.resolution_index_for_step(7, s, len(res))).batch(4000))).numpy()
    counts = np.bincount(index, minlength=len(res))
    # Chi-square with 3 dof: 16.3 is the 0.1% tail.
    expected = len(index) / len(res)
    self.assertLess(((counts - expected) ** 2 / expected).sum(), 16.3)

  def test_graph_and_python_agree(self):
    res = (16, 24, 32)
    graph = tf.function(lambda s: sampling.resolution_index_for_step(5, s, 3))
    for step in (0, 1, 17, 12345):
      self.assertEqual(res[int(graph(tf.constant(step, tf.int64)))],
                       sampling.resolution_for_step(5, step, res))

  def test_bad_resolutions(self):
    with self.assertRaisesRegex(ValueError, "resolutions"):
      sampling.resolution_for_step(0, 0, ())
    with self.assertRaisesRegex(ValueError, "resolutions"):
      sampling.resolution_for_step(0, 0, (32, 0))


class PermutationTest(tf.test.TestCase):

  def test_epoch_permutation_is_seeded_permutation(self):
    p0 = sampling.epoch_permutation(0, 0, 100).numpy()
    self.assertAllEqual(np.sort(p0), np.arange(100))
    self.assertAllEqual(p0, sampling.epoch_permutation(0, 0, 100).numpy())
    self.assertNotAllEqual(p0, sampling.epoch_permutation(0, 1, 100).numpy())
    self.assertNotAllEqual(p0, sampling.epoch_permutation(1, 0, 100).numpy())

  def test_calibration_subset_fixed_and_distinct(self):
    a = sampling.calibration_subset(0, 50, 20).numpy()
    self.assertAllEqual(a, sampling.calibration_subset(0, 50, 20).numpy())
    self.assertLen(collections.Counter(a.tolist()), 20)


if __name__ == "__main__":
  tf.test.main()
