"""Tests for phases, TrainConfig validation, presets and JSON round trips."""

import dataclasses

import tensorflow as tf

from ofa_tf.training import config as config_lib


class PhaseTest(tf.test.TestCase):

  def test_learning_rate_warmup_then_cosine(self):
    phase = config_lib.Phase("p", {"ks": (3, 5)}, steps=10, base_lr=0.4, warmup_epochs=0.2,
                             epochs=1.0)
    self.assertEqual(phase.warmup_steps(1000, 100), 2)
    lrs = [phase.learning_rate(s, 10, 2) for s in range(10)]
    self.assertAllClose(lrs[:2], [0.2, 0.4])
    self.assertAlmostEqual(lrs[2], 0.4)
    self.assertTrue(all(a >= b for a, b in zip(lrs[2:], lrs[3:])))
    self.assertLess(lrs[-1], 0.05)

  def test_num_steps(self):
    phase = config_lib.Phase("p", {"ks": (3, 5)}, epochs=2.5)
    self.assertEqual(phase.num_steps(1257, 64), 50)
    self.assertEqual(dataclasses.replace(phase, steps=7).num_steps(1257, 64), 7)

  def test_validation_names_field(self):
    with self.assertRaisesRegex(ValueError, "subnets_per_step"):
      config_lib.Phase("p", {"ks": (3, 5)}, subnets_per_step=0)
    with self.assertRaisesRegex(ValueError, "base_lr"):
      config_lib.Phase("p", {"ks": (3, 5)}, base_lr=0)
    with self.assertRaisesRegex(ValueError, r"elastic\['e'\] must be a non-empty tuple"):
      config_lib.Phase("p", {"e": ()})

  def test_schedule_is_progressive_shrinking(self):
    phases = config_lib.get_preset("imagenet").phases
    self.assertEqual([p.name for p in phases],
                     ["full", "kernel", "depth_1", "depth_2", "expand_1", "expand_2"])
    space = config_lib.get_preset("imagenet").search_space()
    restrictions = [p.restrictions(space) for p in phases]
    self.assertEqual([r["ks"] for r in restrictions], [(7,)] + [(3, 5, 7)] * 5)
    self.assertEqual([r["d"] for r in restrictions],
                     [(4,), (4,), (3, 4), (2, 3, 4), (2, 3, 4), (2, 3, 4)])
    self.assertEqual([r["e"] for r in restrictions], [(6,)] * 4 + [(4, 6), (3, 4, 6)])
    self.assertEqual(phases[0].elastic, {})
    self.assertEqual(phases[2].elastic, {"ks": (3, 5, 7), "d": (3, 4)})
    self.assertEqual([p.subnets_per_step for p in phases], [1, 1, 2, 2, 4, 4])
    self.assertEqual([p.reorganize for p in phases], [False] * 4 + [True, True])
    self.assertEqual([p.trained_values(space) for p in phases[4:]], [{"e": (6,)}, {"e": (4, 6)}])
    self.assertEqual([p.distill for p in phases], [False] + [True] * 5)
    self.assertEqual([p.epochs for p in phases[1:]], [120, 25, 120, 25, 120])
    self.assertAllClose([p.base_lr for p in phases[1:]],
                        [0.96, 0.08, 0.24, 0.08, 0.24])


  def test_resnet_schedule_keeps_every_trained_band(self):
    config = config_lib.get_preset("digits_resnet")
    space, phases = config.search_space(), config.phases
    self.assertEqual([p.name for p in phases], ["full", "depth_1", "depth_2", "expand_1",
                                                "expand_2", "width_1", "width_2"])
    self.assertEqual([p.reorganize for p in phases], [False] * 3 + [True] * 4)
    # The width phases re-sort the middle channels again: all three expand bands are trained
    # by then, so none may be dropped (the smallest-value rule alone would drop 0.2).
    self.assertEqual([p.trained_values(space) for p in phases[3:]],
                     [{"e": (0.35,), "w": (2,)}, {"e": (0.25, 0.35), "w": (2,)},
                      {"e": (0.2, 0.25, 0.35), "w": (2,)}, {"e": (0.2, 0.25, 0.35), "w": (1, 2)}])
    back = config_lib.TrainConfig.from_json(config.to_json())
    self.assertEqual(back.phases[5].trained_values(space), phases[5].trained_values(space))
    # A phase written before `trained` existed falls back to the smallest-value rule.
    legacy = phases[4].to_dict()
    del legacy["trained"]
    self.assertEqual(config_lib.Phase.from_dict(legacy).trained_values(space),
                     {"e": (0.25, 0.35), "w": (2,)})


