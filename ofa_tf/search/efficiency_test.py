"""Batched lookup-table MACs/params equal the per-config counters of the search space."""

import numpy as np
import tensorflow as tf

from ofa_tf.search.efficiency import EfficiencyTables
from ofa_tf.search.genes import GeneCodec
from ofa_tf.search_space import block_depthwise_macs, get_space


class EfficiencyTablesTest(tf.test.TestCase):

  def _check_space(self, name, num):
    space = get_space(name)
    tables = EfficiencyTables(space)
    codec = GeneCodec(space)
    genes = np.concatenate([codec.sample(np.random.default_rng(0), num), codec.min_genes(),
                            codec.max_genes()])
    configs = codec.decode(genes)
    self.assertAllEqual(tables.macs(genes), [space.macs(c) for c in configs])
    self.assertAllEqual(tables.params(genes), [space.params(c) for c in configs])
    self.assertAllEqual(tables.depthwise_macs(genes), [
        sum(block_depthwise_macs(b) for b in space.network_spec(c).blocks) for c in configs])
    self.assertAllEqual(tables.int8_size_bytes(genes),
                        tables.params(genes) + tables.int8_overhead_bytes)

  def test_tiny(self):
    self._check_space("ofa_mbv3_tiny", 200)

  def test_edgetpu_tiny(self):
    # Fused blocks allow kernel 3 only: their `ks` genes index a shorter choice list.
    self._check_space("ofa_edgetpu_tiny", 200)

  def test_mobilenet_v3_w10(self):
    self._check_space("ofa_mbv3_w1.0", 200)

  def test_resnet50(self):
    self._check_space("ofa_resnet50_tiny", 200)
    self._check_space("ofa_resnet50", 100)

  def test_proxyless(self):
    self._check_space("ofa_proxyless_tiny", 100)

  def test_mobilenet_v3_w12(self):
    self._check_space("ofa_mbv3_w1.2", 50)


if __name__ == "__main__":
  tf.test.main()
