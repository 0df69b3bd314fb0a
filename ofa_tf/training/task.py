"""The single-replica progressive-shrinking step (the `Task` of TF Model Garden's split).

One step (Cai et al., ICLR 2020, Sec. 3.2-3.3; reference `train_one_epoch` of
`progressive_shrinking.py`):

  1. teacher logits from the frozen largest network (a copy taken after the full phase);
  2. for each of the N subnets sampled for this step: forward, loss = label-smoothed CE +
     kd_ratio x CE against the teacher's softmax, gradients of each subnet summed;
  3. the summed gradients are all-reduced over replicas, L2 weight decay is added (not on BN
     and biases) and SGD applies them once.

Subnets (and the resolution, chosen by the data pipeline) are functions of (seed, global step)
computed in Python outside the traced step and passed in as stacked arch tensors of shape
[N, ...] (`networks.arch_signature`), so every replica and worker trains the same subnets at the same step, a
resumed run replays the same sequence, and the step never retraces per subnet.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
import tf_keras

from ofa_tf.networks import Supernet, arch_signature, build_supernet, encode_arch
from ofa_tf.search_space import SearchSpace, SubnetConfig
from ofa_tf.training.config import Phase, TrainConfig

_NO_DECAY_SUFFIXES = (".gamma", ".beta", ".bias", ".moving_mean", ".moving_variance")


def sample_subnets(space: SearchSpace, phase: Phase, seed: int, step: int,
                   resolution: int) -> list[SubnetConfig]:
  """The `phase.subnets_per_step` subnets trained at global step `step`.

  A pure function of (seed, step): `np.random.default_rng([seed, step])` restricted to the
  phase's elastic values; the resolution is the data pipeline's for that step.
  """
  rng = np.random.default_rng([seed, step])
  restrictions = phase.restrictions(space)
  return [space.sample(rng, restrictions, resolutions=(resolution,))
          for _ in range(phase.subnets_per_step)]


def stack_archs(space: SearchSpace, configs: list[SubnetConfig]) -> dict[str, np.ndarray]:
  """`encode_arch` of each config stacked along a new leading axis: [N, ...] arrays."""
  encoded = [encode_arch(space, c) for c in configs]
  return {k: np.stack([e[k] for e in encoded]) for k in encoded[0]}


def copy_weights(source: Supernet, target: Supernet) -> None:
  """Assigns every named weight of `source` (BN statistics included) to `target`."""
  target_weights = target.named_weights()
  for name, variable in source.named_weights().items():
    target_weights[name].assign(variable.read_value())


def reset_optimizer_slots(optimizer: tf_keras.optimizers.Optimizer) -> None:
  """Zeroes the optimizer's float slots (momentum), keeping its iteration count: a fresh
  optimizer, as the reference builds one per phase."""
  for slot in optimizer.variables:
    if slot is not optimizer.iterations and slot.dtype == tf.float32:
      slot.assign(tf.zeros_like(slot))


class ProgressiveShrinkingTask:
  """Builds the per-replica train step of one phase; owns no strategy.

  Args:
    config: the run's TrainConfig (loss and optimizer hyper-parameters).
    supernet: the student supernet (created in the strategy's scope).
    teacher: the frozen largest network (an supernet of the same space without
      dropout), or None when no phase distills.
    optimizer: a tf_keras optimizer built over `supernet.trainable_variables`.
    step_counter: int64 variable holding the global step during a step, or None. With it the
      dropout masks are stateless functions of (config.seed, step, replica, subnet), so a
      resumed run replays them; without, Keras' stateful dropout is used.

  Attributes:
    trace_count: how many times a step function was traced (Python side effect of tracing).
  """

  def __init__(self, config: TrainConfig, supernet: Supernet,
               teacher: Supernet | None, optimizer: tf_keras.optimizers.Optimizer,
               step_counter: tf.Variable | None = None):
    self.config = config
    self.step_counter = step_counter
    self.supernet = supernet
    self.teacher = teacher
    self.optimizer = optimizer
    self.trace_count = 0
    self._variables = supernet.trainable_variables
    decayed = {id(v) for name, v in supernet.named_weights().items()
               if not (config.no_decay_on_bn_and_bias and name.endswith(_NO_DECAY_SUFFIXES))}
    self._decay = [id(v) in decayed for v in self._variables]
    self._teacher_arch = (None if teacher is None else
                          {k: tf.constant(v) for k, v in
                           encode_arch(teacher.space, teacher.space.max_config()).items()})

  def loss(self, labels: tf.Tensor, logits: tf.Tensor, teacher_logits: tf.Tensor | None = None,
           kd_weight=None) -> tf.Tensor:
    """Per-example loss [B]: label-smoothed CE + kd_weight x CE against the teacher's softmax.

    `kd_weight` defaults to `config.kd_ratio`.
    """
    num_classes = tf.shape(logits)[-1]
    onehot = tf.one_hot(labels, num_classes, dtype=logits.dtype)
    smoothing = self.config.label_smoothing
    targets = onehot * (1.0 - smoothing) + smoothing / tf.cast(num_classes, logits.dtype)
    log_probs = tf.nn.log_softmax(logits)
    loss = -tf.reduce_sum(targets * log_probs, -1)
    if teacher_logits is not None:
      kd_weight = self.config.kd_ratio if kd_weight is None else kd_weight
      soft = tf.stop_gradient(tf.nn.softmax(teacher_logits))
      loss += kd_weight * -tf.reduce_sum(soft * log_probs, -1)
    return loss

  def replica_step(self, images: tf.Tensor, labels: tf.Tensor, archs: dict[str, tf.Tensor],
                   distill, global_batch_size: int, unroll: bool = False) -> tf.Tensor:
    """One optimizer step on this replica's share of the global batch.

    Runs inside `strategy.run` (or directly under the default strategy). The subnets are
    iterated with a `tf.while_loop`, so one traced graph serves every number of subnets; with
    `unroll` (synchronized BN over several replicas, whose all-reduce cannot run inside
    control flow) they are a Python loop and `distill` is a Python bool.

    Args:
      images: [b, r, r, 3] float32 NHWC, this replica's slice of the global batch.
      labels: [b] int32.
      archs: dict of [N, ...] tensors (`stack_archs`), the same on every replica
        (static N when `unroll`).
      distill: bool scalar tensor (Python bool when `unroll`): add the KD term against the
        teacher.
      global_batch_size: examples over all replicas (the loss is averaged over it).
      unroll: Python loop over subnets, no tf.cond / tf.while_loop in the step.

    Returns:
      This replica's share of the mean (over subnets) loss; the SUM over replicas is the
      loss of the global batch.
    """
    def teacher_logits():
      # Reference: the teacher runs in training mode (batch statistics), without gradients.
      # Momentum 1 keeps its moving statistics; its space has no dropout.
      return tf.stop_gradient(self.teacher(
          images, training=True, arch=self._teacher_arch, bn_momentum=tf.constant(1.0)))

    def no_teacher():
      return tf.zeros([tf.shape(images)[0], self.supernet.space.num_classes])

    context = tf.distribute.get_replica_context()
    dropout_seed = None
    if self.step_counter is not None:
      replica = 0 if context is None else context.replica_id_in_sync_group
      dropout_seed = tf.random.experimental.stateless_fold_in(
          tf.stack([tf.constant(self.config.seed, tf.int64),
                    tf.cast(self.step_counter, tf.int64)]), replica)

    if unroll:
      distill = bool(distill) and self.teacher is not None
      soft = teacher_logits() if distill else no_teacher()
      kd_weight = tf.constant(self.config.kd_ratio if distill else 0.0)
      num_subnets = int(archs["active"].shape[0])
    else:
      if self.teacher is None:
        soft, distill = no_teacher(), tf.constant(False)
      else:
        soft = tf.cond(distill, teacher_logits, no_teacher)
      kd_weight = tf.where(distill, self.config.kd_ratio, 0.0)
      num_subnets = tf.shape(archs["active"])[0]

    def body(i, total_loss, summed):
      """Forward and backward of subnet i; its loss and gradients added to the sums."""
      seed = (None if dropout_seed is None else
              tf.random.experimental.stateless_fold_in(dropout_seed, i))
      with tf.GradientTape() as tape:
        logits = self.supernet(images, training=True, arch={k: v[i] for k, v in archs.items()},
                               dropout_seed=seed)
        loss = tf.nn.compute_average_loss(self.loss(labels, logits, soft, kd_weight),
                                          global_batch_size=global_batch_size)
      grads = tape.gradient(loss, self._variables,
                            unconnected_gradients=tf.UnconnectedGradients.ZERO)
      return i + 1, total_loss + loss, [s + tf.convert_to_tensor(g)
                                        for s, g in zip(summed, grads)]

    sums = (tf.constant(0.0), [tf.zeros_like(v) for v in self._variables])
    if unroll:
      state = (0,) + sums
      for _ in range(num_subnets):
        state = body(*state)
    else:
      # One subnet at a time: iterations running concurrently would execute the same fused
      # BatchNorm nodes at once with different widths, which TF's oneDNN CPU kernel does not
      # survive (see ElasticBatchNormalization); serial is also faster on CPU (measured).
      state = tf.while_loop(lambda i, *_: i < num_subnets, body, (tf.constant(0),) + sums,
                            parallel_iterations=1)
    _, total_loss, summed = state
    if context is not None and context.num_replicas_in_sync > 1:
      summed = context.all_reduce(tf.distribute.ReduceOp.SUM, summed)
    wd = self.config.weight_decay
    grads = [g + wd * v if decay and wd else g
             for g, v, decay in zip(summed, self._variables, self._decay)]
    self.optimizer.apply_gradients(zip(grads, self._variables),
                                   skip_gradients_aggregation=True)
    return total_loss / tf.cast(num_subnets, tf.float32)

  def make_step_fn(self, strategy: tf.distribute.Strategy, global_batch_size: int,
                   data_spec=None, jit_compile: bool = False):
    """The traced train step: (images, labels, archs, distill) -> mean loss of the step.

    Args:
      strategy: the strategy whose replicas run `replica_step`.
      global_batch_size: examples per step over all replicas.
      data_spec: element spec of the distributed dataset (images with unknown spatial size),
        or None. With a spec the step traces once for all resolutions and subnet counts;
        without (static shapes, e.g. for XLA) it traces once per resolution and subnet
        count. Never once per subnet: archs are tensors. `trace_count` counts traces.
      jit_compile: compile with XLA (masked mode).

    Synchronized BN over more than one replica all-reduces batch statistics with a
    `merge_call`, which tf.distribute cannot run inside `tf.cond` / `tf.while_loop`: the step
    then unrolls the subnet loop (one trace per subnet count and per `distill` value, which
    is constant within a phase) and the supernet must run in masked mode.

    Returns:
      A callable (a tf.function, or a thin wrapper around one when unrolled).

    Raises:
      ValueError: synchronized BN over several replicas with a sliced-mode supernet.
    """
    unroll = self.supernet.synchronized_bn and strategy.num_replicas_in_sync > 1
    if unroll and self.supernet.execution_mode != "masked":
      raise ValueError("synchronized BN over several replicas needs the masked execution mode "
                       "(the sliced mode skips blocks with tf.cond, where tf.distribute "
                       f"cannot all-reduce); got {self.supernet.execution_mode!r}")

    def step(inputs, archs, distill):
      self.trace_count += 1
      images, labels = inputs
      per_replica = strategy.run(
          self.replica_step, args=(images, labels, archs, distill),
          kwargs=dict(global_batch_size=global_batch_size, unroll=unroll))
      return strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)

    if unroll:
      traced = tf.function(step, jit_compile=jit_compile or None)

      def unrolled_step(inputs, archs, distill):
        archs = {k: tf.convert_to_tensor(v) for k, v in archs.items()}
        return traced(inputs, archs, bool(distill))

      return unrolled_step
    signature = None
    if data_spec is not None:
      arch_spec = arch_signature(self.supernet.space, stacked=True)
      signature = [data_spec, arch_spec, tf.TensorSpec([], tf.bool)]
    return tf.function(step, input_signature=signature, jit_compile=jit_compile or None)
