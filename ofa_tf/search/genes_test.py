"""Tests of the gene-array representation and its variation operators."""

import numpy as np
import tensorflow as tf

from ofa_tf.search.genes import GeneCodec
from ofa_tf.search_space import get_space


class GeneCodecTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.space = get_space("ofa_mbv3_tiny")
    self.codec = GeneCodec(self.space)

  def test_round_trip(self):
    rng = np.random.default_rng(0)
    configs = [self.space.sample(rng) for _ in range(30)]
    genes = self.codec.encode(configs)
    self.assertEqual(genes.shape, (30, 2 * 12 + 3 + 1))
    self.assertEqual(self.codec.decode(genes), configs)

  def test_min_max_genes(self):
    self.assertEqual(self.codec.decode(self.codec.min_genes())[0], self.space.min_config())
    self.assertEqual(self.codec.decode(self.codec.max_genes())[0], self.space.max_config())

  def test_variation_keeps_configs_valid(self):
    rng = np.random.default_rng(1)
    a, b = self.codec.sample(rng, 200), self.codec.sample(rng, 200)
    for genes in (self.codec.mutate(rng, a, 0.5, 0.5), self.codec.crossover(rng, a, b),
                  self.codec.sample(rng, 200, shrink=0.7)):
      for config in self.codec.decode(genes):
        self.space.validate(config)

  def test_mutation_rates(self):
    rng = np.random.default_rng(2)
    parents = self.codec.sample(rng, 20000)
    children = self.codec.mutate(rng, parents, 0.1, 0.5)
    changed = (children != parents).mean(axis=0)
    # A resampled gene keeps its value with p = 1/3 (3 choices): rate x 2/3.
    self.assertAllClose(changed[:-1], np.full(len(changed) - 1, 0.1 * 2 / 3), atol=0.015)
    self.assertAllClose(changed[-1], 0.5 * 2 / 3, atol=0.015)

  def test_crossover_takes_genes_from_parents(self):
    rng = np.random.default_rng(3)
    a, b = self.codec.sample(rng, 100), self.codec.sample(rng, 100)
    child = self.codec.crossover(rng, a, b)
    self.assertTrue(np.all((child == a) | (child == b)))

  def test_canonical_matches_subnet_config(self):
    rng = np.random.default_rng(4)
    genes = self.codec.sample(rng, 50)
    expected = [self.space.canonical(c) for c in self.codec.decode(genes)]
    self.assertEqual(self.codec.decode(self.codec.canonical(genes)), expected)

  def test_wrong_shape(self):
    with self.assertRaisesRegex(ValueError, "shape"):
      self.codec.decode(np.zeros((2, 5), np.int64))


if __name__ == "__main__":
  tf.test.main()
