"""Supernets (elastic) of every registered family, the static builder, subnet extraction."""

from ofa_tf.networks.extract import extract_subnet
from ofa_tf.networks import ofa_mbconv, ofa_resnet
from ofa_tf.networks.ofa_mbconv import MODES, OFAMBConvNet
from ofa_tf.networks.ofa_resnet import OFAResNet
from ofa_tf.networks.registry import (Supernet, arch_signature, build_supernet, encode_arch,
                                       register_supernet)
from ofa_tf.networks.reorganize import reorganize_channels
from ofa_tf.networks.static_network import build_static_model

register_supernet("mobilenet_v3", OFAMBConvNet, ofa_mbconv.encode_arch)
register_supernet("proxyless", OFAMBConvNet, ofa_mbconv.encode_arch)
register_supernet("edgetpu", OFAMBConvNet, ofa_mbconv.encode_arch)
register_supernet("resnet50", OFAResNet, ofa_resnet.encode_arch)
