"""Search spaces, subnet configs, static network specs and efficiency counters."""

from ofa_tf.search_space.counters import block_macs, block_params, count_macs, count_params
from ofa_tf.search_space.static_spec import BlockSpec, NetworkSpec, conv_output_size, network_spec
from ofa_tf.search_space.space import (MobileNetV3Space, StageSpec, get_space, make_divisible,
                                       ofa_mobilenet_v3, space_names, tiny_mobilenet_v3)
from ofa_tf.search_space.subnet import SubnetConfig, extreme_config, sample, validate
