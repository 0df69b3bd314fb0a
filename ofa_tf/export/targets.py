"""Exports a subnet of a trained supernet for several deployment targets and reports on each.

The main job's last step (issue 6, item 6): work directory + subnet config -> extracted subnet
(BN statistics recalibrated for the subnet) -> one .tflite per target (PTQ, or QAT when asked)
-> LiteRT top-1 on the test split, agreement with the Keras subnet, latency, EdgeTPU mapping.
"""

import dataclasses
import os
import time
from typing import Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import tf_keras

from ofa_tf import atomic_files
from ofa_tf.export import converter
from ofa_tf.export import lowering
from ofa_tf.export import qat
from ofa_tf.export import recipes
from ofa_tf.export import verify
from ofa_tf.latency import litert_runner
from ofa_tf.networks import extract_subnet
from ofa_tf.search_space import SubnetConfig
from ofa_tf import workdir as workdir_lib

METHODS = ("ptq", "qat")
# CPU op resolvers the report times every file with: the XNNPACK delegate (LiteRT's default)
# and LiteRT's builtin kernels alone. Which is faster depends on the model and the CPU (issue
# 17: XNNPACK runs 7x7 depthwise convolutions 20-70x slower than 5x5 on some x86 hosts, while
# it runs 3x3/5x5 ones 3-10x faster than the builtin kernels); the app picks one.
CPU_DELEGATES = {"xnnpack": True, "builtin": False}


@dataclasses.dataclass(frozen=True)
class TargetExport:
  """One exported file and what was measured on it.

  Attributes:
    target: recipe name, e.g. "edgetpu_int8".
    method: "ptq" (post-training quantization or float conversion) or "qat".
    path: the .tflite file.
    size_bytes: its size in bytes.
    top1: LiteRT top-1 on the evaluation images, in [0, 1].
    keras_top1: top-1 of the float Keras subnet on the same images.
    agreement: fraction of images where LiteRT and the float Keras subnet agree on the class.
    latency_ms: median LiteRT latency in ms (batch 1) with the faster CPU delegate, or None
      when not measured.
    edgetpu_mappable: the EdgeTPU analyzer maps every op (int8 targets), else None.
    edgetpu_ops: "mapped/total" ops from the analyzer (int8 targets), else "".
    delegate_latencies_ms: ((delegate, ms), ...) for each CPU delegate timed (`CPU_DELEGATES`:
      'xnnpack', 'builtin'), empty when the latency function returns one number.
  """
  target: str
  method: str
  path: str
  size_bytes: int
  top1: float
  keras_top1: float
  agreement: float
  latency_ms: Optional[float]
  edgetpu_mappable: Optional[bool]
  edgetpu_ops: str
  delegate_latencies_ms: Tuple[Tuple[str, float], ...] = ()

  @property
  def best_delegate(self) -> Optional[str]:
    """The CPU delegate with the smallest latency ('xnnpack' or 'builtin'), None if unknown."""
    if not self.delegate_latencies_ms:
      return None
    return min(self.delegate_latencies_ms, key=lambda item: item[1])[0]


def load_subnet_config(subnet: Union[str, SubnetConfig], space) -> SubnetConfig:
  """Reads a subnet config (JSON text, a JSON file path or a SubnetConfig) and validates it.

  Args:
    subnet: a `SubnetConfig`, its JSON text, or the path of a JSON file.
    space: the search space of the work directory.

  Returns:
    The validated `SubnetConfig`.

  Raises:
    ValueError: the config does not belong to `space` (e.g. a subnet searched in another
      space; the message names both) or has values the space does not allow.
  """
  if isinstance(subnet, str):
    text = subnet
    if not subnet.lstrip().startswith("{"):
      with open(subnet) as f:
        text = f.read()
    subnet = SubnetConfig.from_json(text)
  try:
    return space.validate(subnet)
  except ValueError as e:
    raise ValueError(f"subnet config does not fit the work directory's space "
                     f"{space.name!r}: {e}") from e


