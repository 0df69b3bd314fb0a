"""Elastic Keras layers of the OFA supernet."""

from ofa_tf.layers.elastic_batch_norm import ElasticBatchNormalization
from ofa_tf.layers.elastic_bottleneck import ElasticBottleneck
from ofa_tf.layers.elastic_depthwise_conv import ElasticDepthwiseConv2D
from ofa_tf.layers.elastic_mbconv import ElasticMBConv, apply_activation, hard_sigmoid
from ofa_tf.layers.elastic_fused_mbconv import ElasticFusedMBConv
