"""Tests for the work-directory format: save/load round trip and clear errors."""

import os

import numpy as np
import tensorflow as tf

from ofa_tf.networks import Supernet, build_supernet
from ofa_tf.search_space import get_space
from ofa_tf import workdir as workdir_lib


class WorkdirTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.space = get_space("ofa_mbv3_tiny")

  def test_round_trip_same_outputs(self):
    wd = os.path.join(self.get_temp_dir(), "run")
    supernet = build_supernet(self.space)
    for v in supernet.named_weights().values():
      v.assign(v + tf.random.normal(v.shape, stddev=0.01, seed=1))
    workdir_lib.save_supernet(wd, supernet)
    self.assertTrue(os.path.exists(os.path.join(wd, "space.json")))
    self.assertTrue(workdir_lib.has_final(wd))
    loaded = workdir_lib.load_supernet(wd, execution_mode="masked")
    self.assertEqual(loaded.space, self.space)
    for name, v in supernet.named_weights().items():
      self.assertAllEqual(v.numpy(), loaded.named_weights()[name].numpy(), msg=name)
    config = self.space.sample(np.random.default_rng(0))
    images = tf.random.normal([2, config.r, config.r, 3], seed=2)
    self.assertAllClose(supernet(images, arch=supernet.arch_inputs(config)),
                        loaded(images, arch=loaded.arch_inputs(config), mode="sliced"),
                        atol=1e-5)
    # Saving again replaces final/ and leaves no staging directories behind.
    workdir_lib.save_supernet(wd, supernet)
    self.assertEqual(sorted(os.listdir(wd)), ["final", "space.json"])

  def test_missing_directory(self):
    with self.assertRaisesRegex(FileNotFoundError, "does not exist"):
      workdir_lib.load_supernet(os.path.join(self.get_temp_dir(), "nope"))

  def test_not_finished(self):
    wd = self.get_temp_dir()
    workdir_lib.write_space(wd, self.space)
    with self.assertRaisesRegex(FileNotFoundError, "no trained supernet"):
      workdir_lib.load_supernet(wd)

  def test_different_space_refused(self):
    wd = os.path.join(self.get_temp_dir(), "other")
    workdir_lib.save_supernet(wd, build_supernet(self.space))
    other = self.space.replace(name="other_tiny", final_expand_width=64)
    with self.assertRaisesRegex(ValueError, "differs from space 'other_tiny'"):
      workdir_lib.save_supernet(wd, build_supernet(other))
    # A space.json edited to another space than the weights: clear error.
    workdir_lib.write_space(wd, other, overwrite=True)
    with self.assertRaisesRegex(ValueError, "inconsistent"):
      workdir_lib.load_supernet(wd)
    os.remove(os.path.join(wd, "final", "space.json"))
    with self.assertRaisesRegex(ValueError, "does not match space"):
      workdir_lib.load_supernet(wd)


if __name__ == "__main__":
  tf.test.main()
