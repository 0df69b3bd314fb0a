"""TFDS datasets: `tfds:NAME` for any TFDS image classification dataset.

NAME is what `tfds.builder` accepts ("imagenette", "imagenette/320px", "imagenet2012",
"cifar10:3.0.2"). The dataset must have an `Image` feature and a `ClassLabel` feature (its
`supervised_keys`, else "image" / "label"). `load_tfds` prepares it if needed
(`download_and_prepare`, with `manual_dir` for datasets such as imagenet2012 whose archives
must be placed by hand; nothing is downloaded if it is already prepared in `data_dir`).

Splits (`plan_splits`): TFDS train/validation/test are used when present. Missing ones are
carved from the end of train, `held_out_size` = min(10000, n_train // 10) examples each (the
reference OFA release also holds out 10,000 ImageNet training images for validation):
- train + test (cifar10): validation = train[-v:];
- train + validation (imagenette, imagenet2012, whose test labels are not public): test =
  the TFDS validation split, validation = train[-v:];
- train only: validation = train[-2v:-v], test = train[-v:].

Training order: records are read in TFDS's fixed file order (TFDS shuffles examples when it
prepares a dataset) and shuffled per epoch with a buffer of `SHUFFLE_BUFFER` encoded images
seeded by (seed, epoch); images are decoded after the shuffle and after any resume skip.
Note: `tf.data` combines this op-level seed with the global seed, so keep
`tf.random.set_seed` the same across a resume.

Offline: a dataset that needs a download (imagenette) stops at the download with one
`DatasetDownloadError` naming the dataset, the URL and what to do (prepare it where the
network is reachable and copy the data directory, or use `folder:PATH`).

Max resolution: 8 x the shorter side of the `Image` feature when its shape is fixed
(cifar10: 256), else of the smallest image among the first 16 training examples.
"""

from __future__ import annotations

import os

import tensorflow as tf
import tensorflow_datasets as tfds

from ofa_tf.data import encoded
from ofa_tf.data import sampling

SHUFFLE_BUFFER = 8192
MAX_HELD_OUT = 10000
SIZE_SAMPLE = 16


class DatasetDownloadError(ConnectionError):
  """A TFDS dataset needs a download that failed (no network, unreachable host)."""


def _download_failure(spec: str, data_dir_root: str, error: BaseException
                      ) -> DatasetDownloadError:
  request = getattr(error, "request", None)
  url = getattr(request, "url", None)
  reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
  if len(reason) > 160:
    reason = reason[:157] + "..."
  return DatasetDownloadError(
      f"{spec} must be downloaded{f' from {url}' if url else ''} and the download failed "
      f"({type(error).__name__}: {reason}); prepare it where the network is reachable and "
      f"copy the TFDS data directory to {data_dir_root} (or set TFDS_DATA_DIR), or train on "
      f"an image folder (--dataset=folder:PATH)")


