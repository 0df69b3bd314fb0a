#!/usr/bin/env bash
# The main job through an installed `ofa-tf` command, run from `/` so that nothing can be
# read relative to a checkout:
#   tools/pip_main_job.sh OFA_TF WORKDIR
# train (smoke preset, all six phases) -> accuracy-dataset -> train-predictor -> search ->
# export (cpu_int8), all on WORKDIR, then checks that each step left its files. Sized to
# run in minutes on 2 cores. Used by .ci/run and ofa_tf/package_test.py.
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 OFA_TF WORKDIR" >&2
  exit 64
fi
ofa_tf="$(realpath "$1")"
workdir="$(realpath -m "$2")"
cd /

step() {
  printf '\n--- ofa-tf %s\n' "$1"
  local start=$SECONDS
  "$ofa_tf" "$@"
  echo "--- ofa-tf $1 took $((SECONDS - start)) s"
}

step train --preset=smoke --workdir="$workdir"
step accuracy-dataset --workdir="$workdir" --num_subnets=4
step train-predictor --workdir="$workdir" --epochs=50
step search --workdir="$workdir" --constraint=macs:2.5e6 --population_size=20 --generations=10
step export --workdir="$workdir" --subnet="$workdir/search/best_subnet.json" \
  --target=cpu_int8 --recalibration_images=64

for file in phase_results.json accuracy_dataset.jsonl accuracy_predictor/predictor.json \
            search/best_subnet.json search/result.json export/cpu_int8.tflite; do
  if [[ ! -s "$workdir/$file" ]]; then
    echo "error: the main job did not write $workdir/$file" >&2
    exit 1
  fi
done
echo "main job through $ofa_tf: all steps passed; results in $workdir"
