"""pytest configuration shared by every test module.

absl's flag-reading helpers (e.g. `absltest.TestCase.create_tempdir`) require parsed flags,
which Bazel's test runner and `tf.test.main()` provide but pytest does not.
"""

from absl import flags


def pytest_configure(config):
  del config
  if not flags.FLAGS.is_parsed():
    flags.FLAGS.mark_as_parsed()
