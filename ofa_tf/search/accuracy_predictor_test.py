"""Tests of the accuracy predictor: learns a known function, NumPy == Keras, persistence."""

import os

import numpy as np
import tensorflow as tf

from ofa_tf.search.encoding import ArchEncoder
from ofa_tf.search.accuracy_predictor import AccuracyPredictor, PredictorTrainConfig, build_mlp
from ofa_tf.search.accuracy_predictor import train_predictor
from ofa_tf.search_space import get_space

_CONFIG = PredictorTrainConfig(hidden_units=(400, 400, 400), epochs=60, batch_size=64)


def synthetic_dataset(space, num, seed=0, noise=0.3):
  """Configs and top-1 fractions from a linear function of the encoding plus noise (points)."""
  rng = np.random.default_rng(seed)
  encoder = ArchEncoder(space)
  configs = [space.sample(rng) for _ in range(num)]
  weights = rng.normal(0.0, 1.0, encoder.dim)
  clean = 70.0 + encoder.encode(configs) @ weights
  top1 = (clean + rng.normal(0.0, noise, num)) / 100.0
  return configs, top1, clean


class PredictorTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.space = get_space("ofa_mbv3_tiny")
    cls.configs, cls.top1, cls.clean = synthetic_dataset(cls.space, 800)
    cls.predictor, cls.report = train_predictor(cls.space, cls.configs, cls.top1, _CONFIG)

  def test_learns_synthetic_function(self):
    report = self.report
    spread = float(np.std(self.top1 * 100))
    self.assertEqual((report.num_train, report.num_val), (640, 160))
    self.assertLess(report.val_rmse, 0.25 * spread, msg=f"{report}, spread {spread}")
    self.assertGreater(report.val_kendall_tau, 0.8, msg=str(report))
    self.assertAllClose(report.target_mean, 100 * self.top1.mean(), atol=0.5)

  def test_output_bias_starts_at_mean(self):
    model = build_mlp(10, (8, 8), 73.5, seed=0)
    self.assertAllClose(model.layers[-1].bias.numpy(), [73.5])
    self.assertEqual(len(model.layers), 4)

  def test_deterministic(self):
    configs, top1 = self.configs[:100], self.top1[:100]
    small = PredictorTrainConfig(hidden_units=(32,), epochs=3, batch_size=16)
    a, report_a = train_predictor(self.space, configs, top1, small)
    b, report_b = train_predictor(self.space, configs, top1, small)
    self.assertEqual(report_a, report_b)
    self.assertAllEqual(a.predict(configs), b.predict(configs))

  def test_numpy_equals_keras(self):
    features = self.predictor.encoder.encode(self.configs[:100])
    keras_out = self.predictor.keras_model()(features).numpy()[:, 0]
    self.assertAllClose(self.predictor.predict_features(features), keras_out, atol=1e-3)

  def test_save_load_round_trip_and_space_check(self):
    directory = os.path.join(self.get_temp_dir(), "predictor")
    self.predictor.save(directory)
    loaded = AccuracyPredictor.load(directory, self.space)
    self.assertEqual(loaded.space, self.space)
    self.assertEqual(loaded.report, self.report)
    self.assertAllEqual(loaded.predict(self.configs[:10]), self.predictor.predict(self.configs[:10]))
    with self.assertRaises(FileExistsError):
      self.predictor.save(directory)
    with self.assertRaisesRegex(ValueError, "trained on space 'ofa_mbv3_tiny'.*ofa_mbv3_w1.0"):
      AccuracyPredictor.load(directory, get_space("ofa_mbv3_w1.0"))

  def test_bad_inputs(self):
    with self.assertRaisesRegex(ValueError, "fractions"):
      train_predictor(self.space, self.configs[:10], np.full(10, 75.0), _CONFIG)
    with self.assertRaisesRegex(ValueError, "needs 145"):
      AccuracyPredictor(get_space("ofa_mbv3_w1.0"), self.predictor.weights)


if __name__ == "__main__":
  tf.test.main()
