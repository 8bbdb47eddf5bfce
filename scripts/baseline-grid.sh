#!/usr/bin/env bash
# The Baseline arm over the four label budgets, one run after the other (each run uses every
# core). Usage: scripts/baseline-grid.sh [out-dir]   (default runs/baseline)
# Seeds: WBC_100 and WBC_50 seed 0; WBC_10 and WBC_1 seeds 0, 1, 2. Finished runs are skipped and
# interrupted ones resumed, so the script can simply be started again.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-runs/baseline}"
mkdir -p "$out"
manifest="$out/split-seed0.csv"
[ -f "$manifest" ] || bin/wbc split --seed 0 --out "$manifest"
cells="${CELLS:-WBC_100:0 WBC_10:0 WBC_1:0 WBC_10:1 WBC_1:1 WBC_10:2 WBC_1:2 WBC_50:0}"
for cell in $cells; do
  subset="${cell%%:*}"; seed="${cell##*:}"
  run="$out/$subset-seed$seed"
  if [ -f "$run/eval-test/metrics.json" ]; then echo "done: $run"; continue; fi
  resume=""; [ -f "$run/checkpoints/last.ckpt" ] && resume="--resume"
  start=$(date +%s)
  if [ -n "$resume" ]; then
    bin/wbc train --run-dir "$run" --resume --no-progress > "$run/train.log" 2>&1
  else
    mkdir -p "$run"
    bin/wbc train --manifest "$manifest" --subset "$subset" --seed "$seed" --run-dir "$run" --no-progress > "$run/train.log" 2>&1
  fi
  echo "$subset seed $seed: $(( $(date +%s) - start )) s" | tee -a "$out/times.txt"
done
