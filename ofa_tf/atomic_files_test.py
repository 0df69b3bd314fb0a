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
    with self.assertRaises(atomic_files.OutputExistsError):
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


  def test_check_output_before_any_work(self):
    root = self.get_temp_dir()
    path = os.path.join(root, "new", "deeper", "out.tflite")
    atomic_files.check_output(path)  # Missing directories are fine: write_bytes makes them.
    self.assertFalse(os.path.exists(os.path.join(root, "new")))
    existing = os.path.join(root, "existing.json")
    atomic_files.write_text(existing, "x")
    with self.assertRaises(atomic_files.OutputExistsError) as caught:
      atomic_files.check_output(existing)
    self.assertEqual(caught.exception.path, existing)
    atomic_files.check_output(existing, overwrite=True)
    with self.assertRaisesRegex(NotADirectoryError, "existing.json is a file"):
      atomic_files.check_output(os.path.join(existing, "x.json"))
    with self.assertRaisesRegex(IsADirectoryError, "is a directory"):
      atomic_files.check_output(root)
    with mock.patch.object(os, "access", return_value=False):  # Root may write anywhere.
      with self.assertRaisesRegex(PermissionError, "not writable"):
        atomic_files.check_output(path)

  def test_directory_staged_then_swapped_with_the_umask_mode(self):
    root = self.get_temp_dir()
    target = os.path.join(root, "final")
    for content in ("old", "new"):
      staging = atomic_files.make_staging_directory(root, "final")
      self.assertEqual(stat.S_IMODE(os.stat(staging).st_mode), 0o777 & ~_umask())
      atomic_files.write_text(os.path.join(staging, "f.txt"), content)
      atomic_files.replace_directory(staging, target)
      self.assertEqual(open(os.path.join(target, "f.txt")).read(), content)
    self.assertEqual(sorted(os.listdir(root)), ["final"])  # No staging or old copies left.
    # The swap fails after the old directory was moved aside: it is moved back.
    staging = atomic_files.make_staging_directory(root, "final")
    real_replace, calls = os.replace, []

    def replace(src, dst):
      calls.append(src)
      if len(calls) == 2:
        raise OSError("disk full")
      real_replace(src, dst)

    with mock.patch.object(os, "replace", side_effect=replace):
      with self.assertRaisesRegex(OSError, "disk full"):
        atomic_files.replace_directory(staging, target)
    self.assertLen(calls, 3)  # aside, failed swap, back
    self.assertEqual(open(os.path.join(target, "f.txt")).read(), "new")
    self.assertEqual(sorted(os.listdir(root)), ["final"])


def _umask() -> int:
  umask = os.umask(0)
  os.umask(umask)
  return umask


if __name__ == "__main__":
  tf.test.main()
