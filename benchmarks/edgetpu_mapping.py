r"""Mapping as a guarantee: N random subnets of a space, each exported with `edgetpu_int8`
and analyzed for the EdgeTPU (`ofa_tf.export.edgetpu_mapping`; random weights and random
calibration images: mapping depends on the graph only). Prints one line per subnet and, last,
`M/N subnets fully mapped, one EdgeTPU subgraph each`; exits 1 when M < N.

  python benchmarks/edgetpu_mapping.py --space=ofa_edgetpu --num_subnets=50 --seed=0
"""

import sys

from absl import app
from absl import flags

from ofa_tf.export import edgetpu_mapping
from ofa_tf.search_space import get_space

_SPACE = flags.DEFINE_string("space", "ofa_edgetpu", "Registered search space.")
_NUM_SUBNETS = flags.DEFINE_integer("num_subnets", 50, "Subnets to check: the smallest, the "
                                    "largest and random ones.", lower_bound=1)
_SEED = flags.DEFINE_integer("seed", 0, "Seed of the subnet sampling and calibration images.")


def main(argv):
  del argv
  results = edgetpu_mapping.map_space(get_space(_SPACE.value), _NUM_SUBNETS.value,
                                      _SEED.value, log=lambda line: print(line, flush=True))
  line = edgetpu_mapping.summary_line(results)
  print(line)
  return 0 if all(r.fully_mapped and r.edgetpu_subgraphs == 1 for r in results) else 1


if __name__ == "__main__":
  sys.exit(app.run(main))