def recalibrate_static_bn(model: tf_keras.Model, batches: Iterable) -> int:
  """Recomputes the BN moving statistics of a static (extracted) model, in place.

  Each BatchNormalization layer gets the mean over `batches` of its input's batch mean and
  batch variance, with every BN in training mode (batch statistics) during the forward pass:
  the reference's `set_running_statistics` (Cai et al., ICLR 2020: a shrunk subnet needs its
  own BN statistics; the reference uses 2000 training images).

  Args:
    model: a Functional tf_keras model; its BN layers are modified.
    batches: iterable of float32 (B, H, W, C) NHWC images or (images, labels) pairs.

  Returns:
    The number of images used.

  Raises:
    ValueError: for empty `batches`.
  """
  bns = [l for l in model.layers if isinstance(l, tf_keras.layers.BatchNormalization)]
  if not bns:
    return 0
  probe = tf_keras.Model(model.inputs, [bn.input for bn in bns])
  sums = [[np.zeros(bn.moving_mean.shape), np.zeros(bn.moving_variance.shape)] for bn in bns]
  seen = 0
  for batch in batches:
    images = np.asarray(batch[0] if isinstance(batch, (tuple, list)) else batch, np.float32)
    outputs = probe(images, training=True)
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    for total, x in zip(sums, outputs):
      x = np.asarray(x, np.float64).reshape(-1, x.shape[-1])
      total[0] += x.mean(0) * len(images)
      total[1] += x.var(0) * len(images)
    seen += len(images)
  if not seen:
    raise ValueError("recalibrate_static_bn: batches is empty")
  for bn, (mean, var) in zip(bns, sums):
    bn.moving_mean.assign(mean / seen)
    bn.moving_variance.assign(var / seen)
  return seen


def extract_recalibrated(supernet, config: SubnetConfig, data,
                         num_images: int = 2000) -> tf_keras.Model:
  """Extracts subnet `config` from `supernet` with BN statistics recalibrated for it.

  BN statistics are recomputed on `num_images` training images (`data.calibration_batches`):
  with `ofa_tf.training.evaluation.recalibrate_bn` on the supernet when the trainer provides
  it (it changes the supernet's statistics in place), otherwise with `recalibrate_static_bn`
  on the extracted model (same statistics; the supernet is left unchanged).

  Args:
    supernet: a trained supernet (`workdir.load_supernet`).
    config: the subnet (a `SubnetConfig`, its JSON or a JSON path), validated against
      `supernet.space`.
    data: an `ImageClassificationData` (calibration images at `config.r`).
    num_images: calibration images; 0 keeps the supernet's statistics.

  Returns:
    The float tf_keras subnet (input (None, r, r, 3)).
  """
  config = load_subnet_config(config, supernet.space)
  try:
    from ofa_tf.training import evaluation  # pylint: disable=g-import-not-at-top
    recalibrate_bn = getattr(evaluation, "recalibrate_bn", None)
  except ImportError:
    recalibrate_bn = None
  if num_images and recalibrate_bn is not None:
    recalibrate_bn(supernet, config, data, num_images=num_images)
  model = extract_subnet(supernet, config, batch_size=None)
  if num_images and recalibrate_bn is None:
    recalibrate_static_bn(model, data.calibration_batches(num_images, 200, config.r))
  return model


def litert_latency_ms(model_content: bytes, num_threads: int = 1, warmup_runs: int = 3,
                      num_runs: int = 20, use_xnnpack: bool = True) -> float:
  """Median in-process LiteRT latency of one batch-1 inference, in ms (random inputs).

  A simple timer; `ofa_tf.latency.measure` is the full runner (rounds, delegates, devices).

  Args:
    model_content: .tflite flatbuffer bytes.
    num_threads: CPU threads.
    warmup_runs: untimed invokes first.
    num_runs: timed invokes (wall clock).
    use_xnnpack: apply LiteRT's default XNNPACK delegate (False: builtin kernels only,
      `OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES`).
  """
  interp = litert_runner.make_interpreter(bytes(model_content), num_threads, use_xnnpack)
  detail = interp.get_input_details()[0]
  rng = np.random.default_rng(0)
  if np.issubdtype(detail["dtype"], np.integer):
    info = np.iinfo(detail["dtype"])
    x = rng.integers(info.min, info.max + 1, detail["shape"]).astype(detail["dtype"])
  else:
    x = rng.standard_normal(detail["shape"]).astype(detail["dtype"])
  interp.set_tensor(detail["index"], x)
  for _ in range(warmup_runs):
    interp.invoke()
  times = []
  for _ in range(num_runs):
    start = time.perf_counter()
    interp.invoke()
    times.append((time.perf_counter() - start) * 1e3)
  return float(np.median(times))