def held_out_size(num_train: int) -> int:
  """Examples carved from train for each missing split: min(10000, n_train // 10), >= 1."""
  return max(1, min(MAX_HELD_OUT, num_train // 10))


def plan_splits(available: dict[str, int]) -> dict[str, tuple[str, int]]:
  """Maps our train/validation/test to TFDS split strings (see module doc).

  Args:
    available: TFDS split name -> number of examples.

  Returns:
    {"train" | "validation" | "test": (TFDS split string, number of examples)}.

  Raises:
    ValueError: if there is no "train" split or it is too small to carve from.
  """
  if "train" not in available:
    raise ValueError(f"TFDS dataset has no 'train' split (splits: {sorted(available)})")
  n = available["train"]
  v = held_out_size(n)
  has_val, has_test = "validation" in available, "test" in available
  if has_val and has_test:
    return {s: (s, available[s]) for s in ("train", "validation", "test")}
  if has_test:
    return {"train": (f"train[:-{v}]", n - v), "validation": (f"train[-{v}:]", v),
            "test": ("test", available["test"])}
  if has_val:
    return {"train": (f"train[:-{v}]", n - v), "validation": (f"train[-{v}:]", v),
            "test": ("validation", available["validation"])}
  if n < 3 * v or n < 3:
    raise ValueError(f"TFDS train split of {n} examples is too small to carve validation "
                     f"and test splits from")
  return {"train": (f"train[:-{2 * v}]", n - 2 * v),
          "validation": (f"train[-{2 * v}:-{v}]", v), "test": (f"train[-{v}:]", v)}


class TfdsSource:
  """`encoded.RecordSource` over a prepared TFDS builder; records are encoded image bytes."""

  def __init__(self, builder, splits, image_key: str, label_key: str):
    self._builder = builder
    self._splits = splits
    self._keys = (image_key, label_key)

  def records(self, split: str) -> tf.data.Dataset:
    """(encoded image, label) of one of our splits, in TFDS's fixed order."""
    image_key, label_key = self._keys
    ds = self._builder.as_dataset(split=self._splits[split][0], shuffle_files=False,
                                  decoders={image_key: tfds.decode.SkipDecoding()})
    return ds.map(lambda ex: (ex[image_key], ex[label_key]))

  def _shuffled(self, shuffle_seed):
    return self.records("train").shuffle(SHUFFLE_BUFFER, seed=shuffle_seed,
                                         reshuffle_each_iteration=False)

  def train_records(self, epoch, seed):
    key = sampling.derived_seed(seed, sampling.SHUFFLE_STREAM, epoch)
    return self._shuffled(tf.random.stateless_uniform([], key, dtype=tf.int64, minval=None,
                                                      maxval=None))

  def calibration_records(self, seed, count):
    key = sampling.derived_seed(seed, sampling.CALIBRATION_STREAM, 0)
    return self._shuffled(tf.random.stateless_uniform([], key, dtype=tf.int64, minval=None,
                                                      maxval=None)).take(count)

  def eval_records(self, split):
    return self.records(split)

  def decode(self, record):
    return encoded.decode_image(record)


def load_tfds(name: str, *, data_dir: str | None = None,
              manual_dir: str | None = None) -> encoded.EncodedImageData:
  """Loads `tfds:NAME` (see module doc).

  Args:
    name: TFDS dataset name (optionally with config/version).
    data_dir: TFDS data directory (default: TFDS's, ~/tensorflow_datasets).
    manual_dir: where manually downloaded archives are (default: data_dir/downloads/manual).

  Returns:
    An `encoded.EncodedImageData`.

  Raises:
    ValueError: unknown dataset name, or not an image classification dataset.
    DatasetDownloadError: the dataset is not prepared in `data_dir` and downloading it
      failed (e.g. offline).
  """
  spec = f"tfds:{name}"
  try:
    builder = tfds.builder(name, data_dir=data_dir)
  except tfds.core.registered.DatasetNotFoundError as e:
    raise ValueError(f"unknown TFDS dataset in {spec!r}: {e}".split("\n")[0]) from e
  info = builder.info
  image_key, label_key = info.supervised_keys or ("image", "label")
  features = info.features
  if (image_key not in features or label_key not in features
      or not isinstance(features[image_key], tfds.features.Image)
      or not isinstance(features[label_key], tfds.features.ClassLabel)):
    raise ValueError(f"{spec!r} is not an image classification dataset (needs an Image "
                     f"feature and a ClassLabel feature, has {list(features.keys())})")
  try:
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(manual_dir=manual_dir))
  except (OSError, tfds.download.DownloadError) as e:  # requests' errors are OSErrors.
    if isinstance(e, (FileNotFoundError, PermissionError)):
      raise
    raise _download_failure(spec, os.fspath(builder.data_dir_root), e) from e
  splits = plan_splits({s: builder.info.splits[s].num_examples for s in builder.info.splits})
  source = TfdsSource(builder, splits, image_key, label_key)
  height, width = features[image_key].shape[:2]
  if height and width:
    sides = [min(height, width)]
  else:
    sides = [min(source.decode(r).shape[:2])
             for r, _ in source.records("train").take(SIZE_SAMPLE)]
  return encoded.EncodedImageData(
      name=spec, class_names=features[label_key].names,
      split_sizes={s: size for s, (_, size) in splits.items()},
      max_resolution=encoded.max_resolution_from_sides(sides), source=source)
