"""End to end from the released format: import the PyTorch checkpoint, search a subnet, export
it to cpu_int8 and run it in LiteRT (issue: interop with the original release).

No ImageNet data or accuracy predictor exists here, so the search ranks subnets by parameter
count (a stand-in for predicted accuracy) under a MACs budget; what is checked is that the
searched subnet of an imported supernet is exportable and that the int8 file computes what
the Keras subnet computes.
"""

import os

import numpy as np
import tensorflow as tf
from ai_edge_litert import interpreter as litert

from ofa_tf.export import converter, tflite_graph
from ofa_tf.interop import load_ofa_pytorch_checkpoint
from ofa_tf.networks import extract_subnet
from ofa_tf.search.constraints import Constraint, Metrics
from ofa_tf.search.efficiency import EfficiencyTables
from ofa_tf.search.evolution import EvolutionConfig, evolutionary_search

REFERENCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                         "shared", "reference")
SHARED_PTH = os.path.join(REFERENCE, "ofa_mbv3_w1.0_seed0.pth")


class ImportedSubnetExportTest(tf.test.TestCase):

  def test_searched_subnet_of_imported_checkpoint_runs_in_litert_as_int8(self):
    if not os.path.exists(SHARED_PTH):
      self.skipTest("../shared/reference not beside the checkout")
    supernet = load_ofa_pytorch_checkpoint(SHARED_PTH, "ofa_mbv3_d234_e346_k357_w1.0")
    space = supernet.space.replace(resolutions=(128, 160))
    tables = EfficiencyTables(space)
    result = evolutionary_search(
        Metrics(space), lambda genes: tables.params(genes).astype(np.float64),
        [Constraint.parse("macs:150e6")],
        EvolutionConfig(population_size=20, generations=10, seed=0))
    config = result.best.config
    self.assertLessEqual(space.macs(config), 150e6)

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
