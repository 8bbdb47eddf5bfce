#!/usr/bin/env bash
# Few-shot adaptation of every finished model of a grid to an outside set (issue 17, item 7):
# for each run <grid>/<arm>/<cell>, `wbc export` a bundle, then `wbc adapt --shots K --seed D`
# for each draw D, K labelled cells per class adapting and the rest of the set held out.
# Writes <out>/<arm>/<cell>/draw<D>/{adaptation.json,eval-heldout/metrics.json,eval-heldout/report.txt}
# and <out>/results.csv (arm, cell, draw, shots, held-out images, accuracy, macro F1) over every
# adaptation.json under <out>; a draw already done is not redone (rerun after more cells finish).
# No weights are kept under <out>.
# Usage: scripts/adapt-outside.sh <grid-out> <labelled set> <shots> <draws, e.g. 0,1,2> <out>
set -euo pipefail
if [ $# -ne 5 ]; then
  echo "usage: $0 <grid-out> <labelled set> <shots> <draws> <out>" >&2
  exit 2
fi
grid="$1"; set_dir="$2"; shots="$3"; draws="$4"; out="$5"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"
for metrics in "$grid"/*/*/eval-test/metrics.json; do
  run="$(dirname "$(dirname "$metrics")")"
  cell="$(basename "$run")"; arm="$(basename "$(dirname "$run")")"
  [ -f "$run/model/weights.params" ] || continue
  exported=
  for d in ${draws//,/ }; do
    dest="$out/$arm/$cell/draw$d"
    [ -f "$dest/adaptation.json" ] && continue
    if [ -z "$exported" ]; then
      "$here/bin/wbc" export "$run" --out "$work/$arm-$cell" --force > /dev/null
      exported=1
    fi
    mkdir -p "$dest"
    "$here/bin/wbc" adapt "$work/$arm-$cell" --labelled "$set_dir" --shots "$shots" --seed "$d" \
      --out "$work/adapted" --eval-out "$dest/eval-heldout" --force ${WBC_ADAPT_ARGS:-} > "$dest/adapt.log" 2>&1
    cp "$work/adapted/adaptation.json" "$dest/"
    rm -f "$dest/eval-heldout/predictions.csv" "$dest/eval-heldout/confusion.png"
  done
done
python3 - "$out" > "$out/results.csv.tmp" <<'PY'
import glob, json, os, sys
out = sys.argv[1]
print("arm,cell,draw,shots,held_out_images,accuracy,macro_f1")
for f in sorted(glob.glob(os.path.join(out, "*", "*", "draw*", "adaptation.json"))):
    arm, cell, draw = f.split(os.sep)[-4:-1]
    a = json.load(open(f))
    r = a["heldOut"]
    print(f"{arm},{cell},{draw[4:]},{a['shotsPerClass']},{r['heldOutImages']},{r['heldOutAccuracy']:.6f},{r['heldOutMacroF1']:.6f}")
PY
mv "$out/results.csv.tmp" "$out/results.csv"
cat "$out/results.csv"
