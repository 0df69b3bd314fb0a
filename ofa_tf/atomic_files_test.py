"""Tests of the atomic file writes."""

import json
import os
import stat
from unittest import mock

from matplotlib.figure import Figure
import tensorflow as tf

from ofa_tf import atomic_files


class AtomicFilesTest(tf.test.TestCase):

  def test_writes_replaces_and_refuses(self):
    path = os.path.join(self.get_temp_dir(), "sub", "a.json")
    atomic_files.write_json(path, {"x": 1})
    self.assertEqual(json.load(open(path)), {"x": 1})
    umask = os.umask(0)
    os.umask(umask)
    self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o666 & ~umask)
    atomic_files.write_text(path, "new")
    self.assertEqual(open(path).read(), "new")
    with self.assertRaisesRegex(FileExistsError, "exists"):
      atomic_files.write_text(path, "other", overwrite=False)
    self.assertEqual(open(path).read(), "new")

  def test_failure_keeps_the_old_file_and_leaves_no_temporary(self):
    path = os.path.join(self.get_temp_dir(), "b.txt")
    atomic_files.write_text(path, "old")
    with mock.patch.object(os, "replace", side_effect=OSError("disk full")):
      with self.assertRaisesRegex(OSError, "disk full"):
        atomic_files.write_text(path, "new")
    self.assertEqual(open(path).read(), "old")
    self.assertEqual(os.listdir(os.path.dirname(path)), ["b.txt"])

  def test_png_of_a_figure(self):
    path = os.path.join(self.get_temp_dir(), "plot.png")
    figure = Figure(figsize=(2, 1), dpi=50)
    figure.add_subplot(1, 1, 1).plot([0, 1], [1, 0])
    atomic_files.write_png(path, figure)
    with open(path, "rb") as f:
      self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
    with self.assertRaisesRegex(FileExistsError, "exists"):
      atomic_files.write_png(path, figure, overwrite=False)

  def test_directory_is_created_replaced_or_left_alone(self):
    parent = self.get_temp_dir()
    path = os.path.join(parent, "out")

    def fill(text):
      def write(staging):
        with open(os.path.join(staging, "a.txt"), "w") as f:
          f.write(text)
      return write

    atomic_files.write_directory(path, fill("one"))
    self.assertEqual(open(os.path.join(path, "a.txt")).read(), "one")
    umask = os.umask(0)
    os.umask(umask)
    self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o777 & ~umask)
    with self.assertRaisesRegex(FileExistsError, "not empty"):
      atomic_files.write_directory(path, fill("two"))

    def fail(staging):
      fill("half")(staging)
      raise RuntimeError("interrupted")

    with self.assertRaisesRegex(RuntimeError, "interrupted"):
      atomic_files.write_directory(path, fail, overwrite=True)
    self.assertEqual(open(os.path.join(path, "a.txt")).read(), "one")
    atomic_files.write_directory(path, fill("two"), overwrite=True)
    self.assertEqual(open(os.path.join(path, "a.txt")).read(), "two")
    self.assertEqual(sorted(os.listdir(parent)), ["out"])


if __name__ == "__main__":
  tf.test.main()
