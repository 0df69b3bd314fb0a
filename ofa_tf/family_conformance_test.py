"""The family conformance checks (`ofa_tf.family_conformance`) for every registered space:
the tiny spaces in the default suite, the released full-size ones in the slow suite."""

import pytest
import tensorflow as tf

from ofa_tf import search_space as ss
from ofa_tf.family_conformance import FamilyConformance


class MobileNetV3TinyTest(FamilyConformance, tf.test.TestCase):
  SPACE = "ofa_mbv3_tiny"


class ProxylessTinyTest(FamilyConformance, tf.test.TestCase):
  SPACE = "ofa_proxyless_tiny"


@pytest.mark.slow
class MobileNetV3W10Test(FamilyConformance, tf.test.TestCase):
  SPACE = "ofa_mbv3_w1.0"


@pytest.mark.slow
class MobileNetV3W12Test(FamilyConformance, tf.test.TestCase):
  SPACE = "ofa_mbv3_w1.2"


@pytest.mark.slow
class ProxylessW13Test(FamilyConformance, tf.test.TestCase):
  SPACE = "ofa_proxyless_w1.3"


class EverySpaceIsCoveredTest(tf.test.TestCase):

  def test_every_registered_space_has_a_conformance_class(self):
    covered = {cls.SPACE for cls in FamilyConformance.__subclasses__()}
    self.assertEqual(covered, set(ss.space_names()))


if __name__ == "__main__":
  tf.test.main()
