"""Accuracy cost of each export path on one float classifier: PTQ, QAT, ReLU lowering.

Issue 6 asks for float vs PTQ vs QAT top-1 (QAT within 1 point of float) and for the measured
cost of the EdgeTPU-friendly h-swish lowering. `quantization_study` produces all of it for one
trained float model: LiteRT top-1 of each exported file on the test split, next to the Keras
float top-1. `export/demo_export.py` runs it on a static subnet trained on digits.
"""

import dataclasses
from typing import List, Optional, Sequence

import tf_keras

from ofa_tf.export import lowering
from ofa_tf.export import qat
from ofa_tf.export import recipes
from ofa_tf.export import targets


@dataclasses.dataclass(frozen=True)
class StudyRow:
  """One line of the study.

  Attributes:
    model: "float (h-swish)", "ReLU lowering, no fine-tune" or "ReLU lowering, fine-tuned".
    target: recipe name, or "keras" for the float tf_keras model.
    method: "-" (float Keras), "ptq" or "qat".
    top1: top-1 on the evaluation split, in [0, 1].
    agreement: top-1 agreement of the file with the Keras model it was exported from (the
      ReLU file: with the fine-tuned ReLU model), or None for Keras rows.
    size_bytes: .tflite size in bytes, or None.
    edgetpu_mappable: EdgeTPU analyzer verdict for int8 files, or None.
  """
  model: str
  target: str
  method: str
  top1: float
  agreement: Optional[float] = None
  size_bytes: Optional[int] = None
  edgetpu_mappable: Optional[bool] = None


def train_float(model: tf_keras.Model, data, steps: int, *, batch_size: int = 64,
                learning_rate: float = 2e-3, seed: int = 0) -> tf_keras.Model:
  """Trains `model` with Adam and cross-entropy on `data.train_batches` (in place).

  Args:
    model: float tf_keras classifier, (B, r, r, 3) NHWC -> (B, classes) logits.
    data: an `ImageClassificationData`.
    steps: optimizer steps (batch `batch_size`, resolution r of the model input).
    batch_size: images per step.
    learning_rate: Adam learning rate.
    seed: seed of the weights' training randomness and the data order.

  Returns:
    `model`.
  """
  tf_keras.utils.set_random_seed(seed)
  r = int(model.input_shape[1])
  model.compile(tf_keras.optimizers.Adam(learning_rate),
                tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True))
  model.fit(data.train_batches(batch_size, (r,), seed=seed), steps_per_epoch=steps, epochs=1,
            verbose=0)
  return model


def _keras_top1(model, images, labels) -> float:
  return float((model.predict(images, batch_size=256, verbose=0).argmax(-1) == labels).mean())


def _rows(model_name, results) -> List[StudyRow]:
  return [StudyRow(model_name, r.target, r.method, r.top1, r.agreement, r.size_bytes,
                   r.edgetpu_mappable) for r in results]


def quantization_study(model: tf_keras.Model, data, output_dir: str, *,
                       targets_: Sequence[str] = ("cpu_int8", "edgetpu_int8"),
                       qat_steps: int = 60, relu_finetune_steps: int = 100,
                       eval_split: str = "test", overwrite: bool = False,
                       seed: int = 0) -> List[StudyRow]:
  """Float vs PTQ vs QAT top-1, and the ReLU-lowering cost, for one trained float model.

  Rows: the float Keras model; PTQ and QAT files for each target; the ReLU lowering of
  h-swish (`lowering.lower_model(model, "relu")`) in float without and with a distillation
  fine-tune of `relu_finetune_steps`, the h-swish model after the same fine-tune (control),
  and the PTQ `edgetpu_int8` file of the fine-tuned ReLU model.
  The decomposed h-swish of `edgetpu_int8` is the same function as h-swish (no row needed:
  its cost is the PTQ/QAT row itself).

  Args:
    model: trained float tf_keras classifier (not modified).
    data: `ImageClassificationData` (training split: calibration, QAT; `eval_split`: top-1).
    output_dir: directory for the .tflite files.
    targets_: int8 recipe names for the PTQ and QAT rows.
    qat_steps: QAT fine-tune steps (batch 64, distilled from `model`).
    relu_finetune_steps: fine-tune steps of the ReLU variant (0: skip those rows).
    eval_split: evaluation split.
    overwrite: replace existing files.
    seed: seed of calibration subsets and data order.

  Returns:
    The rows, in the order above.
  """
  r = int(model.input_shape[1])
  images, labels = targets.collect_arrays(data.eval_batches(eval_split, 256, r))
  rows = [StudyRow("float (h-swish)", "keras", "-", _keras_top1(model, images, labels))]
  # Latency is left to the benchmark and export_for_targets: this table is about accuracy.
  common = dict(eval_split=eval_split, overwrite=overwrite, seed=seed, latency_fn=None)
  for method in targets.METHODS:
    rows += _rows("float (h-swish)", targets.export_model_for_targets(
        model, data, output_dir, targets_, method=method, qat_steps=qat_steps, **common))
  relu = lowering.lower_model(model, "relu")
  rows.append(StudyRow("ReLU lowering, no fine-tune", "keras", "-",
                       _keras_top1(relu, images, labels)))
  if relu_finetune_steps:
    # The control gets the same fine-tune as the ReLU variant: the ReLU cost is the
    # difference between the two, not the difference to an under-trained float model.
    control = lowering.lower_model(model, "keep")
    for name, variant in (("float (h-swish), same fine-tune", control),
                          ("ReLU lowering, fine-tuned", relu)):
      qat.qat_finetune(variant, data.train_batches(64, (r,), seed=seed + 1).take(
          relu_finetune_steps), relu_finetune_steps, teacher=model, learning_rate=1e-2,
                       freeze_batch_norm=False)
      rows.append(StudyRow(name, "keras", "-", _keras_top1(variant, images, labels)))
    relu_recipe = dataclasses.replace(recipes.get_recipe("edgetpu_int8"),
                                      name="edgetpu_int8_relu", hswish_mode="relu")
    rows += _rows("ReLU lowering, fine-tuned", targets.export_model_for_targets(
        relu, data, output_dir, (relu_recipe,), **common))
  return rows


def format_study(rows: Sequence[StudyRow]) -> str:
  """A Markdown table of the rows, with the top-1 difference to the first (float) row."""
  base = rows[0].top1
  lines = ["| model | target | method | top-1 | vs float | agreement | size (bytes) | "
           "EdgeTPU mappable |", "|---|---|---|---:|---:|---:|---:|---|"]
  def opt(value, fmt):
    return "-" if value is None else fmt(value)

  for row in rows:
    lines.append(
        f"| {row.model} | {row.target} | {row.method} | {100 * row.top1:.2f}% | "
        f"{100 * (row.top1 - base):+.2f} | {opt(row.agreement, lambda v: f'{100 * v:.2f}%')} | "
        f"{opt(row.size_bytes, str)} | "
        f"{opt(row.edgetpu_mappable, lambda v: 'yes' if v else 'no')} |")
  return "\n".join(lines)