class TrainConfigTest(tf.test.TestCase):

  def test_presets_round_trip(self):
    for name in config_lib.preset_names():
      config = config_lib.get_preset(name)
      self.assertEqual(config_lib.TrainConfig.from_json(config.to_json()), config)
    self.assertEqual(config_lib.get_preset("digits").dataset, "digits")

  def test_unknown_preset(self):
    with self.assertRaisesRegex(ValueError, "unknown preset 'nope'.*digits"):
      config_lib.get_preset("nope")

  def test_bad_fields(self):
    config = config_lib.get_preset("smoke")
    with self.assertRaisesRegex(ValueError, "strategy must be one of"):
      config.replace(strategy="gpu_farm")
    with self.assertRaisesRegex(ValueError, "execution_mode"):
      config.replace(execution_mode="fast")
    with self.assertRaisesRegex(ValueError, "unknown search space"):
      config.replace(space="nope")
    with self.assertRaisesRegex(ValueError, "global_batch_size"):
      config.replace(global_batch_size=0)
    with self.assertRaisesRegex(ValueError, "resolutions"):
      config.replace(resolutions=(32, 16))
    with self.assertRaisesRegex(ValueError, "unknown TrainConfig fields"):
      config_lib.TrainConfig.from_dict({"spacee": "x"})
    bad_phase = dataclasses.replace(config.phases[0], elastic={"ks": (3, 9)})
    with self.assertRaisesRegex(ValueError, r"restriction of ks to \(3, 9\)"):
      config.replace(phases=(bad_phase,))
    bad_phase = dataclasses.replace(config.phases[0], elastic={"w": (1, 2)})
    with self.assertRaisesRegex(ValueError, r"opens dimensions \['w'\] that space ofa_mbv3_tiny"):
      config.replace(phases=(bad_phase,))

  def test_phases_written_with_the_former_field_names_still_read(self):
    legacy = {"name": "depth_1", "kernel_sizes": [3, 5, 7], "expand_ratios": [6],
              "depths": [3, 4], "epochs": 2.0, "subnets_per_step": 2}
    phase = config_lib.Phase.from_dict(legacy)
    self.assertEqual(phase.elastic, {"ks": (3, 5, 7), "d": (3, 4)})
    self.assertEqual(config_lib.Phase.from_dict(phase.to_dict()), phase)

  def test_select_phases_and_modes(self):
    config = config_lib.get_preset("smoke")
    self.assertEqual([p.name for p in config.select_phases(["kernel", "full"]).phases],
                     ["full", "kernel"])
    with self.assertRaisesRegex(ValueError, "unknown phases"):
      config.select_phases(["width"])
    self.assertEqual(config.resolved_execution_mode(), "sliced")
    self.assertEqual(config.replace(jit_compile=True).resolved_execution_mode(), "masked")
    self.assertEqual(config.replace(strategy="tpu").resolved_execution_mode(), "masked")
    # Synchronized BN needs the masked mode (no tf.cond around its all-reduce).
    self.assertEqual(config.replace(synchronized_bn=True).resolved_execution_mode(), "masked")
    with self.assertRaisesRegex(ValueError, "synchronized_bn needs execution_mode"):
      config.replace(synchronized_bn=True, execution_mode="sliced")
    self.assertEqual(config.replace(dropout_rate=0.0).search_space().dropout_rate, 0.0)
    self.assertEqual(config.search_space().resolutions, (16, 20))

  def test_sizing_a_run(self):
    digits = config_lib.get_preset("digits")
    imagenet = config_lib.get_preset("imagenet")
    moved = digits.with_space("ofa_mbv3_w1.0")
    self.assertEqual(moved.space, "ofa_mbv3_w1.0")
    self.assertIsNone(moved.resolutions)
    self.assertEqual(moved.search_space().resolutions, tuple(range(128, 225, 4)))
    # Same lengths, LRs and subnets per step; the w1.0 space's elastic values.
    self.assertEqual([(p.epochs, p.base_lr, p.warmup_epochs, p.subnets_per_step, p.name)
                      for p in moved.phases],
                     [(p.epochs, p.base_lr, p.warmup_epochs, p.subnets_per_step, p.name)
                      for p in digits.phases])
    self.assertEqual([p.elastic for p in moved.phases], [p.elastic for p in imagenet.phases])
    smoke = config_lib.get_preset("smoke").with_space("ofa_mbv3_w1.0")
    self.assertEqual([p.steps for p in smoke.phases], [3] * 6)

    small = imagenet.with_global_batch_size(16)
    self.assertEqual(small.global_batch_size, 16)
    self.assertAllClose([p.base_lr for p in small.phases],
                        [p.base_lr / 128 for p in imagenet.phases])
    self.assertEqual([p.base_lr for p in imagenet.with_global_batch_size(
        16, scale_lr=False).phases], [p.base_lr for p in imagenet.phases])
    with self.assertRaisesRegex(ValueError, "global_batch_size must be a positive int"):
      imagenet.with_global_batch_size(0)

    short = imagenet.scale_epochs(0.01)
    self.assertAllClose([p.epochs for p in short.phases], [1.8, 1.2, 0.25, 1.2, 0.25, 1.2])
    self.assertAllClose([p.warmup_epochs for p in short.phases],
                        [0.05, 0.05, 0, 0.05, 0, 0.05])
    self.assertEqual([p.steps for p in config_lib.get_preset("smoke").scale_epochs(2).phases],
                     [6] * 6)
    with self.assertRaisesRegex(ValueError, "epochs scale must be > 0"):
      imagenet.scale_epochs(0)


if __name__ == "__main__":
  tf.test.main()
