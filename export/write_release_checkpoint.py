r"""Writes a supernet as a PyTorch checkpoint of the released OFA layout (`torch.save` zip).

  bazel run //export:write_release_checkpoint -- --arch=ofa_mbv3_d234_e346_k357_w1.2 \
      --output=/tmp/ofa_w12_random.pth                    # random weights, seeded
  bazel run //export:write_release_checkpoint -- --arch=ofa_mbv3_d234_e346_k357_w1.0 \
      --workdir=/tmp/ofa_trained --output=/tmp/ofa_w10.pth  # a trained work directory

The file holds `{'state_dict': ...}` with the canonical keys and PyTorch layouts of the
released supernet (`ofa_tf.interop.checkpoint_import.write_release_checkpoint`), so
`export/import_ofa_checkpoint.py` reads it back. Without --workdir the supernet is freshly
initialized (seeded) and its BatchNorm statistics are those of the largest subnet on random
images at the largest resolution (as the reference's random-weight oracle files were made):
a stand-in for the released w1.2 file, for trying the import -> search -> export pipeline.
"""

from absl import flags

from ofa_tf import cli
from ofa_tf.interop import checkpoint_import
from ofa_tf.interop import ofa_state_dict

_ARCH = flags.DEFINE_enum("arch", None, sorted(ofa_state_dict.ARCHITECTURES),
                          "Released supernet architecture.", required=True)
_OUTPUT = flags.DEFINE_string("output", None, ".pth to write.", required=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Work directory of a trained supernet.")
_SEED = flags.DEFINE_integer("seed", 0, "Seed of the random weights (without --workdir).")
_OVERWRITE = flags.DEFINE_bool("overwrite", False, "Replace an existing --output.")


def main(argv):
  cli.run_from_invocation_directory()
  del argv
  checkpoint_import.write_release_checkpoint(_OUTPUT.value, _ARCH.value,
                                             workdir=_WORKDIR.value, seed=_SEED.value,
                                             overwrite=_OVERWRITE.value)
  source = (f"weights of {_WORKDIR.value}" if _WORKDIR.value
            else f"random weights, seed {_SEED.value}")
  print(f"wrote {_OUTPUT.value} ({_ARCH.value}, {source})")


if __name__ == "__main__":
  cli.run(main)
