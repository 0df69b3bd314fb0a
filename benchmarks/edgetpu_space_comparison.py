r"""OFA-EdgeTPU against OFA-MobileNetV3 lowered for the EdgeTPU, at equal MACs, on the digits.

For each space, the subnet at --resolution with the most MACs under --macs among --candidates
seeded random subnets (MACs from the space's counters) is exported with `cpu_int8` and
`edgetpu_int8` (PTQ on digits training images; MobileNetV3's h-swish decomposed for the
EdgeTPU, `recipes`). With a trained work directory, the subnet is extracted with recalibrated
BN statistics and its float (Keras) and int8 (LiteRT) top-1 on the digits test split are
reported; without one it has random weights (mapping, size and latency do not depend on them;
top-1 is then "-"). Latency: `cpu_int8` in LiteRT, 1 thread, XNNPACK (`targets.
litert_latency_ms`, the `cpu_xnnpack_1t_int8` setting), measured here, one model after the
other: compare rows of one run only.

  PYTHONPATH=. python benchmarks/edgetpu_space_comparison.py --macs=5e6 --resolution=24 \
      --workdirs=/tmp/wd_edgetpu,
"""

import tempfile

from absl import app
from absl import flags
import numpy as np

from ofa_tf.data import load_dataset
from ofa_tf.export import targets
from ofa_tf.networks import build_static_model
from ofa_tf.search.efficiency import EfficiencyTables
from ofa_tf.search_space import get_space
from ofa_tf import workdir as workdir_lib

_SPACES = flags.DEFINE_list("spaces", ["ofa_edgetpu_tiny", "ofa_mbv3_tiny"], "Search spaces.")
_WORKDIRS = flags.DEFINE_list("workdirs", [], "Trained work directory of each space, in "
                              "--spaces order ('' or missing: random weights).")
_MACS = flags.DEFINE_float("macs", 5e6, "MACs budget per image.")
_RESOLUTION = flags.DEFINE_integer("resolution", 24, "Input resolution (pixels).")
_CANDIDATES = flags.DEFINE_integer("candidates", 4000, "Random subnets to choose from.")
_SEED = flags.DEFINE_integer("seed", 0, "Seed of the candidates.")


def pick_subnet(space, budget: float, resolution: int, candidates: int, seed: int):
  """The candidate with the most MACs <= `budget` at `resolution`, and its MACs.

  Raises:
    ValueError: no candidate fits the budget.
  """
  tables = EfficiencyTables(space)
  genes = tables.codec.sample(np.random.default_rng(seed), candidates)
  genes[:, tables.codec.r_col] = space.resolutions.index(resolution)
  macs = tables.macs(genes)
  fits = np.flatnonzero(macs <= budget)
  if not len(fits):
    raise ValueError(f"no subnet of {space.name} at r={resolution} has <= {budget:g} MACs "
                     f"(smallest candidate {macs.min():g})")
  best = fits[np.argmax(macs[fits])]
  return tables.codec.decode(genes[best:best + 1])[0], int(macs[best])


def main(argv):
  del argv
  data = load_dataset("digits")
  workdirs = list(_WORKDIRS.value) + [""] * len(_SPACES.value)
  rows = ["| space | subnet MACs | weights | float top-1 | edgetpu_int8 top-1 | EdgeTPU ops "
          "mapped | edgetpu_int8 size (bytes) | cpu_int8 latency, 1 thread (ms) |",
          "|---|---:|---|---:|---:|---|---:|---:|"]
  for name, workdir in zip(_SPACES.value, workdirs):
    space = get_space(name)
    config, macs = pick_subnet(space, _MACS.value, _RESOLUTION.value, _CANDIDATES.value,
                               _SEED.value)
    print(f"{name}: {config.to_json()} ({macs} MACs)", flush=True)
    if workdir:
      model = targets.extract_recalibrated(workdir_lib.load_supernet(workdir), config, data,
                                           num_images=320)
    else:
      model = build_static_model(space.network_spec(config))
    with tempfile.TemporaryDirectory() as d:
      cpu, tpu = targets.export_model_for_targets(model, data, d, ("cpu_int8", "edgetpu_int8"))
    top1 = (f"{100 * tpu.keras_top1:.2f}%", f"{100 * tpu.top1:.2f}%") if workdir else ("-", "-")
    rows.append(f"| {name} | {macs / 1e6:.2f}M | {'trained' if workdir else 'random'} | "
                f"{top1[0]} | {top1[1]} | {tpu.edgetpu_ops} | {tpu.size_bytes:,} | "
                f"{cpu.latency_ms:.3f} |")
  print("\n".join(rows))


if __name__ == "__main__":
  app.run(main)
