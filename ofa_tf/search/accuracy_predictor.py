"""Accuracy predictor: an MLP on the one-hot architecture encoding (Cai et al., Sec. 3.4).

The model of the reference: 3 hidden layers of 400 ReLU units and one linear output whose
bias starts at the mean training accuracy, trained with Adam on an 80/20 split of measured
(subnet, top-1) pairs. Targets and predictions are top-1 accuracy in percent (0-100), so the
held-out RMSE is in accuracy points.

Training uses tf_keras (imported when first needed, so that loading a predictor and searching
start in about a second without TensorFlow); search-time inference runs the same weights in NumPy
(`AccuracyPredictor.predict_features`), which for batches of ~100 rows avoids the per-call
overhead of a Keras/TensorFlow call (see benchmarks/search_benchmark.py for the numbers).

A predictor records its space and its encoding variant (`ofa_tf.search.encoding_layouts`):
"ofa_tf" for the predictors trained here, "released_mbv3" / "released_resnet50" for the
released OFA predictors read by `ofa_tf.interop.accuracy_predictor_import` (their fraction
outputs are scaled to percent when read, so every predictor answers in percent).

Saved form (a directory): `predictor.json` (format tag, the space as JSON, the encoding
variant, layer sizes, the training report, the source of an imported predictor) and
`weights.npz` (kernel_i, bias_i float32). Predictors saved before the encoding was recorded
read as "ofa_tf".
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
from typing import Any, Sequence

import numpy as np
import scipy.stats

from ofa_tf.search.encoding import ArchEncoder
from ofa_tf.search.files import atomic_write_bytes
from ofa_tf.search_space import SearchSpace, SubnetConfig, space_from_dict

FORMAT = "ofa_tf.accuracy_predictor/1"
CONFIG_FILE = "predictor.json"
WORKDIR_SUBDIR = "accuracy_predictor"  # Where a work directory keeps its predictor.
WEIGHTS_FILE = "weights.npz"


@dataclasses.dataclass(frozen=True)
class PredictorTrainConfig:
  """Training hyper-parameters of the accuracy predictor.

  Attributes:
    hidden_units: widths of the ReLU hidden layers (reference: 3 x 400).
    learning_rate: Adam learning rate.
    epochs: passes over the training split.
    batch_size: rows per Adam step.
    validation_fraction: held-out fraction (reference: 0.2).
    seed: seeds the split, the initializers and the batch order.
  """
  hidden_units: tuple[int, ...] = (400, 400, 400)
  learning_rate: float = 1e-3
  epochs: int = 200
  batch_size: int = 128
  validation_fraction: float = 0.2
  seed: int = 0

  def __post_init__(self):
    object.__setattr__(self, "hidden_units", tuple(int(h) for h in self.hidden_units))
    if not self.hidden_units or min(self.hidden_units) <= 0:
      raise ValueError(f"PredictorTrainConfig.hidden_units must be positive ints, got "
                       f"{self.hidden_units}")
    if not 0.0 < self.validation_fraction < 1.0:
      raise ValueError(f"PredictorTrainConfig.validation_fraction must be in (0, 1), got "
                       f"{self.validation_fraction}")
    for field in ("epochs", "batch_size"):
      if int(getattr(self, field)) <= 0:
        raise ValueError(f"PredictorTrainConfig.{field} must be positive, got "
                         f"{getattr(self, field)}")
    if self.learning_rate <= 0:
      raise ValueError(f"PredictorTrainConfig.learning_rate must be positive, got "
                       f"{self.learning_rate}")


@dataclasses.dataclass(frozen=True)
class PredictorReport:
  """Quality of a trained predictor.

  Attributes:
    val_rmse: held-out RMSE in top-1 points.
    val_kendall_tau: held-out Kendall tau between predicted and measured top-1.
    train_rmse: RMSE on the training split, in points.
    num_train, num_val: split sizes.
    target_mean: mean training top-1 in percent (the output bias's initial value).
  """
  val_rmse: float
  val_kendall_tau: float
  train_rmse: float
  num_train: int
  num_val: int
  target_mean: float

  def to_dict(self) -> dict[str, Any]:
    return dataclasses.asdict(self)


def build_mlp(input_dim: int, hidden_units: Sequence[int], output_bias: float,
              seed: int) -> "tf_keras.Model":
  """The predictor MLP: Dense-ReLU hidden layers and a linear output with bias `output_bias`.

  Args:
    input_dim: encoding size (`ArchEncoder.dim`).
    hidden_units: hidden layer widths.
    output_bias: initial output bias (the mean training accuracy, percent).
    seed: seeds the Glorot-uniform kernels.

  Returns:
    A tf_keras Model mapping float32 [N, input_dim] to float32 [N, 1].
  """
  import tf_keras  # pylint: disable=g-import-not-at-top
  inputs = tf_keras.Input((input_dim,), name="encoding")
  x = inputs
  for i, units in enumerate(hidden_units):
    x = tf_keras.layers.Dense(
        units, activation="relu", name=f"hidden_{i}",
        kernel_initializer=tf_keras.initializers.GlorotUniform(seed=seed + i))(x)
  outputs = tf_keras.layers.Dense(
      1, name="accuracy",
      kernel_initializer=tf_keras.initializers.GlorotUniform(seed=seed + len(hidden_units)),
      bias_initializer=tf_keras.initializers.Constant(output_bias))(x)
  return tf_keras.Model(inputs, outputs, name="accuracy_predictor")


class AccuracyPredictor:
  """A trained predictor of one space: predicted top-1 (percent) of subnets, batched.

  Args:
    space: the space the predictor was trained on.
    weights: [(kernel [in, out] float32, bias [out] float32), ...], last layer linear, output
      in top-1 percent.
    report: the training report, if known.
    encoding: the encoding variant of the first layer's input ("ofa_tf", "released_mbv3",
      "released_resnet50").
    source: JSON-serializable provenance of an imported predictor (file, sha256, layout).

  Raises:
    ValueError: the weights' input width is not the encoding's width for `space`, a layer's
      shapes do not chain, or the output is not one unit.
  """

  def __init__(self, space: SearchSpace, weights: Sequence[tuple[np.ndarray, np.ndarray]],
               report: PredictorReport | None = None, encoding: str = "ofa_tf",
               source: dict[str, Any] | None = None):
    self.space = space
    self.encoder = ArchEncoder(space, encoding)
    self.weights = [(np.asarray(k, np.float32), np.asarray(b, np.float32)) for k, b in weights]
    if self.weights[0][0].shape[0] != self.encoder.dim or self.weights[-1][0].shape[1] != 1:
      raise ValueError(f"predictor weights map {self.weights[0][0].shape[0]} -> "
                       f"{self.weights[-1][0].shape[1]}; space {space.name} in encoding "
                       f"{encoding} needs {self.encoder.dim} -> 1")
    for i, (kernel, bias) in enumerate(self.weights):
      fan_in = self.weights[i - 1][0].shape[1] if i else self.encoder.dim
      if kernel.ndim != 2 or kernel.shape[0] != fan_in or bias.shape != kernel.shape[1:]:
        raise ValueError(f"predictor layer {i}: kernel {kernel.shape} and bias {bias.shape} do "
                         f"not follow a layer of width {fan_in}")
    self.report = report
    self.source = source

  @property
  def encoding(self) -> str:
    """The encoding variant of the predictor's input."""
    return self.encoder.variant

  @property
  def hidden_units(self) -> tuple[int, ...]:
    return tuple(k.shape[1] for k, _ in self.weights[:-1])

  def predict_features(self, features: np.ndarray) -> np.ndarray:
    """Predicted top-1 (percent), float32 [N], of encodings float32 [N, dim] (NumPy pass)."""
    x = np.asarray(features, np.float32)
    for kernel, bias in self.weights[:-1]:
      x = x @ kernel
      x += bias
      np.maximum(x, 0.0, out=x)
    kernel, bias = self.weights[-1]
    return (x @ kernel + bias)[:, 0]

  def predict_genes(self, genes: np.ndarray) -> np.ndarray:
    """Predicted top-1 (percent), float32 [N], of gene arrays [N, num_genes]."""
    return self.predict_features(self.encoder.encode_genes(genes))

  def predict(self, configs: Sequence[SubnetConfig]) -> np.ndarray:
    """Predicted top-1 (percent), float32 [N], of `configs`."""
    return self.predict_features(self.encoder.encode(configs))

  def keras_model(self) -> "tf_keras.Model":
    """The same predictor as a tf_keras Model ([N, dim] -> [N, 1])."""
    model = build_mlp(self.encoder.dim, self.hidden_units, 0.0, seed=0)
    model.set_weights([w for pair in self.weights for w in pair])
    return model

  # --- Persistence -----------------------------------------------------------------------------

  def save(self, directory: str, overwrite: bool = False) -> None:
    """Writes `predictor.json` and `weights.npz` into `directory` (atomically, per file).

    Raises:
      FileExistsError: a predictor is already there and `overwrite` is False.
    """
    config_path = os.path.join(directory, CONFIG_FILE)
    if os.path.exists(config_path) and not overwrite:
      raise FileExistsError(f"{config_path} exists; pass overwrite=True to replace it")
    buffer = io.BytesIO()
    arrays = {}
    for i, (kernel, bias) in enumerate(self.weights):
      arrays[f"kernel_{i}"], arrays[f"bias_{i}"] = kernel, bias
    np.savez(buffer, **arrays)
    atomic_write_bytes(os.path.join(directory, WEIGHTS_FILE), buffer.getvalue(), overwrite=True)
    meta = {"format": FORMAT, "space": self.space.to_dict(), "encoding": self.encoding,
            "hidden_units": list(self.hidden_units),
            "report": self.report.to_dict() if self.report else None, "source": self.source}
    atomic_write_bytes(config_path, json.dumps(meta, indent=1).encode(), overwrite=True)

  @classmethod
  def load(cls, directory: str, space: SearchSpace | None = None) -> "AccuracyPredictor":
    """Reads a saved predictor.

    Args:
      directory: where `save` wrote it.
      space: if given, the space the caller searches; must equal the saved one.

    Raises:
      FileNotFoundError: no predictor in `directory`.
      ValueError: unknown format, or `space` differs from the predictor's space.
    """
    with open(os.path.join(directory, CONFIG_FILE)) as f:
      meta = json.load(f)
    if meta.get("format") != FORMAT:
      raise ValueError(f"{directory}: format {meta.get('format')!r} is not {FORMAT!r}")
    saved_space = space_from_dict(meta["space"])
    if space is not None and space != saved_space:
      raise ValueError(f"accuracy predictor in {directory} was trained on space "
                       f"{saved_space.name!r}, which differs from the requested space "
                       f"{space.name!r}: train a predictor for this space")
    with np.load(os.path.join(directory, WEIGHTS_FILE)) as data:
      weights = [(data[f"kernel_{i}"], data[f"bias_{i}"])
                 for i in range(len(meta["hidden_units"]) + 1)]
    report = PredictorReport(**meta["report"]) if meta.get("report") else None
    return cls(saved_space, weights, report, encoding=meta.get("encoding", "ofa_tf"),
               source=meta.get("source"))


