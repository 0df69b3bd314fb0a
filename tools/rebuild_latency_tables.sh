#!/usr/bin/env bash
# Rebuilds the shipped latency tables from scratch on this host, validates each on fresh random
# subnets and writes the README figures (issue 17). Run it on an idle machine: nothing else
# should use the CPU while it runs (about 1 h on 2 cores: 4 tables of 627 layers, each from an
# empty conversion cache so that its build time is the from-scratch time, 30 calibration and 60
# validation subnets each).
#
#   make latency-tables                       # = this script with the defaults below
#   OUT=/tmp/lut PROFILES="cpu_xnnpack_1t" tools/rebuild_latency_tables.sh
#
# Variables: PYTHON (default .venv/bin/python), OUT (work folder, default /tmp/lut), PROFILES,
# SPACE, RESOLUTIONS, WORKERS, CALIBRATION_SUBNETS / CALIBRATION_SEED, VALIDATION_SUBNETS /
# VALIDATION_SEED (a seed unlike the calibration's), README (figures block to replace; empty:
# only print it), DEST (where the shipped tables are copied; empty: not copied).
set -euo pipefail

PYTHON=${PYTHON:-.venv/bin/python}
OUT=${OUT:-/tmp/lut}
PROFILES=${PROFILES:-"cpu_xnnpack_1t cpu_xnnpack_1t_int8 cpu_builtin_1t cpu_builtin_1t_int8"}
SPACE=${SPACE:-ofa_mbv3_w1.0}
RESOLUTIONS=${RESOLUTIONS:-128:224:16}
WORKERS=${WORKERS:-2}
CALIBRATION_SUBNETS=${CALIBRATION_SUBNETS:-30}
CALIBRATION_SEED=${CALIBRATION_SEED:-1000}
VALIDATION_SUBNETS=${VALIDATION_SUBNETS:-60}
VALIDATION_SEED=${VALIDATION_SEED:-4242}
README=${README:-ofa_tf/latency/README.md}
DEST=${DEST:-}

export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"  # the binaries import ofa_tf from here
mkdir -p "$OUT"
COMMANDS="$OUT/commands.txt"
: > "$COMMANDS"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

run() {  # Logs the command (for the README block) and runs it.
  echo "$*" | sed "s|$OUT|/tmp/lut|g" >> "$COMMANDS"
  echo "==> $*"
  "$@"
}

for profile in $PROFILES; do
  table="$OUT/w10_$profile.json"
  for old in "$table" "$OUT/val_${profile}_measurements.json"; do
    if [[ -e "$old" ]]; then
      echo "error: $old exists; remove it (and $OUT/models_$profile) to rebuild from scratch" >&2
      exit 1
    fi
  done
  run "$PYTHON" export/build_latency_table.py --space="$SPACE" --profile="$profile" \
    --resolutions="$RESOLUTIONS" --output="$table" --cache_dir="$OUT/models_$profile" \
    --workers="$WORKERS" --calibration_subnets="$CALIBRATION_SUBNETS" \
    --calibration_seed="$CALIBRATION_SEED"
  run "$PYTHON" export/validate_latency.py --table="$table" \
    --num_subnets="$VALIDATION_SUBNETS" --seed="$VALIDATION_SEED" --workers="$WORKERS" \
    --measurements_json="$OUT/val_${profile}_measurements.json" \
    --report_json="$OUT/val_${profile}_report.json" --plot="$OUT/val_$profile.png"
done

echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
# shellcheck disable=SC2086
"$PYTHON" export/latency_tables_report.py --dir="$OUT" --profiles="${PROFILES// /,}" \
  --commands_file="$COMMANDS" ${README:+--readme="$README"}

if [[ -n "$DEST" ]]; then
  mkdir -p "$DEST"
  for profile in $PROFILES; do
    cp "$OUT/w10_$profile.json" "$OUT/val_${profile}_report.json" "$OUT/val_$profile.png" "$DEST/"
  done
  echo "copied the tables, reports and plots to $DEST"
fi
