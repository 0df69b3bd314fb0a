"""ofa-tf's training and search binaries (absl programs; `ofa-tf --help` lists them)."""
