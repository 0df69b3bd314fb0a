"""Supernets (elastic) of every registered family, the static builder, subnet extraction."""

from ofa_tf.networks.extract import extract_subnet
from ofa_tf.networks.ofa_mbconv import MODES, OFAMBConvNet, encode_arch
from ofa_tf.networks.registry import Supernet, build_supernet, register_supernet
from ofa_tf.networks.reorganize import reorganize_channels
from ofa_tf.networks.static_network import build_static_model

register_supernet("mobilenet_v3", OFAMBConvNet)
register_supernet("proxyless", OFAMBConvNet)
register_supernet("edgetpu", OFAMBConvNet)
