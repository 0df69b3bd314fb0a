"""Image-folder datasets: `folder:PATH` with one subfolder per class.

Layout: PATH/<class name>/<image>.{jpg,jpeg,png,bmp,gif} (extension case-insensitive; other
files and hidden entries are ignored; class = sorted subfolder names, label = index). Images
are decoded with `tf.io.decode_image` (grayscale replicated to RGB, GIF: first frame).

Split: the folder has none, so each class is split deterministically 80/10/10
train/validation/test (per class: files sorted, shuffled with `np.random.default_rng([seed,
label])`, round(10%) to test, round(10%) to validation, the rest to train), which keeps the
class balance and is stable when other classes change.

Image check (`bad_images`): every image file is decoded once at load time (threads, about
1-5 ms per image and core), so a corrupt or mislabelled file is found before training rather
than at the step that meets it, with the file named:
- "fail" (default): `ValueError` naming the unreadable files and TensorFlow's reason;
- "skip": unreadable files are left out of every split and counted (`FolderReport`);
- "unchecked": no check (for folders too large to decode at load time); a bad file then
  stops training with TensorFlow's error, which does not name it.
Files without an image extension are ignored and counted.

Max resolution: `encoded.MAX_UPSAMPLING` x the smallest shorter side among the training
images (checked policies), or among up to `SIZE_SAMPLE` training images spread evenly over
the file list ("unchecked": an estimate).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import os
import re

import numpy as np
import tensorflow as tf

from ofa_tf.data import encoded
from ofa_tf.data import sampling

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif")
VALIDATION_FRACTION = 0.1
TEST_FRACTION = 0.1
SIZE_SAMPLE = 16
BAD_IMAGE_POLICIES = ("fail", "skip", "unchecked")
_SHOWN = 5  # Unreadable files named in a message.


@dataclasses.dataclass(frozen=True)
class FolderReport:
  """What `load_folder` found: images used, unreadable files skipped (path, reason) and
  non-image files ignored."""
  path: str
  used: int
  skipped: tuple[tuple[str, str], ...] = ()
  ignored: int = 0

  def __str__(self) -> str:
    text = (f"folder:{self.path}: {self.used} images used, {len(self.skipped)} unreadable "
            f"skipped, {self.ignored} non-image files ignored")
    if self.skipped:
      text += " (skipped: " + "; ".join(f"{p}: {r}" for p, r in self.skipped[:_SHOWN]) + (
          f"; and {len(self.skipped) - _SHOWN} more" if len(self.skipped) > _SHOWN else "") + ")"
    return text


def _tf_reason(error: Exception) -> str:
  """TensorFlow's message without its op wrapper ("{{function_node ...}} ... [Op:...]")."""
  text = getattr(error, "message", None) or str(error)
  text = re.sub(r"\{\{function_node [^}]*\}\}\s*", "", text)
  text = re.sub(r"\s*\[Op:\w+\]", "", text)
  return text.strip().splitlines()[0] if text.strip() else type(error).__name__


def _shorter_side(path: str) -> int | str:
  """The decoded image's shorter side in pixels, or the reason it cannot be decoded."""
  try:
    return int(min(encoded.decode_image(tf.io.read_file(path)).shape[:2]))
  except (tf.errors.OpError, OSError) as e:
    return _tf_reason(e)


def check_images(paths, workers: int | None = None) -> tuple[dict[str, int], dict[str, str]]:
  """Decodes every file of `paths` once (`encoded.decode_image`, in threads).

  Returns:
    ({path: shorter side in pixels} of the readable images, {path: reason} of the others).
  """
  workers = workers or min(16, (os.cpu_count() or 1) * 2)
  with concurrent.futures.ThreadPoolExecutor(workers) as pool:
    results = dict(zip(paths, pool.map(_shorter_side, paths)))
  good = {p: v for p, v in results.items() if isinstance(v, int)}
  bad = {p: v for p, v in results.items() if not isinstance(v, int)}
  return good, bad


def _count_ignored(path: str, class_names) -> int:
  return sum(1 for name in class_names for e in os.scandir(os.path.join(path, name))
             if e.is_file() and not e.name.startswith(".")
             and not e.name.lower().endswith(IMAGE_EXTENSIONS))


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


def load_folder(path: str, *, seed: int = 0,
                bad_images: str = "fail") -> encoded.EncodedImageData:
  """Loads `folder:PATH` (see module doc); `seed` selects the train/validation/test split.

  Args:
    path: the dataset directory.
    seed: selects the split.
    bad_images: "fail", "skip" or "unchecked" (see module doc).

  Returns:
    An `encoded.EncodedImageData` whose `report` is a `FolderReport`.

  Raises:
    ValueError: see `scan_folder`; an unreadable image with bad_images="fail" (naming the
      files and why); a class left without images after skipping; an unknown policy; no
      training image after the split.
  """
  if bad_images not in BAD_IMAGE_POLICIES:
    raise ValueError(f"bad_images must be one of {BAD_IMAGE_POLICIES}, got {bad_images!r}")
  class_names, files = scan_folder(path)
  skipped, sides = (), None
  if bad_images != "unchecked":
    good, bad = check_images([p for class_files in files for p in class_files])
    skipped = tuple(sorted(bad.items()))
    if skipped and bad_images == "fail":
      shown = "; ".join(f"{p}: {r}" for p, r in skipped[:_SHOWN])
      more = f"; and {len(skipped) - _SHOWN} more" if len(skipped) > _SHOWN else ""
      raise ValueError(f"image folder {path!r} holds {len(skipped)} unreadable image "
                       f"file(s): {shown}{more}; fix or remove them, or skip them "
                       f"(--bad_images=skip)")
    files = tuple(tuple(p for p in class_files if p in good) for class_files in files)
    for name, class_files in zip(class_names, files):
      if not class_files:
        raise ValueError(f"class folder {os.path.join(path, name)!r} holds no readable images")
    sides = good
  splits = split_files(files, seed)
  train_paths = splits["train"][0]
  if not len(train_paths):
    raise ValueError(f"image folder {path!r} has no training images after the split")
  if sides is not None:
    train_sides = [sides[p] for p in train_paths]
  else:
    sample = train_paths[np.linspace(0, len(train_paths) - 1,
                                     min(SIZE_SAMPLE, len(train_paths))).astype(int)]
    train_sides = [v for v in map(_shorter_side, sample) if isinstance(v, int)]
    if not train_sides:
      raise ValueError(f"image folder {path!r}: none of {len(sample)} sampled training "
                       f"images is readable (e.g. {sample[0]}: {_shorter_side(sample[0])})")
  data = encoded.EncodedImageData(
      name=f"folder:{path}", class_names=class_names,
      split_sizes={s: len(v[1]) for s, v in splits.items()},
      max_resolution=encoded.max_resolution_from_sides(train_sides),
      source=FolderSource(splits))
  data.report = FolderReport(path, sum(len(f) for f in files), skipped,
                             _count_ignored(path, class_names))
  return data
