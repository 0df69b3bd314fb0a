"""Supernets (elastic) and static subnet builders."""

from ofa_tf.networks.extract import extract_subnet
from ofa_tf.networks.ofa_mobilenet_v3 import MODES, OFAMobileNetV3, encode_arch
from ofa_tf.networks.reorganize import reorganize_channels
from ofa_tf.networks.static_mobilenet_v3 import build_static_model
