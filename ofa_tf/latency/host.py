"""Host fingerprints: which machine and runtime a latency table was measured on.

A per-layer table holds only on the host that measured it: the same LiteRT build picks
different kernels on different CPUs (issue 17: the shipped int8 table, built on an Intel Xeon
@ 2.5 GHz, predicted 0 of 20 subnets within +-10% on a Xeon with AMX, where XNNPACK's 7x7
depthwise path is 20-70x slower). Every table therefore records the fingerprint of its host
(`metadata['host']`) and the predictor compares it with the host it runs on
(`check_host`): a mismatch is a warning naming both hosts, or an error.

The fingerprint holds what decides which kernels run and how fast:
  cpu_model     /proc/cpuinfo 'model name' (x86) or implementer/part (Arm), else
                `platform.processor()`
  isa_flags     the instruction-set extensions among the CPU flags that kernel libraries
                dispatch on (SSE/AVX/AVX-512/AMX/VNNI/F16C/FMA on x86, NEON/dotprod/i8mm/
                SVE/fp16 on Arm), sorted
  machine       `platform.machine()`
  litert        ai_edge_litert version
  profile, num_threads  the device profile measured with (added by the table builder)
"""

import os
import platform
import re
import warnings
from typing import Dict, Mapping, Optional, Sequence

# Flag name patterns of the ISA extensions CPU kernel libraries (XNNPACK, ruy, the builtin
# optimized kernels) select code paths on.
_ISA_PATTERNS = re.compile(
    r"^(sse\d?(_\d)?|ssse3|avx\w*|amx\w*|fma|f16c|bmi2?|"  # x86
    r"asimd\w*|neon|fp16|fphp|dotprod|i8mm|sve\w*|sme\d*|bf16)$")  # Arm

# Fields whose mismatch means another host (profile and threads are checked separately).
HOST_FIELDS = ("cpu_model", "isa_flags", "machine", "litert")


class HostMismatchError(ValueError):
  """A latency table was measured on another host than the one predicting with it."""


def _cpuinfo_fields(text: str) -> Dict[str, str]:
  """First value of every 'key : value' line of /proc/cpuinfo text."""
  fields: Dict[str, str] = {}
  for line in text.splitlines():
    key, sep, value = line.partition(":")
    if sep:
      fields.setdefault(key.strip().lower(), value.strip())
  return fields


def _litert_version() -> str:
  try:
    import ai_edge_litert  # pylint: disable=g-import-not-at-top
    return str(ai_edge_litert.__version__)
  except (ImportError, AttributeError):
    return "unknown"


def host_fingerprint(cpuinfo_text: Optional[str] = None, litert_version: Optional[str] = None,
                     machine: Optional[str] = None) -> Dict[str, object]:
  """The fingerprint of this host (arguments override what is read, for tests).

  Args:
    cpuinfo_text: /proc/cpuinfo contents (default: read it; '' where it does not exist).
    litert_version: ai_edge_litert version (default: the installed one).
    machine: architecture (default: `platform.machine()`).

  Returns:
    {'cpu_model': str, 'isa_flags': [str], 'machine': str, 'litert': str, 'cpu_count': int}.
  """
  if cpuinfo_text is None:
    try:
      with open("/proc/cpuinfo") as f:
        cpuinfo_text = f.read()
    except OSError:
      cpuinfo_text = ""
  fields = _cpuinfo_fields(cpuinfo_text)
  model = fields.get("model name") or fields.get("hardware")
  if not model and "cpu part" in fields:
    model = f"implementer {fields.get('cpu implementer', '?')} part {fields['cpu part']}"
  flags = (fields.get("flags") or fields.get("features") or "").split()
  return {"cpu_model": model or platform.processor() or "unknown",
          "isa_flags": sorted({f for f in flags if _ISA_PATTERNS.match(f)}),
          "machine": machine or platform.machine(),
          "litert": litert_version or _litert_version(),
          "cpu_count": os.cpu_count() or 0}


def describe(fingerprint: Mapping) -> str:
  """One line: 'AMD EPYC (x86_64, 2 CPUs, avx512f+amx_tile+..., LiteRT 2.3.0)'."""
  if not fingerprint or "cpu_model" not in fingerprint:
    return "unknown host (table built before host fingerprints)"
  flags = fingerprint.get("isa_flags") or []
  notable = [f for f in flags if f.startswith(("avx512f", "avx512_vnni", "avx_vnni", "amx",
                                               "avx2", "dotprod", "i8mm", "sve"))]
  extras = [f"{fingerprint.get('cpu_count', '?')} CPUs"] if "cpu_count" in fingerprint else []
  for key in ("profile", "num_threads"):
    if key in fingerprint:
      extras.append(f"{key} {fingerprint[key]}")
  return (f"{fingerprint.get('cpu_model', '?')} ({fingerprint.get('machine', '?')}, "
          f"{', '.join(extras + ['+'.join(notable) or 'no AVX2/AVX-512/AMX'])}, "
          f"LiteRT {fingerprint.get('litert', '?')})")


def differences(table_host: Mapping, this_host: Mapping,
                fields: Sequence[str] = HOST_FIELDS) -> Dict[str, tuple]:
  """{field: (table value, this host's value)} for every field that differs."""
  return {f: (table_host.get(f), this_host.get(f)) for f in fields
          if table_host.get(f) != this_host.get(f)}


def check_host(table_host: Optional[Mapping], this_host: Optional[Mapping] = None, *,
               what: str = "latency table", on_mismatch: str = "warn") -> Dict[str, tuple]:
  """Compares a table's host fingerprint with this host's.

  Args:
    table_host: `metadata['host']` of the table; None or one without 'cpu_model' (tables
      built before fingerprints) is reported as unknown.
    this_host: fingerprint of this host (default: `host_fingerprint()`).
    what: names the table in messages (e.g. its path).
    on_mismatch: 'warn' (a `UserWarning` naming both hosts), 'error' (raise
      `HostMismatchError`) or 'ignore'.

  Returns:
    The differences (empty when the hosts match).

  Raises:
    HostMismatchError: hosts differ and on_mismatch='error'.
    ValueError: unknown on_mismatch.
  """
  if on_mismatch not in ("warn", "error", "ignore"):
    raise ValueError(f"on_mismatch must be 'warn', 'error' or 'ignore', got {on_mismatch!r}")
  this_host = this_host if this_host is not None else host_fingerprint()
  if not table_host or "cpu_model" not in table_host:
    diff = {"cpu_model": (None, this_host.get("cpu_model"))}
    message = (f"{what} has no host fingerprint (built before fingerprints were recorded); "
               f"its timings may not hold on this host, {describe(this_host)}: rebuild it "
               "here with export/build_latency_table.py")
  else:
    diff = differences(table_host, this_host)
    if not diff:
      return {}
    fields = ", ".join(diff)
    message = (f"{what} was measured on another host ({fields} differ): table host "
               f"{describe(table_host)}; this host {describe(this_host)}. Per-layer timings do "
               "not carry over between CPUs or LiteRT builds: rebuild the table here with "
               "export/build_latency_table.py, or accept the mismatch explicitly")
  if on_mismatch == "error":
    raise HostMismatchError(message)
  if on_mismatch == "warn":
    warnings.warn(message, UserWarning, stacklevel=3)
  return diff
