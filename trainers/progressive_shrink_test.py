"""The trainer binary under SIGTERM: exit 0 with a checkpoint at the step where it stopped,
and the same command resumes to the weights of an uninterrupted run (slow: two processes)."""

import os
import re
import signal
import subprocess
import sys

import pytest
import tensorflow as tf

from ofa_tf import workdir as workdir_lib
from ofa_tf.training import trainer
from ofa_tf.training.trainer_test_util import micro_config

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _command(config_path, workdir):
  return [sys.executable, "-m", "trainers.progressive_shrink", f"--config={config_path}",
          f"--workdir={workdir}", "--strategy=one_device"]


def _env():
  return dict(os.environ, PYTHONPATH=_ROOT, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")


class SigtermTest(tf.test.TestCase):

  @pytest.mark.slow
  def test_sigterm_exits_0_and_the_same_command_resumes(self):
    config = micro_config(full_steps=8).select_phases(["full", "kernel"]).replace(
        strategy="one_device", log_every_steps=1)
    config_path = os.path.join(self.get_temp_dir(), "run.json")
    with open(config_path, "w") as f:
      f.write(config.to_json())
    workdir = os.path.join(self.get_temp_dir(), "wd")
    child = subprocess.Popen(_command(config_path, workdir), cwd=_ROOT, env=_env(),
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    for line in child.stdout:  # Wait until training runs (step 2 logged), then SIGTERM.
      lines.append(line)
      if "step 2/8" in line:
        child.send_signal(signal.SIGTERM)
        break
    out = "".join(lines) + child.communicate(timeout=600)[0]
    self.assertEqual(child.returncode, 0, out[-3000:])
    self.assertNotIn("Traceback", out)
    match = re.search(r"stopped by SIGTERM at global step (\d+) \(checkpoint saved\)", out)
    self.assertIsNotNone(match, out[-3000:])
    step = int(match.group(1))
    self.assertBetween(step, 2, 9)
    self.assertEndsWith(tf.train.latest_checkpoint(os.path.join(workdir, "checkpoints")),
                        f"ckpt-{step}")
    resumed = subprocess.run(_command(config_path, workdir), cwd=_ROOT, env=_env(),
                             capture_output=True, text=True, timeout=600)
    self.assertEqual(resumed.returncode, 0, resumed.stderr[-3000:])
    self.assertIn(f"resumed from {workdir}/checkpoints/ckpt-{step}", resumed.stderr)
    whole = trainer.train(config, os.path.join(self.get_temp_dir(), "whole"))
    loaded = workdir_lib.load_supernet(workdir)
    for name, value in whole.supernet.named_weights().items():
      self.assertAllClose(loaded.named_weights()[name].numpy(), value.numpy(), atol=1e-6,
                          rtol=1e-6, msg=name)


if __name__ == "__main__":
  tf.test.main()
