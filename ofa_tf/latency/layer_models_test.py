"""Tests of single-layer and whole-subnet .tflite models."""

import numpy as np
import tensorflow as tf

from ofa_tf.latency import layer_models as lm
from ofa_tf.latency import litert_runner
from ofa_tf.latency import network_layers as nl
from ofa_tf.search_space import get_space


class LayerModelsTest(tf.test.TestCase):

  def test_block_layer_fp32_matches_keras_and_int8_runs(self):
    space = get_space("ofa_mbv3_tiny")
    config = space.max_config(24)
    spec = space.network_spec(config)
    layer = [l for l in nl.network_layers(spec) if l.kind == "block" and l.block.use_se][0]
    model = lm.build_layer_model(layer, spec)
    data = lm.convert(model, "fp32")
    interp = litert_runner.make_interpreter(data)
    x = np.random.default_rng(0).uniform(-1, 1, (1, layer.input_hw, layer.input_hw,
                                               layer.in_channels)).astype(np.float32)
    interp.set_tensor(interp.get_input_details()[0]["index"], x)
    interp.invoke()
    got = interp.get_tensor(interp.get_output_details()[0]["index"])
    self.assertAllClose(got, model(x, training=False).numpy(), atol=1e-4)
    int8 = lm.convert(model, "int8", np.random.default_rng(1), num_calibration=2)
    interp = litert_runner.make_interpreter(int8)
    self.assertEqual(interp.get_input_details()[0]["dtype"], np.int8)
    interp.invoke()

  def test_head_layers_build(self):
    space = get_space("ofa_mbv3_tiny")
    spec = space.network_spec(space.min_config(24))
    for layer in nl.head_layers(spec):
      model = lm.build_layer_model(layer, spec)
      self.assertEqual(model.output_shape[-1], layer.out_channels)

  def test_resnet_layers_build_and_match_keras(self):
    space = get_space("ofa_resnet50_tiny")
    spec = space.network_spec(space.sample(np.random.default_rng(2)))
    layers = [l for l in nl.network_layers(spec) if l.kind in ("stem_pool", "stem2", "block")]
    self.assertIn("stem_pool", [l.kind for l in layers])
    for layer in layers[:3]:
      model = lm.build_layer_model(layer, spec)
      self.assertEqual(model.output_shape[-1], layer.out_channels)
      interp = litert_runner.make_interpreter(lm.convert(model, "fp32"))
      x = np.random.default_rng(0).uniform(0, 1, (1, layer.input_hw, layer.input_hw,
                                                  layer.in_channels)).astype(np.float32)
      interp.set_tensor(interp.get_input_details()[0]["index"], x)
      interp.invoke()
      got = interp.get_tensor(interp.get_output_details()[0]["index"])
      self.assertAllClose(got, model(x, training=False).numpy(), atol=1e-4)

  def test_bad_precision(self):
    with self.assertRaisesRegex(ValueError, "precision"):
      lm.convert(None, "int4")


if __name__ == "__main__":
  tf.test.main()
