"""Builds a per-layer latency lookup table for a search space and a device profile.

Pipeline (profiled on the 2-core dev machine: converting, not timing, dominates):
  1. enumerate every distinct layer of the space at the requested resolutions
     (`network_layers.space_layers`); layers whose key repeats across resolutions (`Conv_2`,
     `Logits`) are converted and measured once;
  2. convert the layers not yet in the table to .tflite in the profile's precision, in
     `workers` processes (each imports TensorFlow once), caching each model in `cache_dir`
     (a resumed build converts only what is missing);
  3. time them in this process with the profile's runner (no conversion runs concurrently
     with timing), in chunks of `measure_chunk` layers, each chunk in `device.passes`
     interleaved passes, and layers whose per-pass estimates disagree (relative standard
     error above `device.stable_rse`) in further passes up to `device.max_passes`; layers
     still unstable then are listed in `metadata['unstable_layers']`; the table is saved
     atomically after each chunk.
The table records the host fingerprint (`host.host_fingerprint`, profile, threads): a table
holds only on the host that measured it, and the predictor checks it.
An interrupted build resumes from the table file and the model cache: cached entries are not
re-measured. The table refuses to resume a file built for another space or device profile.
"""

import dataclasses
import datetime
import hashlib
import multiprocessing
import os
import platform
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from ofa_tf import atomic_files
from ofa_tf.latency import host
from ofa_tf.latency import lut
from ofa_tf.latency import network_layers
from ofa_tf.latency.device_spec import DeviceSpec
from ofa_tf.latency.measure import make_runner, measure_until_stable
from ofa_tf.search_space import get_space


@dataclasses.dataclass(frozen=True)
class TableBuildConfig:
  """What to build.

  Attributes:
    space: registered space name (e.g. 'ofa_mbv3_w1.0').
    device: the device spec (profile) to measure with.
    resolutions: input resolutions to cover; () = all of the space's.
    output: table file (.json, or .yaml/.yml).
    cache_dir: folder for converted layer models ('' = `<output>.models/`).
    workers: conversion processes.
    measure_chunk: layers timed together in `device.passes` interleaved passes
      (`measure.measure_many`); the table file is saved after each chunk.
    benchmark_binary: benchmark_model path for 'benchmark_model' profiles.
  """
  space: str
  device: DeviceSpec
  output: str
  resolutions: Tuple[int, ...] = ()
  cache_dir: str = ""
  workers: int = 1
  measure_chunk: int = 160
  benchmark_binary: str = ""

  def __post_init__(self):
    if not self.output:
      raise ValueError("TableBuildConfig.output must name the table file")
    if self.workers < 1:
      raise ValueError(f"TableBuildConfig.workers must be >= 1, got {self.workers}")
    if self.measure_chunk < 1:
      raise ValueError(f"TableBuildConfig.measure_chunk must be >= 1, got {self.measure_chunk}")
    object.__setattr__(self, "resolutions", tuple(int(r) for r in self.resolutions))

  @property
  def model_cache_dir(self) -> str:
    return self.cache_dir or self.output + ".models"


@dataclasses.dataclass(frozen=True)
class Progress:
  """Reported after each converted layer ('convert', `key` the layer) and each timing
  ('measure': one layer in one pass, so `total` is passes x layers; `key` the chunk)."""
  done: int
  total: int
  elapsed_s: float
  eta_s: float
  key: str
  phase: str


def tool_versions() -> Dict[str, str]:
  versions = {"python": platform.python_version()}
  for module in ("tensorflow", "tf_keras", "ai_edge_litert", "numpy"):
    try:
      versions[module] = __import__(module).__version__
    except (ImportError, AttributeError):
      versions[module] = "unknown"
  return versions


def _model_path(cache_dir: str, key: str, device: DeviceSpec) -> str:
  digest = hashlib.sha1(f"{key}|{device.precision}|{device.batch}".encode()).hexdigest()[:20]
  return os.path.join(cache_dir, f"{digest}.tflite")


def _convert_one(args) -> Tuple[str, float]:
  """Worker: converts one layer and writes it to the cache. Returns (key, seconds)."""
  space_name, resolution, key, precision, batch, path = args
  from ofa_tf.latency import layer_models  # pylint: disable=g-import-not-at-top
  t0 = time.perf_counter()
  space = get_space(space_name)
  layer = {l.key: l for l in network_layers.space_layers(space, [resolution])[resolution]}[key]
  spec = space.network_spec(network_layers.covering_configs(space, resolution)[0])
  data = layer_models.layer_tflite(layer, spec, precision, batch)
  atomic_files.write_bytes(path, data)
  return key, time.perf_counter() - t0


def _check_resumable(table: lut.LatencyTable, config: TableBuildConfig) -> None:
  meta = table.metadata
  device = meta.get("device", {})
  mismatches = []
  if meta.get("space") != config.space:
    mismatches.append(f"space {meta.get('space')!r} != {config.space!r}")
  for field in ("name", "precision", "batch", "num_threads", "use_xnnpack", "delegate",
                "estimator"):
    if device.get(field) != getattr(config.device, field):
      mismatches.append(f"device.{field} {device.get(field)!r} != "
                        f"{getattr(config.device, field)!r}")
  if _measures_here(config.device):
    diff = host.differences(meta.get("host") or {}, host.host_fingerprint())
    if diff:  # One table, one host: never mix timings of two machines.
      mismatches.append("host " + ", ".join(f"{k} {a!r} != {b!r}" for k, (a, b) in diff.items()))
  if mismatches:
    raise ValueError(f"{config.output} was built for another setup ({'; '.join(mismatches)}); "
                     "refusing to resume or overwrite it: choose another --output")


