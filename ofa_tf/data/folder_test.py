"""Tests for ofa_tf.data.folder on a tiny folder of PNG files written here."""

import itertools
import os

import numpy as np
import tensorflow as tf

from ofa_tf.data import folder


def make_folder(root, per_class=(5, 4), size=(12, 16)):
  """Writes class_a/, class_b/ ... with constant-colour PNGs: pixel value = 40 * label + 7."""
  for label, count in enumerate(per_class):
    class_dir = os.path.join(root, f"class_{'abc'[label]}")
    os.makedirs(class_dir)
    for i in range(count):
      image = np.full(size + (3,), 40 * label + 7, np.uint8)
      tf.io.write_file(os.path.join(class_dir, f"img{i}.png"), tf.io.encode_png(image))
  return root


def _take(ds, n):
  return [(x.numpy(), y.numpy()) for x, y in itertools.islice(ds, n)]


class FolderTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.root = make_folder(os.path.join(self.get_temp_dir(), "imgs"), per_class=(10, 10))
    self.data = folder.load_folder(self.root)

  def test_metadata_and_split(self):
    self.assertEqual(self.data.class_names, ("class_a", "class_b"))
    self.assertEqual(self.data.split_sizes, {"train": 16, "validation": 2, "test": 2})
    self.assertEqual(self.data.max_resolution, 8 * 12)
    splits = folder.split_files(folder.scan_folder(self.root)[1], seed=0)
    all_paths = np.concatenate([p for p, _ in splits.values()])
    self.assertLen(set(all_paths.tolist()), 20)

  def test_eval_covers_split_with_matching_labels(self):
    batches = _take(self.data.eval_batches("train", 5, 8), 10)
    self.assertEqual([x.shape for x, _ in batches], [(5, 8, 8, 3)] * 3 + [(1, 8, 8, 3)])
    for x, y in batches:
      # Constant images: every pixel encodes the label.
      pixel = x[:, 0, 0, 0] * 0.229 + 0.485
      self.assertAllClose(pixel * 255.0, 40.0 * y + 7, atol=1e-3)
    labels = np.concatenate([y for _, y in batches])
    self.assertAllEqual(np.bincount(labels), [8, 8])

  def test_train_resume_equals_skipping(self):
    full = _take(self.data.train_batches(6, (8, 16), seed=2), 5)
    resumed = _take(self.data.train_batches(6, (8, 16), seed=2, start_step=3), 2)
    for (xf, yf), (xr, yr) in zip(full[3:], resumed):
      self.assertAllEqual(xf, xr)
      self.assertAllEqual(yf, yr)

  def test_calibration_repeatable(self):
    a = _take(self.data.calibration_batches(10, 4, 16, seed=1), 5)
    b = _take(self.data.calibration_batches(10, 4, 16, seed=1), 5)
    self.assertEqual([x.shape[0] for x, _ in a], [4, 4, 2])
    for (xa, ya), (xb, yb) in zip(a, b):
      self.assertAllEqual(xa, xb)
      self.assertAllEqual(ya, yb)

  def test_grayscale_uppercase_ext_and_ignored_files(self):
    root = os.path.join(self.get_temp_dir(), "mixed")
    os.makedirs(os.path.join(root, "gray"))
    gray = np.full((9, 10, 1), 50, np.uint8)
    tf.io.write_file(os.path.join(root, "gray", "a.PNG"), tf.io.encode_png(gray))
    tf.io.write_file(os.path.join(root, "gray", "notes.txt"), "not an image")
    data = folder.load_folder(root)
    self.assertEqual(data.split_sizes["train"], 1)
    x, y = next(iter(data.eval_batches("train", 1, 8)))
    self.assertEqual(x.shape, (1, 8, 8, 3))

  def test_missing_folder(self):
    path = os.path.join(self.get_temp_dir(), "nope")
    with self.assertRaisesRegex(ValueError, f"{path}.*does not exist"):
      folder.load_folder(path)

  def test_no_class_subfolders(self):
    path = os.path.join(self.get_temp_dir(), "flat")
    os.makedirs(path)
    tf.io.write_file(os.path.join(path, "x.png"), tf.io.encode_png(np.zeros((4, 4, 3), np.uint8)))
    with self.assertRaisesRegex(ValueError, f"{path}.*no class subfolders"):
      folder.load_folder(path)

  def test_empty_class_folder(self):
    os.makedirs(os.path.join(self.root, "class_empty"))
    with self.assertRaisesRegex(ValueError, "class_empty.*holds no images"):
      folder.load_folder(self.root)


  def test_unreadable_images_fail_named_skip_counted_or_unchecked(self):
    jpeg = tf.io.encode_jpeg(np.full((12, 12, 3), 90, np.uint8)).numpy()
    bad = {os.path.join(self.root, "class_a", "text.jpg"): b"hello",
           os.path.join(self.root, "class_b", "cut.jpg"): jpeg[:len(jpeg) // 2],
           os.path.join(self.root, "class_b", "empty.png"): b""}
    for path, content in bad.items():
      with open(path, "wb") as f:
        f.write(content)
    with open(os.path.join(self.root, "class_a", "README"), "w") as f:
      f.write("ignored")
    with self.assertRaises(ValueError) as caught:
      folder.load_folder(self.root)
    message = str(caught.exception)
    self.assertIn("holds 3 unreadable image file(s)", message)
    self.assertIn(f"{self.root}/class_a/text.jpg: Unknown image file format", message)
    self.assertIn(f"{self.root}/class_b/cut.jpg: jpeg::Uncompress failed", message)
    self.assertIn(f"{self.root}/class_b/empty.png: Input is empty", message)
    self.assertNotIn("function_node", message)
    data = folder.load_folder(self.root, bad_images="skip")
    self.assertEqual(data.split_sizes, self.data.split_sizes)  # The same 20 good images.
    self.assertEqual((data.report.used, len(data.report.skipped), data.report.ignored),
                     (20, 3, 1))
    self.assertEqual([p for p, _ in data.report.skipped], sorted(bad))
    self.assertIn("20 images used, 3 unreadable skipped, 1 non-image files ignored",
                  str(data.report))
    unchecked = folder.load_folder(self.root, bad_images="unchecked")
    self.assertEqual(sum(unchecked.split_sizes.values()), 23)
    with self.assertRaisesRegex(ValueError, "bad_images must be one of"):
      folder.load_folder(self.root, bad_images="ignore")

  def test_class_left_without_readable_images(self):
    for name in os.listdir(os.path.join(self.root, "class_b")):
      with open(os.path.join(self.root, "class_b", name), "wb") as f:
        f.write(b"garbage")
    with self.assertRaisesRegex(ValueError, "class_b.*holds no readable images"):
      folder.load_folder(self.root, bad_images="skip")


if __name__ == "__main__":
  tf.test.main()
