"""Search spaces of every registered family, subnet configs, static network specs, counters.

Dependency order (no cycles): subnet -> static_spec -> counters -> family -> mbconv_space ->
{mobilenet_v3, proxyless, edgetpu}, resnet50 -> registry, cost_terms; this file registers the
families and their sizes.
"""

from ofa_tf.search_space.cost_terms import CostTerms
from ofa_tf.search_space.counters import (block_depthwise_macs, block_macs, block_params,
                                          count_macs, count_params)
from ofa_tf.search_space.family import ElasticDim, SearchSpace, make_divisible
from ofa_tf.search_space.edgetpu import EdgeTpuSpace, ofa_edgetpu, tiny_edgetpu
from ofa_tf.search_space.mbconv_space import StageSpec
from ofa_tf.search_space.mobilenet_v3 import (MobileNetV3Space, ofa_mobilenet_v3,
                                              tiny_mobilenet_v3)
from ofa_tf.search_space.proxyless import ProxylessSpace, ofa_proxyless, tiny_proxyless
from ofa_tf.search_space.resnet50 import ResNetSpace, ofa_resnet50, tiny_resnet50
from ofa_tf.search_space.registry import (family_names, get_space, register_family,
                                          register_space, space_from_dict, space_names)
from ofa_tf.search_space.static_spec import (BLOCK_KINDS, BlockSpec, ConvSpec, NetworkSpec,
                                             conv_output_size)
from ofa_tf.search_space.subnet import SubnetConfig

register_family(MobileNetV3Space)
register_family(ProxylessSpace)
register_family(ResNetSpace)
register_family(EdgeTpuSpace)
register_space("ofa_mbv3_w1.0", lambda: ofa_mobilenet_v3(1.0))
register_space("ofa_mbv3_w1.2", lambda: ofa_mobilenet_v3(1.2))
register_space("ofa_mbv3_tiny", tiny_mobilenet_v3)
register_space("ofa_proxyless_w1.3", lambda: ofa_proxyless(1.3))
register_space("ofa_proxyless_tiny", tiny_proxyless)
register_space("ofa_resnet50", ofa_resnet50)
register_space("ofa_resnet50_tiny", tiny_resnet50)
register_space("ofa_edgetpu", ofa_edgetpu)
register_space("ofa_edgetpu_tiny", tiny_edgetpu)
