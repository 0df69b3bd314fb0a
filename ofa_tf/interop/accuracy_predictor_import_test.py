"""Tests of the released accuracy-predictor import against the shared oracles
(../shared/reference/acc_{mbv3,resnet50}_seed0*), and of its refusals."""

import json
import os

import numpy as np
import tensorflow as tf

from ofa_tf import search_space as ss
from ofa_tf import workdir
from ofa_tf.interop import accuracy_predictor_import as api
from ofa_tf.interop import torch_checkpoint
from ofa_tf.interop import torch_writer
from ofa_tf.search.accuracy_predictor import AccuracyPredictor
from ofa_tf.search.search_test_util import resnet50_space

REFERENCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                         "shared", "reference")
MBV3 = os.path.join(REFERENCE, "acc_mbv3_seed0.pth")
MBV3_CASES = os.path.join(REFERENCE, "acc_mbv3_seed0_cases.json")
RESNET50 = os.path.join(REFERENCE, "acc_resnet50_seed0.pth")


def random_sequential_state(input_width, seed=0):
  """A random state dict in the released MBv3 predictor layout with `input_width` inputs."""
  rng = np.random.default_rng(seed)
  state, sizes = {}, (input_width, 400, 400, 400, 1)
  for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
    state[f"{2 * i}.weight"] = rng.normal(0, 0.05, (fan_out, fan_in)).astype(np.float32)
    state[f"{2 * i}.bias"] = rng.normal(0, 0.05, fan_out).astype(np.float32)
  return state


class ReleasedPredictorOracleTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    if not os.path.isdir(REFERENCE):
      self.skipTest("../shared/reference not beside the checkout")

  def _check_cases(self, predictor, cases):
    results = api.verify_predictor_cases(predictor, os.path.join(REFERENCE, cases))
    self.assertLen(results, 40)
    worst = max(r.abs_diff for r in results)
    self.assertLessEqual(worst, api.TOLERANCE)
    self.assertTrue(all(r.passed for r in results))
    return results

  def test_mbv3_reproduces_the_reference_predictions(self):
    predictor = api.read_released_predictor(MBV3, "ofa_mbv3_w1.2")
    self.assertEqual(predictor.encoding, "released_mbv3")
    self.assertEqual(predictor.space.resolutions, (160, 176, 192, 208, 224))
    self.assertEqual(predictor.hidden_units, (400, 400, 400))
    results = self._check_cases(predictor, "acc_mbv3_seed0_cases.json")
    # The search-time path (genes of the predictor's own space) answers in percent.
    configs = [r.config for r in results]
    self.assertAllClose(predictor.predict(configs), [100 * r.expected for r in results],
                        atol=100 * api.TOLERANCE)

  def test_resnet50_reproduces_the_reference_predictions(self):
    predictor = api.read_released_predictor(RESNET50, resnet50_space())
    self.assertEqual(predictor.encoding, "released_resnet50")
    self._check_cases(predictor, "acc_resnet50_seed0_cases.json")

  def test_saved_predictor_keeps_encoding_source_and_predictions(self):
    predictor = api.read_released_predictor(MBV3, "ofa_mbv3_w1.2")
    directory = api.install_predictor(predictor, os.path.join(self.get_temp_dir(), "p"))
    loaded = AccuracyPredictor.load(directory)
    self.assertEqual((loaded.encoding, loaded.space), ("released_mbv3", predictor.space))
    self.assertEqual(loaded.source["layout"], "sequential")
    self.assertLen(loaded.source["sha256"], 64)
    self._check_cases(loaded, "acc_mbv3_seed0_cases.json")
    with self.assertRaisesRegex(FileExistsError, "exists"):
      api.install_predictor(predictor, directory)

  def test_wrong_layout_width_and_truncation_are_refused(self):
    with self.assertRaisesRegex(ValueError, r"has the generic predictor layout.*space "
                                r"ofa_mbv3_w1.2 needs the sequential layout"):
      api.read_released_predictor(RESNET50, "ofa_mbv3_w1.2")
    with self.assertRaisesRegex(ValueError, r"has the sequential predictor layout.*needs the "
                                r"generic layout"):
      api.read_released_predictor(MBV3, resnet50_space())
    wide = os.path.join(self.get_temp_dir(), "wide.pth")
    torch_writer.write_state_dict(wide, random_sequential_state(145))
    with self.assertRaisesRegex(ValueError, r"maps 145 -> 1 features; space ofa_mbv3_w1.2 in "
                                r"encoding released_mbv3 needs 128 -> 1"):
      api.read_released_predictor(wide, "ofa_mbv3_w1.2")
    with open(MBV3, "rb") as f:
      data = f.read()
    cut = os.path.join(self.get_temp_dir(), "cut.pth")
    with open(cut, "wb") as f:
      f.write(data[:len(data) // 2])
    with self.assertRaises(torch_checkpoint.CheckpointFormatError):
      api.read_released_predictor(cut, "ofa_mbv3_w1.2")
    with self.assertRaisesRegex(ValueError, "no released accuracy predictor for space "
                                "'ofa_mbv3_w1.0'"):
      api.read_released_predictor(MBV3, "ofa_mbv3_w1.0")


class RunImportTest(tf.test.TestCase):
  """The binary's job: verify, then write; nothing written on any refusal."""

  def setUp(self):
    super().setUp()
    if not os.path.isdir(REFERENCE):
      self.skipTest("../shared/reference not beside the checkout")
    self.tmp = self.get_temp_dir()

  def _job(self, output, **kwargs):
    kwargs.setdefault("checkpoint", MBV3)
    kwargs.setdefault("space", "ofa_mbv3_w1.2")
    return api.ImportJob(output=output, **kwargs)

  def test_into_a_work_directory_where_search_looks(self):
    work = os.path.join(self.tmp, "work")
    workdir.write_space(work, ss.get_space("ofa_mbv3_w1.2"))
    result = api.run_import(self._job(work, verify_cases=MBV3_CASES))
    self.assertEqual(result.directory, os.path.join(work, "accuracy_predictor"))
    self.assertLen(result.cases, 40)
    self.assertEqual(AccuracyPredictor.load(result.directory).encoding, "released_mbv3")
    with self.assertRaises(FileExistsError):
      api.run_import(self._job(work))
    api.run_import(self._job(work, overwrite=True))
    other = os.path.join(self.tmp, "w10")
    workdir.write_space(other, ss.get_space("ofa_mbv3_w1.0"))
    with self.assertRaisesRegex(ValueError, "holds space 'ofa_mbv3_w1.0'; the predictor is "
                                "for 'ofa_mbv3_w1.2'"):
      api.run_import(self._job(other))
    self.assertEqual(sorted(os.listdir(other)), ["space.json"])

  def test_bad_files_and_failed_cases_write_nothing(self):
    truncated = os.path.join(self.tmp, "truncated.pth")
    with open(MBV3, "rb") as src, open(truncated, "wb") as dst:
      dst.write(src.read(700_000))
    for checkpoint in (truncated, RESNET50, os.path.join(self.tmp, "missing.pth")):
      output = os.path.join(self.tmp, "out_" + os.path.basename(checkpoint))
      with self.assertRaises((ValueError, OSError), msg=checkpoint):
        api.run_import(self._job(output, checkpoint=checkpoint))
      self.assertFalse(os.path.exists(output), checkpoint)
    with open(MBV3_CASES) as f:
      cases = json.load(f)
    cases["cases"][7]["predicted"] += 2e-5
    off = os.path.join(self.tmp, "off_cases.json")
    with open(off, "w") as f:
      json.dump(cases, f)
    output = os.path.join(self.tmp, "out_off")
    with self.assertRaisesRegex(api.CasesMismatchError, r"cases \[7\] differ") as caught:
      api.run_import(self._job(output, verify_cases=off))
    self.assertLen(caught.exception.results, 40)
    self.assertFalse(os.path.exists(output))


class LayoutTest(tf.test.TestCase):

  def test_generic_layout_folds_base_acc_and_percent(self):
    rng = np.random.default_rng(1)
    state = {"base_acc": np.array([0.7], np.float32),
             "layers.0.0.weight": rng.normal(size=(8, 82)).astype(np.float32),
             "layers.0.0.bias": rng.normal(size=8).astype(np.float32),
             "layers.1.weight": rng.normal(size=(1, 8)).astype(np.float32)}
    path = os.path.join(self.get_temp_dir(), "generic.pth")
    torch_writer.write_state_dict(path, state)
    predictor = api.read_released_predictor(path, resnet50_space())
    x = np.eye(82, dtype=np.float32)[:5]
    hidden = np.maximum(x @ state["layers.0.0.weight"].T + state["layers.0.0.bias"], 0)
    want = 100 * ((hidden @ state["layers.1.weight"].T)[:, 0] + 0.7)
    self.assertAllClose(predictor.predict_features(x), want, rtol=1e-5)

  def test_unknown_keys_name_the_layouts(self):
    with self.assertRaisesRegex(ValueError, r"not a released accuracy-predictor layout; keys "
                                r"\['fc.weight'\]"):
      api.detect_layout({"fc.weight": np.zeros((1, 2), np.float32)}, "x.pth")
    state = random_sequential_state(128)
    state["4.weight"] = state["4.weight"][:, :10]
    path = os.path.join(self.get_temp_dir(), "bad.pth")
    torch_writer.write_state_dict(path, state)
    with self.assertRaisesRegex(ValueError, r"layer 2: kernel \(10, 400\)"):
      api.read_released_predictor(path, "ofa_mbv3_w1.2")


class TorchWriterTest(tf.test.TestCase):

  def test_round_trip_through_the_reader(self):
    state = {"a": np.arange(6, dtype=np.int64).reshape(2, 3),
             "b": np.linspace(0, 1, 24, dtype=np.float32).reshape(2, 3, 4),
             "c": np.zeros((0, 3), np.float32), "d": np.float32(2.5)}
    for wrap in (False, True):
      path = os.path.join(self.get_temp_dir(), f"s{wrap}.pth")
      torch_writer.write_state_dict(path, state, wrap=wrap)
      read = torch_checkpoint.read_torch_file(path)
      read = read["state_dict"] if wrap else read
      self.assertEqual(list(read), list(state))
      for key, value in state.items():
        self.assertEqual(read[key].dtype, value.dtype, key)
        self.assertAllEqual(read[key], value, msg=key)
    with self.assertRaisesRegex(FileExistsError, "exists"):
      torch_writer.write_state_dict(path, state)


if __name__ == "__main__":
  tf.test.main()
