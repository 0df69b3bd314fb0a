"""End to end from the released formats: a w1.2 supernet checkpoint of the released layout
(random weights, written by `torch_writer`), the released MBv3 accuracy-predictor format
(../shared/reference/acc_mbv3_seed0.pth, random weights) and the released Note10 latency
tables: import, search the subnet of highest predicted top-1 under `latency_ms:note10:25`,
export it to cpu_int8 and run it in LiteRT.

What is checked: the checkpoint round-trips exactly, the searched subnet is within the Note10
budget and predicted better than the largest-parameter subnet under it, and the int8 file
computes what the Keras subnet computes.
"""

import os

import numpy as np
import tensorflow as tf
from ai_edge_litert import interpreter as litert

from ofa_tf import search_space as ss
from ofa_tf.export import converter, tflite_graph
from ofa_tf.interop import accuracy_predictor_import as api
from ofa_tf.interop import checkpoint_import, load_ofa_pytorch_checkpoint, torch_writer
from ofa_tf.interop.note10_latency import note10_predictor
from ofa_tf.networks import extract_subnet
from ofa_tf.search.constraints import Constraint, Metrics
from ofa_tf.search.efficiency import EfficiencyTables
from ofa_tf.search.evolution import EvolutionConfig, evolutionary_search

REFERENCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                         "shared", "reference")
W12 = "ofa_mbv3_d234_e346_k357_w1.2"


class ImportedSubnetExportTest(tf.test.TestCase):

  def test_predictor_searched_subnet_of_imported_checkpoint_runs_in_litert_as_int8(self):
    if not os.path.isdir(REFERENCE):
      self.skipTest("../shared/reference not beside the checkout")
    original = checkpoint_import.random_supernet(ss.get_space("ofa_mbv3_w1.2"), seed=0)
    path = os.path.join(self.get_temp_dir(), "ofa_w12_random.pth")
    torch_writer.write_state_dict(path, checkpoint_import.release_state_dict(original),
                                  wrap=True)
    supernet = load_ofa_pytorch_checkpoint(path, W12)
    imported = supernet.named_weights()
    for name, variable in original.named_weights().items():
      self.assertAllEqual(imported[name], variable, msg=name)

    # One resolution (160 px) keeps the int8 conversion quick.
    predictor = api.read_released_predictor(os.path.join(REFERENCE, "acc_mbv3_seed0.pth"),
                                            "ofa_mbv3_w1.2", resolutions=(160,))
    latency = note10_predictor(os.path.join(REFERENCE, "ofa_note10_lut"))
    metrics = Metrics(predictor.space, lambda profile: latency.latency_batch)
    budget = [Constraint.parse("latency_ms:note10:25")]
    evolution = EvolutionConfig(population_size=20, generations=10, seed=0)
    result = evolutionary_search(metrics, predictor.predict_genes, budget, evolution)
    config = result.best.config
    self.assertLessEqual(latency.latency(config), 25.0)
    tables = EfficiencyTables(predictor.space)
    biggest = evolutionary_search(metrics, lambda g: tables.params(g).astype(np.float64),
                                  budget, evolution).best.config
    self.assertGreater(result.best.predicted_top1, predictor.predict([biggest])[0])

    model = extract_subnet(supernet, config.replace(space=supernet.space.name), batch_size=1)
    rng = np.random.default_rng(0)
    images = rng.normal(size=(16, config.r, config.r, 3)).astype(np.float32)
    path = os.path.join(self.get_temp_dir(), "imported_cpu_int8.tflite")
    converter.export_tflite(model, "cpu_int8", images, path)
    self.assertContainsSubset(tflite_graph.read_tflite(path).activation_dtypes(),
                              {"INT8", "UINT8"})

    runner = litert.Interpreter(model_path=path)
    runner.allocate_tensors()
    inp, out = runner.get_input_details()[0], runner.get_output_details()[0]
    in_scale, in_zero = inp["quantization"]
    out_scale, out_zero = out["quantization"]
    agree, correlations = 0, []
    for image in images[:8]:
      q = np.clip(np.round(image / in_scale + in_zero), -128, 127).astype(np.int8)
      runner.set_tensor(inp["index"], q[None])
      runner.invoke()
      got = (runner.get_tensor(out["index"]).astype(np.float32) - out_zero) * out_scale
      want = model(image[None], training=False).numpy()
      agree += int(np.argmax(got) == np.argmax(want))
      correlations.append(np.corrcoef(got.ravel(), want.ravel())[0, 1])
    self.assertGreater(min(correlations), 0.9)
    self.assertGreaterEqual(agree, 6)


if __name__ == "__main__":
  tf.test.main()
