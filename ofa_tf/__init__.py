"""ofa-tf: Once-for-All (Cai et al., ICLR 2020) in TensorFlow / tf_keras for TFLite."""
