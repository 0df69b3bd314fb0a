"""Tests for the trainer: all phases, resume, bad input, BN recalibration, distribution."""

import json
import os
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

from ofa_tf import atomic_files
from ofa_tf.data import load_dataset
from ofa_tf.data.folder_test_util import write_image_folder
from ofa_tf.networks import Supernet, build_supernet
from ofa_tf.search_space import get_space
from ofa_tf.training import config as config_lib
from ofa_tf.training import evaluation
from ofa_tf.training import trainer
from ofa_tf.training.trainer_test_util import micro_config
from ofa_tf import workdir as workdir_lib

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _weights(supernet) -> dict:
  return {k: v.numpy() for k, v in supernet.named_weights().items()}


def _run_child(script: str, env=None, args=()) -> subprocess.Popen:
  env = {**os.environ, "PYTHONPATH": _REPO, "CUDA_VISIBLE_DEVICES": "", **(env or {})}
  return subprocess.Popen([sys.executable, "-c", textwrap.dedent(script), *args], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


class BadInputTest(tf.test.TestCase):
  """Bad input is refused before any training and without touching the work directory."""

  def setUp(self):
    super().setUp()
    self.workdir = os.path.join(self.get_temp_dir(), "wd")
    self.config = micro_config()

  def assert_refused(self, config, regex, workdir=None):
    workdir = workdir or self.workdir
    before = sorted(os.listdir(workdir)) if os.path.isdir(workdir) else None
    with self.assertRaisesRegex(ValueError, regex):
      trainer.train(config, workdir)
    after = sorted(os.listdir(workdir)) if os.path.isdir(workdir) else None
    self.assertEqual(before, after)

  def test_unknown_dataset(self):
    self.assert_refused(self.config.replace(dataset="imagenet"), "unknown dataset spec")

  def test_missing_and_empty_folders(self):
    self.assert_refused(self.config.replace(dataset="folder:/nonexistent/images"),
                        "/nonexistent/images")
    root = os.path.join(self.get_temp_dir(), "images")
    os.makedirs(os.path.join(root, "cat"))
    os.makedirs(os.path.join(root, "dog"))
    self.assert_refused(self.config.replace(dataset=f"folder:{root}"), "cat|dog|empty|no image")

  def test_resolutions_beyond_data(self):
    self.assert_refused(self.config.replace(resolutions=(16, 96)), "96")

  def test_workdir_of_other_space_or_config(self):
    os.makedirs(self.workdir)
    other = get_space("ofa_mbv3_w1.0")
    workdir_lib.write_space(self.workdir, other)
    self.assert_refused(self.config, r"another space .*name: \"ofa_mbv3_w1.0\" -> "
                        r"\"ofa_mbv3_tiny\".*--overwrite")
    os.remove(os.path.join(self.workdir, "space.json"))
    space = trainer.resolve_space(self.config, 10)
    workdir_lib.write_space(self.workdir, space)
    atomic_files.write_text(os.path.join(self.workdir, "train_config.json"),
                            config_lib.get_preset("digits").to_json())
    self.assert_refused(self.config, "different train config .*global_batch_size: 64 -> 32")

  def test_space_mismatch_names_the_resolutions(self):
    space = trainer.resolve_space(self.config, 10)
    os.makedirs(self.workdir)
    workdir_lib.write_space(self.workdir, space.replace(resolutions=(16, 24)))
    self.assert_refused(self.config, r"resolutions: \[16, 24\] -> \[16, 20\]")

  def test_too_small_folder_is_refused_before_any_write(self):
    root = os.path.join(self.get_temp_dir(), "small")
    write_image_folder(root, classes=2, per_class=10, size=24)
    self.assertFalse(os.path.exists(self.workdir))
    with self.assertRaisesRegex(ValueError, "16 training images, fewer than one batch "
                                r"\(global_batch_size 32\)"):
      trainer.train(self.config.replace(dataset=f"folder:{root}"), self.workdir)
    self.assertFalse(os.path.exists(self.workdir))


class TrainerTest(tf.test.TestCase):
  """One uninterrupted micro run (all six phases) shared by the tests of this class."""

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.root = os.path.join(os.environ.get("TEST_TMPDIR", "/tmp"), f"trainer_test_{os.getpid()}")
    cls.config = micro_config(full_steps=30)
    cls.result = trainer.train(cls.config, os.path.join(cls.root, "uninterrupted"),
                               overwrite=True)

  def test_all_phases_complete(self):
    result = self.result
    self.assertTrue(result.complete)
    self.assertEqual(result.phase_index, 6)
    self.assertEqual(result.global_step, 30 + 5 * 2)
    loaded = workdir_lib.load_supernet(result.workdir)
    for name, value in _weights(result.supernet).items():
      self.assertAllEqual(value, loaded.named_weights()[name].numpy(), msg=name)
    with open(os.path.join(result.workdir, "train_config.json")) as f:
      self.assertEqual(config_lib.TrainConfig.from_dict(json.load(f)), self.config)

  @pytest.mark.slow
  def test_resume_mid_phase_matches_uninterrupted(self):
    workdir = os.path.join(self.root, "interrupted")
    stopped = trainer.train(self.config, workdir, overwrite=True, stop_after_steps=33)
    self.assertFalse(stopped.complete)
    self.assertEqual((stopped.global_step, stopped.phase_index), (33, 2))  # depth_1, 1 of 2
    resumed = trainer.train(self.config, workdir)
    self.assertTrue(resumed.complete)
    self.assertEqual((resumed.global_step, resumed.phase_index),
                     (self.result.global_step, self.result.phase_index))
    expected = _weights(self.result.supernet)
    for name, value in _weights(resumed.supernet).items():
      self.assertAllClose(value, expected[name], atol=1e-6, rtol=1e-6, msg=name)

  @pytest.mark.slow
  def test_resume_replays_dropout_masks(self):
    config = micro_config(full_steps=4).replace(dropout_rate=0.5)
    config = config.select_phases(["full", "kernel"])
    whole = trainer.train(config, os.path.join(self.root, "dropout_whole"), overwrite=True)
    workdir = os.path.join(self.root, "dropout_interrupted")
    trainer.train(config, workdir, overwrite=True, stop_after_steps=3)
    resumed = trainer.train(config, workdir)
    self.assertEqual(resumed.global_step, whole.global_step)
    expected = _weights(whole.supernet)
    for name, value in _weights(resumed.supernet).items():
      self.assertAllClose(value, expected[name], atol=1e-6, rtol=1e-6, msg=name)

  @pytest.mark.slow
  def test_bn_recalibration_improves_shrunk_subnet(self):
    # Its own run: the shared micro run (30 full steps, under one epoch) is near chance for
    # every subnet, recalibrated or not (measured 10% -> 15%). After 120 full steps and the
    # two-step shrinking phases, the smallest subnet measured 11% stale -> 44% recalibrated.
    supernet = trainer.train(micro_config(full_steps=120), os.path.join(self.root, "bn"),
                             overwrite=True).supernet
    data = load_dataset("digits")
    space = supernet.space
    config = space.min_config(min(space.resolutions))
    before = evaluation.bn_statistics(supernet)
    top1_stale, loss_stale = evaluation.evaluate_subnet(supernet, config, data, "validation",
                                                        135)
    evaluation.recalibrate_bn(supernet, config, data, num_images=256, batch_size=64)
    after = evaluation.bn_statistics(supernet)
    top1_recalibrated, loss_recalibrated = evaluation.evaluate_subnet(
        supernet, config, data, "validation", 135)
    evaluation.restore_bn_statistics(supernet, before)
    changed = [k for k in before if not np.allclose(before[k], after[k])]
    self.assertIn("block1.expand_bn.moving_mean", changed)
    # Blocks the subnet skips (depth 2 of 4) keep their statistics.
    self.assertAllEqual(before["block4.expand_bn.moving_mean"],
                        after["block4.expand_bn.moving_mean"])
    self.assertGreater(top1_recalibrated, top1_stale + 0.2)
    self.assertLess(loss_recalibrated, loss_stale - 0.3)


class SmokePresetTest(tf.test.TestCase):

  @pytest.mark.slow
  def test_smoke_preset_all_phases_with_table(self):
    workdir = os.path.join(self.get_temp_dir(), "smoke")
    result = trainer.train(config_lib.get_preset("smoke"), workdir)
    self.assertTrue(result.complete)
    with open(os.path.join(workdir, "phase_results.json")) as f:
      results = json.load(f)
    self.assertEqual(list(results), ["full", "kernel", "depth_1", "depth_2", "expand_1",
                                     "expand_2", "final/test"])
    self.assertLen(results["expand_2"], 16)
    self.assertIn("d2 e3 k3 r16", evaluation.format_table(results))


_SYNC_BN_CHILD = """
import json
import numpy as np
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import tf_keras
from ofa_tf.data import load_dataset, resolution_for_step
from ofa_tf.networks import Supernet, build_supernet
from ofa_tf.training import config as config_lib, task as task_lib, trainer

config = config_lib.get_preset("smoke").replace(dropout_rate=0.0, synchronized_bn=True)
phase = config.phases[3]  # depth_2: 2 subnets per step, distillation
data = load_dataset("digits")
space = trainer.resolve_space(config, data.num_classes)
reference = None

def run(devices):
  global reference
  tf_keras.utils.set_random_seed(0)
  strategy = tf.distribute.MirroredStrategy(devices)
  with strategy.scope():
    supernet = build_supernet(space, "masked", synchronized_bn=True)
    teacher = build_supernet(space.replace(dropout_rate=0.0), "masked", synchronized_bn=True)
    optimizer = tf_keras.optimizers.SGD(0.05, momentum=0.9, nesterov=True)
    optimizer.build(supernet.trainable_variables)
  if reference is None:
    reference = {k: v.numpy() for k, v in supernet.named_weights().items()}
  for k, v in supernet.named_weights().items():
    v.assign(reference[k])
  task_lib.copy_weights(supernet, teacher)
  task = task_lib.ProgressiveShrinkingTask(config, supernet, teacher, optimizer)
  batches = trainer._distributed_batches(strategy, data, config, space.resolutions, 0)
  step_fn = task.make_step_fn(strategy, config.global_batch_size, batches.element_spec)
  iterator, losses, weights = iter(batches), [], []
  for step in range(3):
    # Every step starts from the reference weights and fresh optimizer slots: on a new net at
    # this learning rate consecutive steps amplify float32 rounding ~100x per step (measured:
    # 5e-7, 7e-5, 3e-3 max weight difference after steps 1-3), which would hide a real bug.
    for k, v in supernet.named_weights().items():
      v.assign(reference[k])
    task_lib.reset_optimizer_slots(optimizer)
    r = resolution_for_step(config.seed, step, space.resolutions)
    archs = task_lib.stack_archs(space, task_lib.sample_subnets(space, phase, 0, step, r))
    losses.append(float(step_fn(next(iterator), archs, tf.constant(True))))
    weights.append({k: v.numpy() for k, v in supernet.named_weights().items()})
  return losses, weights, strategy.num_replicas_in_sync

one, w1, n1 = run(["/cpu:0"])
two, w2, n2 = run(["/cpu:0", "/cpu:1"])
# Per step: the largest difference between the two updates over the largest update.
update_diff = max(max(float(np.abs(a[k] - b[k]).max()) for k in a) /
                  max(float(np.abs(a[k] - reference[k]).max()) for k in a)
                  for a, b in zip(w1, w2))
print("RESULT", json.dumps({"one": one, "two": two, "replicas": [n1, n2],
                            "update_diff": update_diff}))
"""

# The trainer end to end over both devices, in a process of its own (MirroredStrategy objects
# over the same devices in one process share collective instance keys): synchronized BN picks
# the masked mode, and BN recalibration and evaluation run on the mirrored statistics.
_SYNC_BN_TRAIN_CHILD = """
import json, sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from ofa_tf.training import trainer
from ofa_tf.training.trainer_test_util import micro_config

config = micro_config(synchronized_bn=True, strategy="mirrored").replace(eval_at_phase_end=True)
result = trainer.train(config.select_phases(["full", "depth_2"]), sys.argv[1])
top1 = [row["top1"] for rows in result.results.values() for row in rows]
print("RESULT", json.dumps({"steps": result.global_step, "complete": result.complete,
                            "mode": result.supernet.execution_mode, "top1": top1,
                            "replicas": trainer.make_strategy("mirrored").num_replicas_in_sync}))
"""


def _child_result(test: tf.test.TestCase, child: subprocess.Popen) -> dict:
  out, _ = child.communicate(timeout=900)
  test.assertEqual(child.returncode, 0, out[-3000:])
  return json.loads(out.split("RESULT ")[-1].splitlines()[0])


class DistributedTest(tf.test.TestCase):

  @pytest.mark.slow
  def test_synchronized_bn_two_replicas_same_loss_as_one(self):
    steps = _run_child(_SYNC_BN_CHILD)
    train = _run_child(_SYNC_BN_TRAIN_CHILD, args=[os.path.join(self.get_temp_dir(), "sync")])
    result = _child_result(self, steps)
    self.assertEqual(result["replicas"], [1, 2])
    self.assertAllClose(result["one"], result["two"], atol=1e-5, rtol=0)
    # The updates agree too (gradients, BN statistics). Not to 1e-6: BN's backward pass
    # subtracts nearly equal sums (cancellation), and the replicas sum in another order;
    # measured 3e-4 of the largest update. Per-replica statistics (synchronized_bn off) give
    # 4e-2 here and loss differences of 5e-3.
    self.assertLess(result["update_diff"], 2e-3)
    result = _child_result(self, train)
    self.assertEqual(result["replicas"], 2)
    self.assertTrue(result["complete"])
    self.assertEqual(result["steps"], 4)
    self.assertEqual(result["mode"], "masked")
    self.assertNotEmpty(result["top1"])
    self.assertTrue(all(0.0 <= t <= 1.0 for t in result["top1"]), result["top1"])

  @pytest.mark.slow
  def test_multi_worker_two_processes_stay_in_sync(self):
    ports = []
    for _ in range(2):
      with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        ports.append(s.getsockname()[1])
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    workdir = os.path.join(self.get_temp_dir(), "mw")
    children = []
    for index in range(2):
      out = os.path.join(self.get_temp_dir(), f"weights{index}.npz")
      script = f"""
      import numpy as np
      from ofa_tf.training import trainer
      from ofa_tf.training.trainer_test_util import micro_config
      config = micro_config().replace(strategy="multi_worker")
      config = config.select_phases(["full", "kernel"])
      result = trainer.train(config, {workdir!r})
      assert result.complete and result.global_step == 4, result
      np.savez({out!r}, **{{k: v.numpy() for k, v in result.supernet.named_weights().items()}})
      print("DONE")
      """
      tf_config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
      children.append((_run_child(script, env={"TF_CONFIG": tf_config}), out))
    outputs = []
    try:
      for child, _ in children:
        outputs.append(child.communicate(timeout=900)[0])
    finally:
      for child, _ in children:
        if child.poll() is None:
          child.kill()
    for (child, _), out in zip(children, outputs):
      self.assertEqual(child.returncode, 0, out[-3000:])
    w0, w1 = (np.load(path) for _, path in children)
    self.assertEqual(sorted(w0.files), sorted(w1.files))
    for name in w0.files:
      self.assertAllClose(w0[name], w1[name], atol=1e-6, msg=name)
    self.assertTrue(workdir_lib.has_final(workdir))


if __name__ == "__main__":
  tf.test.main()
