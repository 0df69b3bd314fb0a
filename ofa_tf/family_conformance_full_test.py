"""The family conformance checks for the released full-size spaces (slow: minutes each)."""

import pytest
import tensorflow as tf

from ofa_tf.family_conformance import FamilyConformance


@pytest.mark.slow
class MobileNetV3W10Test(FamilyConformance, tf.test.TestCase):
  SPACE = "ofa_mbv3_w1.0"


@pytest.mark.slow
class MobileNetV3W12Test(FamilyConformance, tf.test.TestCase):
  SPACE = "ofa_mbv3_w1.2"


@pytest.mark.slow
class ProxylessW13Test(FamilyConformance, tf.test.TestCase):
  SPACE = "ofa_proxyless_w1.3"


@pytest.mark.slow
class ResNet50Test(FamilyConformance, tf.test.TestCase):
  SPACE = "ofa_resnet50"
  NUM_CONFIGS = 6


class EdgeTpuTest(FamilyConformance, tf.test.TestCase):
  SPACE = "ofa_edgetpu"


if __name__ == "__main__":
  tf.test.main()
