"""The family conformance checks (`ofa_tf.family_conformance`) for the tiny spaces (default
suite); the released full-size spaces are in family_conformance_full_test.py (slow)."""

import tensorflow as tf

from ofa_tf import family_conformance_full_test as full_sizes
from ofa_tf import search_space as ss
from ofa_tf.family_conformance import FamilyConformance


class MobileNetV3TinyTest(FamilyConformance, tf.test.TestCase):
  SPACE = "ofa_mbv3_tiny"


class ProxylessTinyTest(FamilyConformance, tf.test.TestCase):
  SPACE = "ofa_proxyless_tiny"


class ResNet50TinyTest(FamilyConformance, tf.test.TestCase):
  SPACE = "ofa_resnet50_tiny"
  # At 16 px the last stage runs on 1x1 maps: batch-2 BN statistics of two numbers give
  # logits and gradients of O(100), where float32 round-off of a re-ordered sum exceeds 1e-5.
  RESOLUTION = 32


class EdgeTpuTinyTest(FamilyConformance, tf.test.TestCase):
  SPACE = "ofa_edgetpu_tiny"


class EverySpaceIsCoveredTest(tf.test.TestCase):

  def test_every_registered_space_has_a_conformance_class(self):
    self.assertTrue(full_sizes.__name__)  # Imported for its classes (the full sizes).
    covered = {cls.SPACE for cls in FamilyConformance.__subclasses__()}
    self.assertEqual(covered, set(ss.space_names()))


if __name__ == "__main__":
  tf.test.main()
