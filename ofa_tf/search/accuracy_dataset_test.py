"""Tests of the accuracy dataset builder: determinism, resume, torn lines, progress."""

import os

import numpy as np
import tensorflow as tf

from ofa_tf.search import accuracy_dataset as dataset
from ofa_tf.search.search_test_util import synthetic_evaluate
from ofa_tf.search_space import get_space


class _Interrupt(Exception):
  pass


class CountingEvaluate:

  def __init__(self, fn, fail_after=None):
    self.fn, self.fail_after, self.calls = fn, fail_after, []

  def __call__(self, config):
    if self.fail_after is not None and len(self.calls) == self.fail_after:
      raise _Interrupt()
    self.calls.append(config)
    return self.fn(config)


class DatasetTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.space = get_space("ofa_mbv3_tiny")
    self.evaluate = synthetic_evaluate(self.space)

  def _path(self, name):
    return os.path.join(self.get_temp_dir(), name, dataset.DATASET_FILE)

  def test_rows_and_order(self):
    path = self._path("plain")
    rows = dataset.build_accuracy_dataset(self.space, self.evaluate, path, num_subnets=4, seed=3)
    self.assertLen(rows, 4 * 3)
    self.assertEqual([r.index for r in rows], list(range(12)))
    self.assertEqual([r.resolution for r in rows[:3]], [24, 28, 32])
    # One subnet per group of resolutions.
    self.assertEqual(rows[0].config.replace(r=28), rows[1].config)
    self.assertEqual(dataset.read_rows(path), rows)
    self.assertEqual(dataset.read_space(path), self.space)
    for row in rows:
      self.assertEqual((row.top1, row.loss), self.evaluate(row.config))
      self.assertEqual(row.config.r, row.resolution)

  def test_resume_equals_uninterrupted(self):
    full = dataset.build_accuracy_dataset(self.space, self.evaluate, self._path("full"),
                                          num_subnets=5, seed=7, resolutions=(24, 32))
    path = self._path("resumed")
    first = CountingEvaluate(self.evaluate, fail_after=4)
    with self.assertRaises(_Interrupt):
      dataset.build_accuracy_dataset(self.space, first, path, num_subnets=5, seed=7,
                                     resolutions=(24, 32))
    self.assertLen(dataset.read_rows(path), 4)
    # A crash in the middle of a write leaves a torn line; it is dropped on resume.
    with open(path, "a") as f:
      f.write('{"index": 4, "seed": 7, "con')
    second = CountingEvaluate(self.evaluate)
    resumed = dataset.build_accuracy_dataset(self.space, second, path, num_subnets=5, seed=7,
                                             resolutions=(24, 32))
    self.assertEqual(resumed, full)
    self.assertEqual(dataset.read_rows(path), full)
    self.assertEqual(second.calls, [r.config for r in full[4:]])  # Nothing re-evaluated.
    # Extending the run keeps the stored rows and adds the next subnets of the sequence.
    third = CountingEvaluate(self.evaluate)
    extended = dataset.build_accuracy_dataset(self.space, third, path, num_subnets=6, seed=7,
                                              resolutions=(24, 32))
    self.assertEqual(extended[:10], full)
    self.assertLen(third.calls, 2)

  def test_other_seed_or_space_is_refused(self):
    path = self._path("refuse")
    dataset.build_accuracy_dataset(self.space, self.evaluate, path, num_subnets=1, seed=0)
    with self.assertRaisesRegex(ValueError, "seed 0, not 1"):
      dataset.build_accuracy_dataset(self.space, self.evaluate, path, num_subnets=1, seed=1)
    with self.assertRaisesRegex(ValueError, "built for space 'ofa_mbv3_tiny'"):
      dataset.build_accuracy_dataset(get_space("ofa_mbv3_w1.0"), self.evaluate, path,
                                     num_subnets=1, seed=0)

  def test_bad_top1(self):
    with self.assertRaisesRegex(ValueError, "fraction"):
      dataset.build_accuracy_dataset(self.space, lambda c: (75.0, 1.0), self._path("bad"),
                                     num_subnets=1, seed=0)

  def test_progress_and_eta(self):
    ticks = iter(np.arange(0.0, 100.0, 2.0))
    seen = []
    dataset.build_accuracy_dataset(self.space, self.evaluate, self._path("progress"),
                                   num_subnets=2, seed=0, progress_fn=seen.append,
                                   clock=lambda: float(next(ticks)))
    self.assertEqual([p.done for p in seen], list(range(1, 7)))
    self.assertEqual(seen[0].total, 6)
    self.assertAllClose([p.eta_s for p in seen], [10.0, 8.0, 6.0, 4.0, 2.0, 0.0])


if __name__ == "__main__":
  tf.test.main()
