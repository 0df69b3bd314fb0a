"""Image-folder datasets: `folder:PATH` with one subfolder per class.

Layout: PATH/<class name>/<image>.{jpg,jpeg,png,bmp,gif} (extension case-insensitive; other
files and hidden entries are ignored; class = sorted subfolder names, label = index). Images
are decoded with `tf.io.decode_image` (grayscale replicated to RGB, GIF: first frame).

Split: the folder has none, so each class is split deterministically 80/10/10
train/validation/test (per class: files sorted, shuffled with `np.random.default_rng([seed,
label])`, round(10%) to test, round(10%) to validation, the rest to train), which keeps the
class balance and is stable when other classes change.

Max resolution: `encoded.MAX_UPSAMPLING` x the smallest shorter side among up to
`SIZE_SAMPLE` training images spread evenly over the file list (an estimate: decoding every
image at load time would be slow for large folders).
"""

from __future__ import annotations

import os

import numpy as np
import tensorflow as tf

from ofa_tf.data import encoded
from ofa_tf.data import sampling

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif")
VALIDATION_FRACTION = 0.1
TEST_FRACTION = 0.1
SIZE_SAMPLE = 16


def scan_folder(path: str) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]:
  """Lists the classes and image files of a class-per-subfolder directory.

  Args:
    path: the dataset directory.

  Returns:
    (class_names, files) where files[label] is the sorted tuple of image paths of a class.

  Raises:
    ValueError: if `path` is not a directory, has no class subfolders, or a class subfolder
      holds no image with one of `IMAGE_EXTENSIONS`.
  """
  if not os.path.isdir(path):
    raise ValueError(f"image folder {path!r} does not exist or is not a directory "
                     f"(expected folder:PATH with one subfolder per class)")
  class_names = sorted(e.name for e in os.scandir(path)
                       if e.is_dir() and not e.name.startswith("."))
  if not class_names:
    raise ValueError(f"image folder {path!r} has no class subfolders (expected "
                     f"{path}/<class name>/<image>{'|'.join(IMAGE_EXTENSIONS)})")
  files = []
  for name in class_names:
    class_dir = os.path.join(path, name)
    images = sorted(e.path for e in os.scandir(class_dir)
                    if e.is_file() and not e.name.startswith(".")
                    and e.name.lower().endswith(IMAGE_EXTENSIONS))
    if not images:
      raise ValueError(f"class folder {class_dir!r} holds no images "
                       f"({', '.join(IMAGE_EXTENSIONS)})")
    files.append(tuple(images))
  return tuple(class_names), tuple(files)


def split_files(files, seed: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
  """Per-class 80/10/10 split (see module doc) -> {split: (paths, labels int32)}."""
  parts = {s: ([], []) for s in ("train", "validation", "test")}
  for label, class_files in enumerate(files):
    order = np.random.default_rng([seed, label]).permutation(len(class_files))
    n_test = int(round(TEST_FRACTION * len(order)))
    n_val = int(round(VALIDATION_FRACTION * len(order)))
    chunks = {"test": order[:n_test], "validation": order[n_test:n_test + n_val],
              "train": order[n_test + n_val:]}
    for split, chunk in chunks.items():
      parts[split][0].extend(class_files[i] for i in sorted(chunk))
      parts[split][1].extend([label] * len(chunk))
  return {s: (np.array(p, dtype=object).astype(str), np.array(l, dtype=np.int32))
          for s, (p, l) in parts.items()}


class FolderSource:
  """`encoded.RecordSource` over image files; records are file paths."""

  def __init__(self, splits):
    self._splits = splits

  def train_records(self, epoch, seed):
    paths, labels = self._splits["train"]
    order = sampling.epoch_permutation(seed, epoch, len(labels))
    return tf.data.Dataset.from_tensor_slices(
        (tf.gather(tf.constant(paths), order), tf.gather(tf.constant(labels), order)))

  def calibration_records(self, seed, count):
    paths, labels = self._splits["train"]
    index = sampling.calibration_subset(seed, len(labels), count)
    return tf.data.Dataset.from_tensor_slices(
        (tf.gather(tf.constant(paths), index), tf.gather(tf.constant(labels), index)))

  def eval_records(self, split):
    paths, labels = self._splits[split]
    return tf.data.Dataset.from_tensor_slices(
        (tf.constant(paths, tf.string), tf.constant(labels, tf.int32)))

  def decode(self, record):
    return encoded.decode_image(tf.io.read_file(record))


def load_folder(path: str, *, seed: int = 0) -> encoded.EncodedImageData:
  """Loads `folder:PATH` (see module doc); `seed` selects the train/validation/test split.

  Raises:
    ValueError: see `scan_folder`; also if the split leaves no training image.
  """
  class_names, files = scan_folder(path)
  splits = split_files(files, seed)
  train_paths = splits["train"][0]
  if not len(train_paths):
    raise ValueError(f"image folder {path!r} has no training images after the split")
  sample = train_paths[np.linspace(0, len(train_paths) - 1,
                                   min(SIZE_SAMPLE, len(train_paths))).astype(int)]
  sides = [min(encoded.decode_image(tf.io.read_file(p)).shape[:2]) for p in sample]
  return encoded.EncodedImageData(
      name=f"folder:{path}", class_names=class_names,
      split_sizes={s: len(v[1]) for s, v in splits.items()},
      max_resolution=encoded.max_resolution_from_sides(sides), source=FolderSource(splits))
