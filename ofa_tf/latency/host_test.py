"""Tests of host fingerprints and the host check."""

import warnings

import tensorflow as tf

from ofa_tf.latency import host

XEON = """processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) CPU @ 2.00GHz
flags\t\t: fpu sse sse2 ssse3 fma sse4_1 sse4_2 avx f16c avx2 avx512f avx512_vnni amx_tile amx_int8 smep
processor\t: 1
model name\t: Intel(R) Xeon(R) CPU @ 2.00GHz
"""
EPYC = """processor\t: 0
model name\t: AMD EPYC 7B13
flags\t\t: fpu sse sse2 fma avx avx2
"""
ARM = """processor\t: 0
Features\t: fp asimd evtstrm aes crc32 atomics fphp asimdhp asimddp i8mm sve
CPU implementer\t: 0x41
CPU part\t: 0xd0c
"""


class FingerprintTest(tf.test.TestCase):

  def test_reads_model_and_isa_flags(self):
    fp = host.host_fingerprint(XEON, litert_version="2.3.0", machine="x86_64")
    self.assertEqual(fp["cpu_model"], "Intel(R) Xeon(R) CPU @ 2.00GHz")
    # Only ISA extensions, sorted; 'fpu' and the security flag 'smep' are not kept.
    self.assertEqual(fp["isa_flags"], ["amx_int8", "amx_tile", "avx", "avx2", "avx512_vnni",
                                       "avx512f", "f16c", "fma", "sse", "sse2", "sse4_1",
                                       "sse4_2", "ssse3"])
    self.assertEqual((fp["machine"], fp["litert"]), ("x86_64", "2.3.0"))

  def test_arm_without_model_name(self):
    fp = host.host_fingerprint(ARM, litert_version="2.3.0", machine="aarch64")
    self.assertEqual(fp["cpu_model"], "implementer 0x41 part 0xd0c")
    self.assertEqual(fp["isa_flags"], ["asimd", "asimddp", "asimdhp", "fphp", "i8mm", "sve"])

  def test_this_host(self):
    fp = host.host_fingerprint()
    self.assertTrue(fp["cpu_model"])
    self.assertEqual(host.check_host(fp, fp), {})


class CheckHostTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.xeon = host.host_fingerprint(XEON, "2.3.0", "x86_64")
    self.epyc = host.host_fingerprint(EPYC, "2.3.0", "x86_64")

  def test_other_host_warns_naming_both(self):
    with warnings.catch_warnings(record=True) as caught:
      warnings.simplefilter("always")
      diff = host.check_host(self.xeon, self.epyc, what="w10.json")
    self.assertEqual(set(diff), {"cpu_model", "isa_flags"})
    self.assertLen(caught, 1)
    message = str(caught[0].message)
    self.assertIn("w10.json was measured on another host", message)
    self.assertIn("Intel(R) Xeon(R) CPU @ 2.00GHz", message)
    self.assertIn("AMD EPYC 7B13", message)

  def test_other_host_refused_on_error(self):
    with self.assertRaisesRegex(host.HostMismatchError, "AMD EPYC 7B13.*Intel|Intel.*AMD EPYC"):
      host.check_host(self.xeon, self.epyc, on_mismatch="error")

  def test_other_litert_version_is_a_mismatch(self):
    newer = dict(self.epyc, litert="2.4.0")
    self.assertEqual(host.check_host(self.epyc, newer, on_mismatch="ignore"),
                     {"litert": ("2.3.0", "2.4.0")})

  def test_same_host_is_silent(self):
    with warnings.catch_warnings():
      warnings.simplefilter("error")
      self.assertEqual(host.check_host(dict(self.epyc, cpu_count=64), self.epyc), {})

  def test_table_without_fingerprint_warns(self):
    with self.assertWarnsRegex(UserWarning, "no host fingerprint"):
      host.check_host({"machine": "x86_64", "cpu_count": 2}, self.epyc)
    with self.assertRaisesRegex(host.HostMismatchError, "no host fingerprint"):
      host.check_host(None, self.epyc, on_mismatch="error")

  def test_bad_mode(self):
    with self.assertRaisesRegex(ValueError, "on_mismatch"):
      host.check_host(self.epyc, self.epyc, on_mismatch="maybe")


if __name__ == "__main__":
  tf.test.main()