def _rmse(a: np.ndarray, b: np.ndarray) -> float:
  return float(np.sqrt(np.mean((np.asarray(a, np.float64) - b) ** 2)))


def train_predictor(space: SearchSpace, configs: Sequence[SubnetConfig],
                    top1: Sequence[float],
                    config: PredictorTrainConfig = PredictorTrainConfig()
                    ) -> tuple[AccuracyPredictor, PredictorReport]:
  """Trains the MLP on measured subnets and reports held-out quality.

  Args:
    space: the space of `configs`.
    configs: measured subnets (each with its resolution).
    top1: measured top-1 of each config as a fraction in [0, 1] (dataset convention).
    config: hyper-parameters and seed.

  Returns:
    (predictor, report): predictions in percent; RMSE in points; Kendall tau on the split.

  Raises:
    ValueError: fewer than 5 rows, mismatched lengths or top-1 outside [0, 1].
  """
  top1 = np.asarray(top1, np.float64)
  if len(configs) != len(top1) or len(configs) < 5:
    raise ValueError(f"need >= 5 configs with one top-1 each; got {len(configs)} configs and "
                     f"{len(top1)} top-1 values")
  if top1.min() < 0.0 or top1.max() > 1.0:
    raise ValueError(f"top1 must be fractions in [0, 1]; got range [{top1.min()}, {top1.max()}]")
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  import tf_keras  # pylint: disable=g-import-not-at-top
  encoder = ArchEncoder(space)
  features = encoder.encode(configs)
  targets = (top1 * 100.0).astype(np.float32)
  rng = np.random.default_rng(config.seed)
  order = rng.permutation(len(configs))
  num_val = max(1, int(round(config.validation_fraction * len(configs))))
  val_idx, train_idx = order[:num_val], order[num_val:]
  target_mean = float(targets[train_idx].mean())

  model = build_mlp(encoder.dim, config.hidden_units, target_mean, config.seed)
  optimizer = tf_keras.optimizers.Adam(config.learning_rate)
  variables = model.trainable_variables

  @tf.function(reduce_retracing=True)
  def train_step(x, y):
    with tf.GradientTape() as tape:
      loss = tf.reduce_mean(tf.square(model(x, training=True)[:, 0] - y))
    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
    return loss

  x_train, y_train = features[train_idx], targets[train_idx]
  batch = min(config.batch_size, len(train_idx))
  for _ in range(config.epochs):
    perm = rng.permutation(len(train_idx))
    for start in range(0, len(perm) - batch + 1, batch):
      idx = perm[start:start + batch]
      train_step(tf.constant(x_train[idx]), tf.constant(y_train[idx]))

  weights = model.get_weights()
  predictor = AccuracyPredictor(space, list(zip(weights[0::2], weights[1::2])))
  val_pred = predictor.predict_features(features[val_idx])
  train_pred = predictor.predict_features(x_train)
  tau = scipy.stats.kendalltau(val_pred, targets[val_idx]).statistic if num_val > 1 else 0.0
  report = PredictorReport(
      val_rmse=_rmse(val_pred, targets[val_idx]), val_kendall_tau=float(tau),
      train_rmse=_rmse(train_pred, y_train), num_train=len(train_idx), num_val=num_val,
      target_mean=target_mean)
  predictor.report = report
  return predictor, report
