"""ofa-tf's export, EdgeTPU and latency-table binaries (absl programs; `ofa-tf --help`)."""
