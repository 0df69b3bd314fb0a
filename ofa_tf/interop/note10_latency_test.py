"""Released Note10 nets against the released Note10 latency tables."""

import importlib.util
import os

import tensorflow as tf

from ofa_tf.interop import note10_latency, zoo

LUT = "../shared/reference/ofa_note10_lut"
ZOO = "../shared/reference/ofa_zoo"


class Note10LatencyTest(tf.test.TestCase):

  def test_released_note10_nets_sum_to_their_latency(self):
    if importlib.util.find_spec("ofa_tf.latency") is None:
      self.skipTest("ofa_tf.latency is not in this checkout")
    if not os.path.isdir(LUT):
      self.skipTest("../shared/reference not beside the checkout")
    predictor = note10_latency.note10_predictor(LUT)
    # The w1.2 Note10 nets (run at 220-224 px; the tables stop at 224 in steps of 16).
    for name, latency_ms in (("note10_lat-30ms_top1-78.4_finetune-75", 30.0),
                             ("note10_lat-41ms_top1-79.3_finetune-75", 41.0),
                             ("note10_lat-50ms_top1-79.7_finetune-75", 50.0)):
      config = zoo.to_subnet_config(zoo.load_zoo_net(os.path.join(ZOO, name)))
      self.assertEqual(config.space, note10_latency.SPACE)
      total = predictor.table_sum(config.replace(r=224))
      self.assertAllClose(total, latency_ms, rtol=0.03, msg=name)


if __name__ == "__main__":
  tf.test.main()
