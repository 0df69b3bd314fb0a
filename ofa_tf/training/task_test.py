"""Tests for the per-replica step: sampling, loss, gradient accumulation, trace counts."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from ofa_tf.networks import Supernet, build_supernet
from ofa_tf.training import config as config_lib
from ofa_tf.training import task as task_lib


def _setup(config, step_counter=None):
  space = config.search_space()
  tf_keras.utils.set_random_seed(0)
  supernet = build_supernet(space)
  teacher = build_supernet(space.replace(dropout_rate=0.0))
  task_lib.copy_weights(supernet, teacher)
  optimizer = tf_keras.optimizers.SGD(0.01, momentum=0.9, nesterov=True)
  optimizer.build(supernet.trainable_variables)
  return space, supernet, task_lib.ProgressiveShrinkingTask(config, supernet, teacher, optimizer,
                                                            step_counter=step_counter)


def _batch(r, n=4, seed=0):
  rng = np.random.default_rng(seed)
  return (tf.constant(rng.normal(size=(n, r, r, 3)), tf.float32),
          tf.constant(rng.integers(0, 10, n), tf.int32))


def _all_ops(graph):
  """The ops of a FuncGraph and of every function graph it calls, recursively."""
  ops = list(graph.get_operations())
  for function in graph._functions.values():  # pylint: disable=protected-access
    if hasattr(function, "graph"):
      ops += _all_ops(function.graph)
  return ops


class SamplingTest(tf.test.TestCase):

  def test_subnets_are_a_function_of_seed_and_step(self):
    config = config_lib.get_preset("smoke")
    space, phase = config.search_space(), config.phases[5]
    a = task_lib.sample_subnets(space, phase, 0, 17, 16)
    self.assertEqual(a, task_lib.sample_subnets(space, phase, 0, 17, 16))
    self.assertNotEqual(a, task_lib.sample_subnets(space, phase, 0, 18, 16))
    self.assertLen(a, phase.subnets_per_step)
    full = task_lib.sample_subnets(space, config.phases[0], 0, 3, 20)
    self.assertEqual(full, [space.max_config(20)])
    depth = config.phases[2]
    for config_ in task_lib.sample_subnets(space, depth, 1, 5, 16):
      self.assertTrue(set(config_.d) <= {3, 4})
      self.assertEqual(set(config_.e), {6})
    archs = task_lib.stack_archs(space, a)
    self.assertEqual(archs["mid_channels"].shape, (4, space.num_blocks))


class TaskTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.config = config_lib.get_preset("smoke").replace(dropout_rate=0.0, weight_decay=0.0)

  def test_loss_matches_numpy(self):
    _, _, task = _setup(self.config)
    logits = np.array([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3]], np.float32)
    teacher = np.array([[1.0, 0.0, 0.0], [0.0, 3.0, 0.0]], np.float32)
    labels = np.array([0, 2], np.int32)
    log_p = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    targets = np.eye(3)[labels] * 0.9 + 0.1 / 3
    soft = np.exp(teacher) / np.exp(teacher).sum(-1, keepdims=True)
    expected = -(targets * log_p).sum(-1) - 1.0 * (soft * log_p).sum(-1)
    self.assertAllClose(task.loss(labels, logits, teacher), expected, atol=1e-6)
    self.assertAllClose(task.loss(labels, logits), -(targets * log_p).sum(-1), atol=1e-6)

  def test_step_sums_gradients_over_subnets_and_traces_once(self):
    space, supernet, task = _setup(self.config)
    phase = self.config.phases[3]  # 2 subnets per step, distillation
    images, labels = _batch(16)
    configs = task_lib.sample_subnets(space, phase, 0, 0, 16)
    # Expected update: plain SGD with momentum from zero slots: v = -lr * g, w += mu*v - lr*g.
    variables = supernet.trainable_variables
    teacher_logits = task.teacher(images, training=True, arch=task._teacher_arch,
                                  bn_momentum=tf.constant(1.0))
    bn_state = {k: v.numpy() for k, v in supernet.named_weights().items() if "moving" in k}
    grads = [tf.zeros_like(v) for v in variables]
    for c in configs:
      with tf.GradientTape() as tape:
        logits = supernet(images, training=True, arch=supernet.arch_inputs(c))
        loss = tf.reduce_mean(task.loss(labels, logits, teacher_logits))
      grads = [a + tf.convert_to_tensor(g) if g is not None else a
               for a, g in zip(grads, tape.gradient(loss, variables))]
    for k, v in supernet.named_weights().items():
      if k in bn_state:
        v.assign(bn_state[k])
    before = [v.numpy() for v in variables]
    spec = (tf.TensorSpec([None, None, None, 3], tf.float32), tf.TensorSpec([None], tf.int32))
    step_fn = task.make_step_fn(tf.distribute.get_strategy(), 4, data_spec=spec)
    step_fn((images, labels), task_lib.stack_archs(space, configs), tf.constant(True))
    expected = [b - 0.01 * (1 + 0.9) * g.numpy() for b, g in zip(before, grads)]
    for v, e in zip(variables, expected):
      self.assertAllClose(v.numpy(), e, atol=1e-5, rtol=1e-4, msg=v.name)
    # More steps: other resolution, other subnet count, no distillation: no retrace.
    for step, (r, p) in enumerate([(20, phase), (16, self.config.phases[0]),
                                   (20, self.config.phases[5])]):
      archs = task_lib.stack_archs(space, task_lib.sample_subnets(space, p, 0, step, r))
      step_fn(_batch(r, seed=step), archs, tf.constant(p.distill))
    self.assertEqual(task.trace_count, 1)
    # The subnet loop runs one iteration at a time (concurrent iterations crash the fused BN
    # kernel on CPU, see ElasticBatchNormalization).
    loops = [op for op in _all_ops(step_fn.get_concrete_function().graph)
             if op.type in ("While", "StatelessWhile")]
    self.assertNotEmpty(loops)
    self.assertEqual({op.get_attr("parallel_iterations") for op in loops}, {1})

  def test_dropout_masks_are_a_function_of_seed_and_step(self):
    step = tf.Variable(5, dtype=tf.int64)
    config = self.config.replace(dropout_rate=0.5)
    space, supernet, task = _setup(config, step_counter=step)
    initial = {k: v.numpy() for k, v in supernet.named_weights().items()}
    phase = config.phases[5]  # 4 subnets per step: each gets its own mask
    archs = task_lib.stack_archs(space, task_lib.sample_subnets(space, phase, 0, 0, 16))
    step_fn = task.make_step_fn(tf.distribute.get_strategy(), 4)

    def loss_at(value):  # From the same weights and zero optimizer slots every time.
      for k, v in supernet.named_weights().items():
        v.assign(initial[k])
      task_lib.reset_optimizer_slots(task.optimizer)
      step.assign(value)
      return float(step_fn(_batch(16), archs, tf.constant(False)))

    first = loss_at(5)
    self.assertEqual(loss_at(5), first)  # A resumed run replays the masks of step 5 ...
    self.assertNotEqual(loss_at(6), first)  # ... and another step draws others.

  @pytest.mark.slow
  def test_static_shapes_trace_once_per_resolution(self):
    space, _, task = _setup(self.config)
    step_fn = task.make_step_fn(tf.distribute.get_strategy(), 4)
    phase = self.config.phases[5]
    for step, r in enumerate([16, 20, 16, 20, 16]):
      archs = task_lib.stack_archs(space, task_lib.sample_subnets(space, phase, 0, step, r))
      step_fn(_batch(r, seed=step), archs, tf.constant(True))
    self.assertEqual(task.trace_count, 2)


if __name__ == "__main__":
  tf.test.main()
