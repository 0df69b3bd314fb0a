"""`load_dataset`: the one entry point from a `--dataset` spec string to a dataset."""

from __future__ import annotations

from ofa_tf.data import dataset
from ofa_tf.data import digits
from ofa_tf.data import folder
from ofa_tf.data import tfds_source

ACCEPTED_SPECS = ("digits", "tfds:NAME", "folder:PATH")


def load_dataset(spec: str, *, data_dir: str | None = None, seed: int = 0,
                 manual_dir: str | None = None,
                 bad_images: str = "fail") -> dataset.ImageClassificationData:
  """Loads an image classification dataset from a spec.

  Args:
    spec: "digits" (scikit-learn's bundled 8x8 digits, the default; `digits.py`),
      "tfds:NAME" (a TFDS image classification dataset, e.g. "tfds:imagenette";
      `tfds_source.py`) or "folder:PATH" (one subfolder per class; `folder.py`).
    data_dir: TFDS data directory (TFDS only).
    seed: selects the train/validation/test split of data that has none (digits, folders);
      0 is the documented default split.
    manual_dir: TFDS manual download directory, e.g. for "tfds:imagenet2012" (TFDS only).
    bad_images: what to do with unreadable images of a folder: "fail" (name them), "skip"
      (count them) or "unchecked" (folders only; `folder.py`).

  Returns:
    An `ImageClassificationData`.

  Raises:
    ValueError: unknown scheme or dataset name (naming the spec and the accepted forms),
      missing folder, folder without class subfolders, empty class folder, unreadable
      images (bad_images="fail").
  """
  scheme, sep, rest = spec.partition(":")
  if spec == "digits":
    return digits.DigitsData(seed=seed)
  if sep and scheme == "tfds" and rest:
    try:
      return tfds_source.load_tfds(rest, data_dir=data_dir, manual_dir=manual_dir)
    except ValueError as e:
      raise ValueError(f"{e} (accepted dataset specs: {', '.join(ACCEPTED_SPECS)})") from e
  if sep and scheme == "folder" and rest:
    return folder.load_folder(rest, seed=seed, bad_images=bad_images)
  raise ValueError(f"unknown dataset spec {spec!r}; accepted forms: "
                   f"{', '.join(ACCEPTED_SPECS)}")
