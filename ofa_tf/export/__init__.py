"""TFLite export: target recipes, QAT, conversion, verification, EdgeTPU analysis, metadata."""
