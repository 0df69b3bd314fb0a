"""Interoperability with the original PyTorch OFA release: supernet checkpoints (read without
PyTorch), the 50 released specialized nets, the oracle cases, the Note10 latency tables."""

from ofa_tf.interop.checkpoint_import import (assign_state_dict, keras_weights,
                                              load_ofa_pytorch_checkpoint, supernet_space)
from ofa_tf.interop.ofa_state_dict import (ARCHITECTURES, check_state_dict, expected_shapes,
                                           load_state_dict, normalize_key)
from ofa_tf.interop.oracle import CaseResult, verify_cases
from ofa_tf.interop.torch_checkpoint import CheckpointFormatError, read_torch_file
from ofa_tf.interop.zoo import (ZooIndexRow, ZooNet, build_model, count_macs, count_params,
                                load_zoo_net, matching_space, parse_net_config, read_index,
                                to_subnet_config)
