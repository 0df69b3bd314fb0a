"""Input pipelines for progressive-shrinking training (`tf.data`, resolution per batch).

`load_dataset("digits" | "tfds:NAME" | "folder:PATH")` returns an `ImageClassificationData`
with `train_batches` (infinite, resumable at any step), `eval_batches` and
`calibration_batches`; `resolution_for_step` tells a trainer the resolution of any batch.
"""

from ofa_tf.data.dataset import ImageClassificationData
from ofa_tf.data.dataset import SPLITS
from ofa_tf.data.digits import DigitsData
from ofa_tf.data.encoded import EncodedImageData
from ofa_tf.data.load import ACCEPTED_SPECS
from ofa_tf.data.load import load_dataset
from ofa_tf.data.sampling import resolution_for_step
from ofa_tf.data.sampling import resolution_index_for_step
from ofa_tf.data.transforms import IMAGENET_MEAN
from ofa_tf.data.transforms import IMAGENET_STD
from ofa_tf.data.transforms import imagenet_eval_transform
from ofa_tf.data.transforms import imagenet_train_transform

__all__ = [
    "ACCEPTED_SPECS", "DigitsData", "EncodedImageData", "IMAGENET_MEAN", "IMAGENET_STD",
    "ImageClassificationData", "SPLITS", "imagenet_eval_transform", "imagenet_train_transform",
    "load_dataset", "resolution_for_step", "resolution_index_for_step",
]
