"""Bad input to every binary of trainers/: one error line, no traceback, exit status 2
(`ofa_tf.cli`); a work directory in use: status 1 naming the holder."""

import os
import socket

import tensorflow as tf

from ofa_tf.cli_test_util import assert_error_line, run_binary
from ofa_tf.data.folder_test_util import write_image_folder
from ofa_tf.training.trainer_test_util import sleeping_process, write_lock


class ProgressiveShrinkTest(tf.test.TestCase):

  def test_bad_flag_values(self):
    run = run_binary("trainers.progressive_shrink", "--space=nope")
    assert_error_line(self, run, 2, "progressive_shrink: error: unknown search space 'nope'")
    run = run_binary("trainers.progressive_shrink", "--batch_size=-3", "--print_config")
    assert_error_line(self, run, 2, "global_batch_size must be a positive int, got -3")

  def test_too_small_folder_is_refused_before_writing(self):
    images = os.path.join(self.get_temp_dir(), "images")
    write_image_folder(images, classes=2, per_class=10, size=24)
    workdir = os.path.join(self.get_temp_dir(), "wd")
    run = run_binary("trainers.progressive_shrink", f"--dataset=folder:{images}",
                     f"--workdir={workdir}", "--batch_size=64")
    assert_error_line(self, run, 2, "16 training images, fewer than one batch "
                      r"\(global_batch_size 64\)")
    self.assertFalse(os.path.exists(workdir))

  def test_work_directory_in_use_exits_1_naming_the_holder(self):
    workdir = os.path.join(self.get_temp_dir(), "busy")
    holder = sleeping_process(self)
    write_lock(workdir, holder.pid)
    run = run_binary("trainers.progressive_shrink", "--preset=smoke", f"--workdir={workdir}")
    assert_error_line(self, run, 1, f"in use by PID {holder.pid} on host "
                      f"'{socket.gethostname()}'")
    self.assertEqual(os.listdir(workdir), [".lock"])


class SearchBinariesTest(tf.test.TestCase):

  def test_search(self):
    workdir = self.get_temp_dir()
    run = run_binary("trainers.search", "--constraint=macs:5e6")
    assert_error_line(self, run, 2, "search: error: .*--workdir")
    run = run_binary("trainers.search", f"--workdir={workdir}", "--constraint=watts:3")
    assert_error_line(self, run, 2, "watts")
    # Existing outputs are refused before the search (here: before even reading the
    # predictor, which this work directory lacks).
    os.makedirs(os.path.join(workdir, "search"))
    with open(os.path.join(workdir, "search", "result.json"), "w") as f:
      f.write("{}")
    run = run_binary("trainers.search", f"--workdir={workdir}", "--constraint=macs:5e6")
    assert_error_line(self, run, 2, "result.json exists; pass --overwrite to replace it")

  def test_accuracy_dataset_and_predictor(self):
    missing = os.path.join(self.get_temp_dir(), "missing")
    run = run_binary("trainers.build_accuracy_dataset", f"--workdir={missing}")
    assert_error_line(self, run, 2, f"build_accuracy_dataset: error: .*{missing}")
    run = run_binary("trainers.train_accuracy_predictor", f"--workdir={missing}")
    assert_error_line(self, run, 2, "no accuracy dataset rows")


if __name__ == "__main__":
  tf.test.main()
