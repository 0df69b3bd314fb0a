"""Tests for recipes."""

import tensorflow as tf

from ofa_tf.export import recipes


class RecipesTest(tf.test.TestCase):

  def test_all_targets_defined(self):
    self.assertCountEqual(recipes.RECIPES,
                          ["cpu_fp32", "cpu_int8", "gpu_fp16", "dsp_int8", "edgetpu_int8"])

  def test_json_round_trip(self):
    for recipe in recipes.RECIPES.values():
      self.assertEqual(recipes.TargetRecipe.from_json(recipe.to_json()), recipe)

  def test_unknown_target_lists_known(self):
    with self.assertRaisesRegex(ValueError, "unknown target 'tpu_v9'.*cpu_int8"):
      recipes.get_recipe("tpu_v9")

  def test_invalid_fields(self):
    with self.assertRaisesRegex(ValueError, "quantization="):
      recipes.TargetRecipe("x", "int4", "int8")
    with self.assertRaisesRegex(ValueError, "io_dtype"):
      recipes.TargetRecipe("x", "int8", "float32")
    with self.assertRaisesRegex(ValueError, "require_edgetpu_mapping"):
      recipes.TargetRecipe("x", "int8", "int8", batch_size=None, hswish_mode="decomposed",
                           require_edgetpu_mapping=True)


if __name__ == "__main__":
  tf.test.main()