def delegate_latencies_ms(model_content: bytes, **kwargs) -> Dict[str, float]:
  """{delegate: median latency ms} under each CPU delegate of `CPU_DELEGATES`.

  Args:
    model_content: .tflite flatbuffer bytes.
    **kwargs: passed to `litert_latency_ms` (num_threads, warmup_runs, num_runs).
  """
  return {name: litert_latency_ms(model_content, use_xnnpack=flag, **kwargs)
          for name, flag in CPU_DELEGATES.items()}


def _latency_fields(value) -> Tuple[Optional[float], Tuple[Tuple[str, float], ...]]:
  """(best ms, ((delegate, ms), ...)) from a latency function's number or mapping."""
  if value is None:
    return None, ()
  if isinstance(value, Mapping):
    if not value:
      raise ValueError("latency_fn returned an empty mapping; expected {delegate: ms}")
    items = tuple((str(k), float(v)) for k, v in value.items())
    return min(v for _, v in items), items
  return float(value), ()


def plan_exports(targets, output_dir: str, method: str = "ptq", overwrite: bool = False):
  """Recipes and output paths of an export, checked before any work.

  Returns:
    (recipes, paths): the `recipes.TargetRecipe` of each target and its .tflite path.

  Raises:
    ValueError: unknown target or method.
    atomic_files.OutputExistsError: an output file exists and `overwrite` is False.
    PermissionError, NotADirectoryError: `output_dir` cannot be written.
  """
  recipe_list = [t if isinstance(t, recipes.TargetRecipe) else recipes.get_recipe(t)
                 for t in targets]
  if method not in METHODS:
    raise ValueError(f"method={method!r}; allowed: {METHODS}")
  suffix = "_qat" if method == "qat" else ""
  paths = [os.path.join(output_dir, f"{r.name}{suffix}.tflite") for r in recipe_list]
  for path in paths:
    atomic_files.check_output(path, overwrite)
  return recipe_list, paths


def collect_arrays(batches: Iterable, limit: Optional[int] = None):
  """Concatenates (images, labels) batches into float32 (N, H, W, C) and (N,) arrays (N <=
  `limit`)."""
  xs, ys, n = [], [], 0
  for images, labels in batches:
    xs.append(np.asarray(images, np.float32))
    ys.append(np.asarray(labels))
    n += len(xs[-1])
    if limit is not None and n >= limit:
      break
  return np.concatenate(xs)[:limit], np.concatenate(ys)[:limit]


