"""Tests of writing supernets in the released checkpoint layout: a work directory's supernet
reads back through the checkpoint import unchanged; refusals write nothing."""

import os

import numpy as np
import tensorflow as tf

from ofa_tf import atomic_files
from ofa_tf import search_space as ss
from ofa_tf.interop import checkpoint_import, import_workdir

W10 = "ofa_mbv3_d234_e346_k357_w1.0"


class WriteReleaseCheckpointTest(tf.test.TestCase):

  def test_work_directory_round_trip_and_refusals(self):
    supernet = checkpoint_import.random_supernet(ss.get_space("ofa_mbv3_w1.0"), seed=3,
                                                 num_images=2)
    work = os.path.join(self.get_temp_dir(), "work")
    import_workdir.write_workdir(work, supernet, {"source": "test"})
    path = os.path.join(self.get_temp_dir(), "w10.pth")
    checkpoint_import.write_release_checkpoint(path, W10, workdir=work)
    imported = checkpoint_import.load_ofa_pytorch_checkpoint(path, W10).named_weights()
    for name, variable in supernet.named_weights().items():
      self.assertAllEqual(imported[name], variable, msg=name)
    self.assertGreater(np.std(imported["stem_bn.moving_variance"].numpy()), 0)  # Gathered.
    with self.assertRaises(atomic_files.OutputExistsError):
      checkpoint_import.write_release_checkpoint(path, W10, workdir=work)
    with self.assertRaisesRegex(ValueError, "holds space ofa_mbv3_w1.0, not the space "
                                "ofa_mbv3_w1.2"):
      checkpoint_import.write_release_checkpoint(path + "2", "ofa_mbv3_d234_e346_k357_w1.2",
                                                 workdir=work)
    self.assertFalse(os.path.exists(path + "2"))


if __name__ == "__main__":
  tf.test.main()