def _measures_here(device: DeviceSpec) -> bool:
  """True when the device spec times models on this machine (not on an adb device)."""
  return not device.adb


def table_host(device: DeviceSpec) -> Dict[str, object]:
  """`metadata['host']` of a table measured with `device`: this host's fingerprint, the
  profile and the thread count (or, for adb profiles, only the profile: the device is
  elsewhere)."""
  fingerprint = host.host_fingerprint() if _measures_here(device) else {}
  return dict(fingerprint, profile=device.name, num_threads=device.num_threads)


def _new_metadata(config: TableBuildConfig, resolutions) -> Dict[str, object]:
  return {"space": config.space, "device": dataclasses.asdict(config.device),
          "resolutions": list(resolutions), "tool_versions": tool_versions(),
          "host": table_host(config.device),
          "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
          "method": "per-layer tiny .tflite models (layer_models), timed with the device runner"}


def build_table(config: TableBuildConfig, runner=None,
                progress: Optional[Callable[[Progress], None]] = None) -> lut.LatencyTable:
  """Builds (or resumes) the table described by `config`; returns it (also saved).

  Args:
    config: what to build.
    runner: object with `measure(model_bytes, device) -> LatencyStats` (default from the
      device spec).
    progress: called after each converted and each measured layer.

  Raises:
    ValueError: the output file belongs to another space/device.
  """
  space = get_space(config.space)
  resolutions = config.resolutions or space.resolutions
  bad = [r for r in resolutions if r not in space.resolutions]
  if bad:
    raise ValueError(f"resolutions {bad} are not in space {config.space} ({space.resolutions})")
  layers = network_layers.space_layers(space, resolutions)
  if os.path.exists(config.output):
    table = lut.load_table(config.output)
    _check_resumable(table, config)
    table.metadata["resolutions"] = sorted(set(table.metadata.get("resolutions", []))
                                           | set(resolutions))
  else:
    table = lut.LatencyTable(metadata=_new_metadata(config, resolutions))

  where: Dict[str, List[int]] = {}
  first_resolution: Dict[str, int] = {}
  for r, rl in layers.items():
    for layer in rl:
      where.setdefault(layer.key, []).append(r)
      first_resolution.setdefault(layer.key, r)
  known = {}
  for r, entries in table.entries.items():
    known.update(entries)
  for key, rs in where.items():  # Copy shared entries (e.g. Logits) to new resolutions.
    if key in known:
      for r in rs:
        if not table.contains(r, key):
          table.put(r, key, known[key])
  todo = [k for k in sorted(where) if k not in known]

  cache = config.model_cache_dir
  os.makedirs(cache, exist_ok=True)
  to_convert = [k for k in todo if not os.path.exists(_model_path(cache, k, config.device))]
  timing = dict(table.metadata.get("build_seconds", {}))
  t0 = time.perf_counter()
  jobs = [(config.space, first_resolution[k], k, config.device.precision, config.device.batch,
           _model_path(cache, k, config.device)) for k in to_convert]
  if jobs:
    if config.workers > 1:
      ctx = multiprocessing.get_context("spawn")
      with ctx.Pool(config.workers) as pool:
        results = pool.imap_unordered(_convert_one, jobs)
        _drain(results, len(jobs), t0, progress, "convert")
    else:
      _drain(map(_convert_one, jobs), len(jobs), t0, progress, "convert")
  timing["convert"] = timing.get("convert", 0.0) + time.perf_counter() - t0

  runner = runner or make_runner(config.device, config.benchmark_binary)
  t1 = time.perf_counter()
  chunk, passes = config.measure_chunk, config.device.passes
  timed = [0]  # timings of the chunks done
  for start in range(0, len(todo), chunk):
    keys = todo[start:start + chunk]

    def report(done, total, elapsed, start=start, keys=keys):
      if progress:  # Counted in timings: at least passes x layers over the whole build.
        finished = timed[0] + done
        everything = max(finished, timed[0] + total + (len(todo) - start - len(keys)) * passes)
        spent = time.perf_counter() - t1
        progress(Progress(finished, everything, spent, spent / finished * (everything - finished),
                          f"layers {start + 1}-{start + len(keys)} of {len(todo)}", "measure"))

    paths = [_model_path(cache, k, config.device) for k in keys]
    unstable = dict(table.metadata.get("unstable_layers", {}))
    for key, m in zip(keys, measure_until_stable(paths, config.device, runner,
                                                 progress=report)):
      stats = m.stats
      entry = lut.LutEntry(mean=stats.mean_ms, std=stats.std_ms, count=stats.count,
                           median=stats.median_ms, min=stats.min_ms,
                           estimate=stats.estimate(config.device.estimator),
                           passes=m.passes, rse=m.rse)
      for r in where[key]:
        table.put(r, key, entry)
      timed[0] += m.passes
      if not m.stable:
        unstable[key] = {"rse": m.rse, "passes": m.passes,
                         "pass_estimates_ms": list(m.pass_estimates_ms)}
    if unstable:
      table.metadata["unstable_layers"] = unstable
    timing["measure_partial"] = time.perf_counter() - t1
    table.metadata["build_seconds"] = timing
    lut.save_table(table, config.output)  # A resumed build re-measures at most one chunk.
  timing.pop("measure_partial", None)
  timing["measure"] = timing.get("measure", 0.0) + time.perf_counter() - t1
  table.metadata["build_seconds"] = timing
  table.metadata["num_layers"] = len(where)
  lut.save_table(table, config.output)
  return table


def _drain(results, total, t0, progress, phase):
  for i, (key, _) in enumerate(results):
    if progress:
      elapsed = time.perf_counter() - t0
      progress(Progress(i + 1, total, elapsed, elapsed / (i + 1) * (total - i - 1), key, phase))