def export_model_for_targets(model: tf_keras.Model, data, output_dir: str,
                             targets: Sequence[Union[str, recipes.TargetRecipe]] = (
                                 "cpu_int8", "edgetpu_int8"), *,
                             method: str = "ptq", qat_steps: int = 100,
                             teacher: Optional[tf_keras.Model] = None,
                             eval_split: str = "test", max_eval_images: Optional[int] = None,
                             overwrite: bool = False,
                             latency_fn: Optional[Callable[[bytes], Union[float, Mapping[
                                 str, float]]]] = delegate_latencies_ms,
                             seed: int = 0) -> List[TargetExport]:
  """Exports a float tf_keras classifier for each target and measures each file.

  Args:
    model: float tf_keras model, float32 (B, r, r, 3) NHWC images -> (B, classes) logits.
    data: an `ImageClassificationData`: training split for calibration (and QAT), `eval_split`
      for top-1 and agreement.
    output_dir: directory for `<target>.tflite` (or `<target>_qat.tflite`).
    targets: recipe names (`recipes.RECIPES`) or `recipes.TargetRecipe`s.
    method: "ptq" (post-training quantization, representative dataset from the training
      split) or "qat" (quantization-aware fine-tune of `qat_steps` steps, for int8 targets;
      float targets are converted as with "ptq").
    qat_steps: fine-tune steps for "qat" (batch 64).
    teacher: float model distilled from during QAT (the supernet's largest subnet), or None
      to distil from `model` itself.
    eval_split: split for verification.
    max_eval_images: evaluate on at most this many images (None: the whole split).
    overwrite: replace existing files.
    latency_fn: .tflite bytes -> latency in ms, or {delegate: ms} (default:
      `delegate_latencies_ms`: XNNPACK and builtin kernels, 1 thread; the report then names
      the faster), or None to skip latency.
    seed: seed of the QAT data order.

  Returns:
    One `TargetExport` per target, in order.

  Raises:
    ValueError: unknown target or method, or an existing output without `overwrite`.
    converter.ExportError: a file failed its recipe's checks (nothing written for it).
  """
  recipe_list, paths = plan_exports(targets, output_dir, method, overwrite)
  r = int(model.input_shape[1])
  calib, _ = collect_arrays(data.calibration_batches(256, 64, r, seed=seed))
  eval_images, eval_labels = collect_arrays(data.eval_batches(eval_split, 256, r),
                                            max_eval_images)
  qat_models = {}
  results = []
  for recipe, path in zip(recipe_list, paths):
    source = model
    if method == "qat" and recipe.quantization == "int8":
      if recipe.hswish_mode not in qat_models:
        qat_models[recipe.hswish_mode] = quantize_and_finetune(
            lowering.lower_model(model, recipe.hswish_mode), data, qat_steps,
            teacher if teacher is not None else model, calib, seed=seed)
      source = qat_models[recipe.hswish_mode]
    result = converter.export_tflite(source, recipe, calib, path, overwrite=overwrite)
    with open(result.path, "rb") as f:
      content = f.read()
    report = verify.verify_tflite(content, model, eval_images, eval_labels)
    edgetpu = result.edgetpu_report
    latency, by_delegate = _latency_fields(latency_fn(content) if latency_fn else None)
    results.append(TargetExport(
        target=recipe.name, method=method if source is not model else "ptq", path=result.path,
        size_bytes=result.size_bytes, top1=report.top1, keras_top1=report.keras_top1,
        agreement=report.top1_agreement,
        latency_ms=latency,
        edgetpu_mappable=edgetpu.fully_mapped if edgetpu is not None else None,
        edgetpu_ops=(f"{edgetpu.ops_on_edgetpu}/{edgetpu.ops_on_edgetpu + edgetpu.ops_on_cpu}"
                     if edgetpu is not None
                     else ""),
        delegate_latencies_ms=by_delegate))
  return results


def quantize_and_finetune(lowered: tf_keras.Model, data, steps: int, teacher: tf_keras.Model,
                          calibration_images: np.ndarray, *, batch_size: int = 64,
                          learning_rate: float = 1e-4, seed: int = 0) -> tf_keras.Model:
  """QAT in one call: quantize-aware copy, range calibration, distillation fine-tune.

  Args:
    lowered: the float model lowered for its target (`lowering.lower_model`).
    data: `ImageClassificationData`; fine-tunes on `data.train_batches` at the model's
      resolution.
    steps: fine-tune steps (0: calibration only).
    teacher: float model to distil from.
    calibration_images: float32 (N, r, r, 3) training images for the quantizer ranges.
    batch_size: fine-tune batch size.
    learning_rate: SGD-with-momentum learning rate.
    seed: seed of the data order.

  Returns:
    The quantize-aware model, ready for `converter.export_tflite`.
  """
  model = qat.quantize_aware_model(lowered)
  qat.calibrate_quantizers(model, [calibration_images[i:i + 64]
                                   for i in range(0, len(calibration_images), 64)])
  if steps:
    r = int(lowered.input_shape[1])
    qat.qat_finetune(model, data.train_batches(batch_size, (r,), seed=seed).take(steps), steps,
                     teacher=teacher, learning_rate=learning_rate)
  return model


