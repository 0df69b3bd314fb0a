#!/usr/bin/env bash
# Compiles a full-integer .tflite for the Coral EdgeTPU and reports the mapping.
#   export/compile_edgetpu.sh model.tflite [output_dir]
# Runs `edgetpu_compiler -s` (writes <name>_edgetpu.tflite and <name>_edgetpu.log), then
# parses its output with export/analyze_edgetpu.py --compiler_log (exit 1 unless every op
# runs on the EdgeTPU). Without the compiler, prints how to install it and runs the
# analyzer's prediction on the input file instead (exit 2).
set -euo pipefail

if [[ $# -lt 1 || $# -gt 2 ]]; then
  echo "usage: $0 MODEL.tflite [OUTPUT_DIR]" >&2
  exit 64
fi
model="$1"
out_dir="${2:-$(dirname "$model")}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="${PYTHON:-python3}"
export PYTHONPATH="$here/..${PYTHONPATH:+:$PYTHONPATH}"
[[ -f "$model" ]] || { echo "error: no such file: $model" >&2; exit 66; }

if ! command -v edgetpu_compiler >/dev/null 2>&1; then
  cat >&2 <<'MSG'
edgetpu_compiler is not installed (Debian/Ubuntu x86-64 only). Install compiler 16:
  curl https://packages.cloud.google.com/apt/doc/apt-key.gpg | sudo apt-key add -
  echo "deb https://packages.cloud.google.com/apt coral-edgetpu-stable main" | \
    sudo tee /etc/apt/sources.list.d/coral-edgetpu.list
  sudo apt-get update && sudo apt-get install edgetpu-compiler
(or use the Colab notebook google-coral/tutorials compile_for_edgetpu.ipynb).
Showing the analyzer's prediction instead:
MSG
  "$python" "$here/analyze_edgetpu.py" --tflite="$model" || true
  exit 2
fi

mkdir -p "$out_dir"
stdout_log="$out_dir/$(basename "${model%.tflite}")_edgetpu_stdout.txt"
edgetpu_compiler -s -o "$out_dir" "$model" | tee "$stdout_log"
exec "$python" "$here/analyze_edgetpu.py" --compiler_log="$stdout_log"
