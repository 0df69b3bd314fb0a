"""Writes small image folders (`folder:PATH` layout) of random-noise images for tests."""

from __future__ import annotations

import os

import numpy as np
import tensorflow as tf


def write_image_folder(root: str, classes: int = 2, per_class: int = 10, size: int = 24,
                       seed: int = 0, extension: str = "jpg") -> list[str]:
  """Writes root/class_<i>/img_<j>.<extension> (JPEG or PNG of uniform noise, size x size).

  Returns:
    The paths written, class by class.
  """
  rng = np.random.default_rng(seed)
  encode = tf.io.encode_png if extension == "png" else tf.io.encode_jpeg
  paths = []
  for label in range(classes):
    class_dir = os.path.join(root, f"class_{label}")
    os.makedirs(class_dir, exist_ok=True)
    for i in range(per_class):
      image = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
      path = os.path.join(class_dir, f"img_{i:04d}.{extension}")
      tf.io.write_file(path, encode(image))
      paths.append(path)
  return paths