def export_for_targets(workdir: str, config: Union[str, SubnetConfig], data, output_dir: str,
                       targets: Sequence[str] = ("cpu_int8", "edgetpu_int8"), *,
                       method: str = "ptq", qat_steps: int = 100,
                       recalibration_images: int = 2000, **kwargs) -> List[TargetExport]:
  """Extracts subnet `config` from the supernet in `workdir` and exports it for `targets`.

  Steps: `extract_recalibrated` (BN statistics recomputed on training images) ->
  `export_model_for_targets` (PTQ calibrated on training images, or QAT distilled from the
  supernet's largest subnet) -> per file: LiteRT top-1 on the test split, agreement with the
  Keras subnet, latency, EdgeTPU analysis. Print the result with `format_table`.

  Args:
    workdir: work directory of a trained supernet (`ofa_tf.workdir`).
    config: the subnet: a `SubnetConfig`, its JSON text or a JSON file path.
    data: the `ImageClassificationData` the supernet was trained on.
    output_dir: where the .tflite files go (e.g. `<workdir>/export`).
    targets: recipe names.
    method: "ptq" or "qat" (see `export_model_for_targets`).
    qat_steps: QAT fine-tune steps.
    recalibration_images: training images for BN recalibration (0: keep the supernet's).
    **kwargs: passed to `export_model_for_targets` (eval_split, max_eval_images, overwrite,
      latency_fn, seed).

  Returns:
    One `TargetExport` per target.

  Raises:
    ValueError: a subnet of another space, an unknown target.
    atomic_files.OutputExistsError: an output file exists (without overwrite).
    FileNotFoundError: `workdir` holds no trained supernet.
  """
  plan_exports(targets, output_dir, method, kwargs.get("overwrite", False))
  supernet = workdir_lib.load_supernet(workdir)
  config = load_subnet_config(config, supernet.space)
  teacher = None
  if method == "qat":  # Before recalibration, which may change the supernet's statistics.
    teacher = extract_subnet(supernet, supernet.space.max_config(config.r))
  model = extract_recalibrated(supernet, config, data, recalibration_images)
  return export_model_for_targets(model, data, output_dir, targets, method=method,
                                  qat_steps=qat_steps, teacher=teacher, **kwargs)


def _format_latency(r: TargetExport) -> Tuple[str, str]:
  """('xnnpack 3.10 / builtin 12.40', 'xnnpack') or ('3.10', '-') or ('-', '-')."""
  if r.delegate_latencies_ms:
    return (" / ".join(f"{name} {ms:.2f}" for name, ms in r.delegate_latencies_ms),
            r.best_delegate)
  return (f"{r.latency_ms:.2f}" if r.latency_ms is not None else "-"), "-"


def format_table(results: Sequence[TargetExport]) -> str:
  """A Markdown table: target, method, bytes, LiteRT top-1, Keras top-1, agreement, latency
  under each CPU delegate (1 thread, ms) and the delegate to use, EdgeTPU mapping."""
  lines = ["| target | method | size (bytes) | LiteRT top-1 | Keras top-1 | agreement | "
           "CPU latency (ms) | use | EdgeTPU mappable |",
           "|---|---|---:|---:|---:|---:|---:|---|---|"]
  for r in results:
    latency, use = _format_latency(r)
    mapped = ("-" if r.edgetpu_mappable is None else
              f"{'yes' if r.edgetpu_mappable else 'no'} ({r.edgetpu_ops} ops)")
    lines.append(f"| {r.target} | {r.method} | {r.size_bytes} | {100 * r.top1:.2f}% | "
                 f"{100 * r.keras_top1:.2f}% | {100 * r.agreement:.2f}% | {latency} | {use} | "
                 f"{mapped} |")
  return "\n".join(lines)
