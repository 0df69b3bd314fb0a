"""Interoperability with the original PyTorch OFA release (checkpoints, zoo nets, latency tables)."""

from ofa_tf.interop.zoo import (ZooIndexRow, ZooNet, build_model, count_macs, count_params,
                                load_zoo_net, matching_space, parse_net_config, read_index,
                                to_subnet_config)
