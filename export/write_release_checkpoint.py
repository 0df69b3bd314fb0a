r"""Writes a supernet as a PyTorch checkpoint of the released OFA layout (`torch.save` zip).

  bazel run //export:write_release_checkpoint -- --arch=ofa_mbv3_d234_e346_k357_w1.2 \
      --output=/tmp/ofa_w12_random.pth                    # random weights, seeded
  bazel run //export:write_release_checkpoint -- --arch=ofa_mbv3_d234_e346_k357_w1.0 \
      --workdir=/tmp/ofa_trained --output=/tmp/ofa_w10.pth  # a trained work directory

The file holds `{'state_dict': ...}` with the canonical keys and PyTorch layouts of the
released supernet (`ofa_tf.interop.checkpoint_import.release_state_dict`), so
`export/import_ofa_checkpoint.py` reads it back. Without --workdir the supernet is freshly
initialized (seeded) and its BatchNorm statistics are those of the largest subnet on random
images at the largest resolution (as the reference's random-weight oracle files were made):
a stand-in for the released w1.2 file, for trying the import -> search -> export pipeline.
"""

import dataclasses
from typing import Optional

from absl import app
from absl import flags

from ofa_tf import cli
from ofa_tf.interop import checkpoint_import
from ofa_tf.interop import ofa_state_dict
from ofa_tf.interop import torch_writer

_ARCH = flags.DEFINE_enum("arch", None, sorted(ofa_state_dict.ARCHITECTURES),
                          "Released supernet architecture.", required=True)
_OUTPUT = flags.DEFINE_string("output", None, ".pth to write.", required=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Work directory of a trained supernet.")
_SEED = flags.DEFINE_integer("seed", 0, "Seed of the random weights (without --workdir).")
_OVERWRITE = flags.DEFINE_bool("overwrite", False, "Replace an existing --output.")


@dataclasses.dataclass(frozen=True)
class WriteConfig:
  arch: str
  output: str
  workdir: Optional[str] = None
  seed: int = 0
  overwrite: bool = False


def run(config: WriteConfig) -> str:
  """Writes the checkpoint; returns its path."""
  if config.workdir:
    from ofa_tf.training import workdir as workdir_lib  # pylint: disable=g-import-not-at-top
    supernet = workdir_lib.load_supernet(config.workdir)
    want = checkpoint_import.supernet_space(config.arch)
    if supernet.space != want:
      raise app.UsageError(f"{config.workdir} holds space {supernet.space.name}, not the "
                           f"space {want.name} of {config.arch}")
  else:
    supernet = checkpoint_import.random_supernet(
        checkpoint_import.supernet_space(config.arch), config.seed)
  state = checkpoint_import.release_state_dict(supernet)
  torch_writer.write_state_dict(config.output, state, wrap=True, overwrite=config.overwrite)
  return config.output


def main(argv):
  cli.run_from_invocation_directory()
  del argv
  path = run(WriteConfig(_ARCH.value, _OUTPUT.value, _WORKDIR.value, _SEED.value,
                         _OVERWRITE.value))
  print(f"wrote {path} ({_ARCH.value}, "
        f"{'weights of ' + _WORKDIR.value if _WORKDIR.value else f'random weights, seed {_SEED.value}'})")


if __name__ == "__main__":
  app.run(main)
