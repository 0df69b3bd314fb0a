"""Tests for metadata."""

import numpy as np
import tensorflow as tf

from ofa_tf.export import converter
from ofa_tf.export import metadata
from ofa_tf.export import recipes
from ofa_tf.export import tflite_graph
from ofa_tf.export import verify


def _tiny_model():
  import tf_keras  # pylint: disable=g-import-not-at-top
  inputs = tf_keras.Input((8, 8, 3))
  x = tf_keras.layers.Conv2D(4, 3, use_bias=False)(inputs)
  x = tf_keras.layers.GlobalAveragePooling2D()(x)
  return tf_keras.Model(inputs, tf_keras.layers.Dense(3)(x))


class MetadataTest(tf.test.TestCase):

  def test_metadata_round_trip_and_model_still_runs(self):
    model = _tiny_model()
    images = np.random.default_rng(0).uniform(0, 1, (4, 8, 8, 3)).astype(np.float32)
    content = converter._convert(  # pylint: disable=protected-access
        model, recipes.get_recipe("cpu_fp32"), images)
    content = metadata.add_signature(content)
    meta = metadata.ImageClassifierMetadata(
        name="tiny", description="test", version="v1", labels=("cat", "dog", "eel"),
        mean=(127.5,), std=(127.5,))
    with_meta = metadata.add_image_classifier_metadata(content, meta)
    graph = tflite_graph.read_tflite(with_meta)
    self.assertIn(metadata.METADATA_NAME, graph.metadata_names)
    self.assertEqual(graph.signature_keys, ("serving_default",))
    got = metadata.read_image_classifier_metadata(with_meta)
    self.assertEqual(got["labels"], ["cat", "dog", "eel"])
    self.assertEqual((got["name"], got["version"], got["min_parser_version"]),
                     ("tiny", "v1", "1.0.0"))
    self.assertAllClose(got["mean"], [127.5])
    self.assertAllClose(got["std"], [127.5])
    buf = tflite_graph.find_metadata_buffer(with_meta, metadata.METADATA_NAME)
    self.assertEqual(buf[4:8], b"M001")
    before, _, _ = verify.run_tflite(content, images)
    after, _, _ = verify.run_tflite(with_meta, images)
    self.assertAllEqual(before, after)

  def test_invalid_metadata(self):
    with self.assertRaisesRegex(ValueError, "labels"):
      metadata.ImageClassifierMetadata("n", "d", "v", labels=())
    with self.assertRaisesRegex(ValueError, "std"):
      metadata.ImageClassifierMetadata("n", "d", "v", labels=("a",), std=(0.0,))


if __name__ == "__main__":
  tf.test.main()
