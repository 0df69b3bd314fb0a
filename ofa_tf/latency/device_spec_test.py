"""Tests of DeviceSpec and the named profiles."""

import tensorflow as tf

from ofa_tf.latency import device_spec as ds


class DeviceSpecTest(tf.test.TestCase):

  def test_profiles(self):
    for name in ("cpu_xnnpack_1t", "cpu_xnnpack_4t", "android_gpu", "android_nnapi",
                 "hexagon_dsp", "edgetpu_usb", "cpu_xnnpack_1t_int8", "cpu_builtin_1t",
                 "cpu_builtin_1t_int8"):
      spec = ds.get_profile(name)
      self.assertEqual(spec.name, name)
      self.assertEqual(ds.DeviceSpec.from_json(spec.to_json()), spec)
    self.assertEqual(ds.get_profile("cpu_xnnpack_4t").num_threads, 4)
    self.assertEqual(ds.get_profile("edgetpu_usb").precision, "int8")
    self.assertEqual(ds.get_profile("cpu_xnnpack_1t", rounds=2).rounds, 2)

  def test_builtin_profiles_differ_from_xnnpack_only_in_the_delegate(self):
    for precision_suffix in ("", "_int8"):
      xnnpack = ds.get_profile("cpu_xnnpack_1t" + precision_suffix)
      builtin = ds.get_profile("cpu_builtin_1t" + precision_suffix)
      self.assertFalse(builtin.use_xnnpack)
      self.assertEqual(builtin.replace(name=xnnpack.name, use_xnnpack=True), xnnpack)

  def test_errors_name_the_field(self):
    with self.assertRaisesRegex(ValueError, "unknown device profile 'nope'"):
      ds.get_profile("nope")
    with self.assertRaisesRegex(ValueError, "runner must be one of"):
      ds.DeviceSpec("x", runner="tflite")
    with self.assertRaisesRegex(ValueError, "precision must be one of"):
      ds.DeviceSpec("x", precision="int4")
    with self.assertRaisesRegex(ValueError, "external_delegate_path"):
      ds.DeviceSpec("x", runner="benchmark_model", delegate="external")
    with self.assertRaisesRegex(ValueError, "needs runner='benchmark_model'"):
      ds.DeviceSpec("x", delegate="gpu")
    with self.assertRaisesRegex(ValueError, "num_threads"):
      ds.DeviceSpec("x", num_threads=0)


if __name__ == "__main__":
  tf.test.main()
