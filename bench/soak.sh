#!/usr/bin/env bash
# Memory soak (issue 7). Not a unit test: it runs for minutes and measures, it does not assert.
#
#   train:   'wbc train' for many epochs on a small subset that keeps a validation carve-out, so
#            that every epoch also evaluates (forward passes outside the training step).
#   predict: 'wbc bench --soak-predict N': N predictions through Classifier.probabilities over the
#            decoded images (from the cache, so the time goes into the model, not into JPEG decoding).
#   grid:    'wbc experiment' over many short cells (one arm, the subset, --grid-cells seeds of
#            --grid-epochs epochs) in one process: each cell loads the image cache, trains, closes
#            its model and evaluates on the test split, as the study's grids do.
#
# While each runs, its resident set (VmRSS of /proc/<pid>/status), the part of it that is Java heap
# (resident pages of the heap's address range, from /proc/<pid>/smaps; the range from 'jcmd
# GC.heap_info') and the heap's used and committed sizes (jstat) are sampled every second: a row
# every --interval seconds and one at every finished epoch / cell / progress line. RSS minus heap
# RSS is everything else: libtorch's tensors and scratch memory through malloc, the JVM's own
# native memory, code. Output: <out>/soak.csv (time_s,phase,event,progress,rss_mib,heap_rss_mib,
# native_rss_mib,heap_used_mib,heap_committed_mib) and <out>/summary.txt (also printed): for RSS,
# heap RSS and native RSS, the value after warm-up (the first 10 % of the epochs, predictions or
# cells), at the end, the peak, and least-squares slopes after warm-up and over the second half,
# in MiB per epoch / per 1,000 predictions / per cell.
#
# The allocator is whatever the environment says, as for bin/wbc: WBC_MALLOC=jemalloc|tcmalloc|glibc,
# MALLOC_ARENA_MAX, MALLOC_TRIM_THRESHOLD_ ... are passed through and recorded in the summary.
# On a machine that is busy with something more important, run it as: chrt -i 0 bench/soak.sh ...
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
wbc="$here/bin/wbc"

out="$here/target/soak/$(date +%Y%m%d-%H%M%S)"
data="$here/../shared/datasets/raabin-wbc/train"
manifest=""
cache="$here/target/wbc-cache"
parts="train,predict"
subset="WBC_1"
epochs=60
val_percent=20
min_val=50
size=64
batch=64
predictions=100000
model=""
grid_cells=12
grid_epochs=10
interval=5

usage() {
  cat <<EOF
Usage: bench/soak.sh [options]
  --out DIR            output folder (default: target/soak/<date-time>)
  --parts LIST         comma-separated: train, predict, grid (default: $parts)
  --data DIR           dataset root (default: ../shared/datasets/raabin-wbc/train)
  --manifest CSV       split manifest (default: draw one with 'wbc split' into the output folder)
  --cache-dir DIR      decoded-image cache (default: target/wbc-cache)
  --subset S           training subset (default: $subset)
  --epochs N           training epochs (default: $epochs)
  --val-percent P      validation carve-out per class (default: $val_percent)
  --min-val-subset N   smallest subset that gets a carve-out (default: $min_val, so that $subset evaluates every epoch)
  --size PX            image size of training and prediction (default: $size)
  --batch N            batch size of both (default: $batch)
  --predictions N      predictions of the predict part (default: $predictions)
  --model DIR          model for the predict part (default: the train part's; without a train part,
                       a 1-epoch model trained for the purpose)
  --grid-cells N       cells (seeds) of the grid part (default: $grid_cells)
  --grid-epochs N      epochs per grid cell (default: $grid_epochs)
  --interval S         seconds between timed samples (default: $interval)
EOF
}

while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --parts) parts="$2"; shift 2 ;;
    --data) data="$2"; shift 2 ;;
    --manifest) manifest="$2"; shift 2 ;;
    --cache-dir) cache="$2"; shift 2 ;;
    --subset) subset="$2"; shift 2 ;;
    --epochs) epochs="$2"; shift 2 ;;
    --val-percent) val_percent="$2"; shift 2 ;;
    --min-val-subset) min_val="$2"; shift 2 ;;
    --size) size="$2"; shift 2 ;;
    --batch) batch="$2"; shift 2 ;;
    --predictions) predictions="$2"; shift 2 ;;
    --model) model="$2"; shift 2 ;;
    --grid-cells) grid_cells="$2"; shift 2 ;;
    --grid-epochs) grid_epochs="$2"; shift 2 ;;
    --interval) interval="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "soak: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done

mkdir -p "$out"
child=""
# A soak stopped early (Ctrl-C, an error here) takes its measured process with it.
trap '[ -n "$child" ] && kill "$child" 2>/dev/null; true' EXIT
csv="$out/soak.csv"
echo "time_s,phase,event,progress,rss_mib,heap_rss_mib,native_rss_mib,heap_used_mib,heap_committed_mib" > "$csv"
t_start=$(date +%s.%N)
alloc="WBC_MALLOC=${WBC_MALLOC:-unset} MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX:-unset} MALLOC_TRIM_THRESHOLD_=${MALLOC_TRIM_THRESHOLD_:-unset} WBC_JAVA_OPTS=${WBC_JAVA_OPTS:-unset}"
echo "soak: output in $out; $alloc" >&2

rss_mib() { # VmRSS of a pid in MiB, empty when it is gone
  awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || true
}

heap_mib() { # "used,committed" in MiB from the last line of a running 'jstat -gc' log, or ","
  awk 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
       NF > 10 { u = $col["S0U"] + $col["S1U"] + $col["EU"] + $col["OU"];
                 c = $col["S0C"] + $col["S1C"] + $col["EC"] + $col["OC"] }
       END { if (u == "") print ","; else printf "%.1f,%.1f\n", u / 1024, c / 1024 }' "$1" 2>/dev/null || echo ","
}

heap_range() { # "lo hi" of the Java heap's reserved addresses (hex, no 0x), from jcmd; empty if not yet known
  jcmd "$1" GC.heap_info 2>/dev/null | sed -n 's/.*heap.*\[0x\([0-9a-f]*\), *0x\([0-9a-f]*\)).*/\1 \2/p' | head -n 1
}

heap_rss_mib() { # resident MiB of the mappings inside the heap range: heap_rss_mib PID LO HI
  awk -v lo="$2" -v hi="$3" '
    function pad(h) { h = sprintf("%16s", h); gsub(/ /, "0", h); return h }
    BEGIN { lo = pad(lo); hi = pad(hi) }
    $1 ~ /^[0-9a-f]+-[0-9a-f]+$/ { split($1, a, "-"); inheap = pad(a[1]) >= lo && pad(a[2]) <= hi; next }
    $1 == "Rss:" && inheap { kb += $2 }
    END { printf "%.1f", kb / 1024 }' "/proc/$1/smaps" 2>/dev/null || true
}

# sample PID PHASE PROGRESS-COMMAND: rows until the process exits.
sample() {
  local pid=$1 phase=$2 progress_cmd=$3 jlog="$out/jstat-$2.txt" last_progress="" last_row=0 jpid="" range=""
  while kill -0 "$pid" 2>/dev/null; do
    if [ -z "$jpid" ] && [ -e "/tmp/hsperfdata_$(id -un)/$pid" ]; then
      jstat -gc "$pid" 1000 > "$jlog" 2>/dev/null &
      jpid=$!
    fi
    if [ -n "$jpid" ] && [ -z "$range" ]; then
      range=$(heap_range "$pid")
    fi
    local rss now p event=""
    rss=$(rss_mib "$pid")
    [ -z "$rss" ] && break
    now=$(date +%s.%N)
    p=$($progress_cmd || true)
    if [ "$p" != "$last_progress" ]; then
      event=progress
      last_progress=$p
    elif awk -v n="$now" -v l="$last_row" -v i="$interval" 'BEGIN { exit !(n - l >= i) }'; then
      event=sample
    fi
    if [ -n "$event" ]; then
      local hrss="" nrss=""
      if [ -n "$range" ]; then
        # shellcheck disable=SC2086 # two words: lo hi
        hrss=$(heap_rss_mib "$pid" $range)
        [ -n "$hrss" ] && nrss=$(awk -v r="$rss" -v h="$hrss" 'BEGIN { printf "%.1f", r - h }')
      fi
      printf '%.1f,%s,%s,%s,%s,%s,%s,%s\n' "$(awk -v n="$now" -v s="$t_start" 'BEGIN { print n - s }')" "$phase" \
        "$event" "${p:-0}" "$rss" "$hrss" "$nrss" "$(heap_mib "$jlog")" >> "$csv"
      last_row=$now
    fi
    sleep 1
  done
  [ -n "$jpid" ] && kill "$jpid" 2>/dev/null || true
  wait "$jpid" 2>/dev/null || true
}

train_progress() { # epochs finished
  local f="$out/train/summary.csv"
  if [ -f "$f" ]; then echo $(( $(wc -l < "$f") - 1 )); else echo 0; fi
}

predict_progress() { # predictions done
  grep '^soak-predict: ' "$out/predict.log" 2>/dev/null | tail -n 1 | awk '{ print $2 }' | grep . || echo 0
}

grid_progress() { # cells finished (tested)
  if [ -d "$out/grid" ]; then find "$out/grid" -path '*/eval-test/metrics.json' | wc -l; else echo 0; fi
}

# run PHASE PROGRESS-FUNCTION LOG -- COMMAND...: runs the command in the background and samples it.
run() {
  local phase=$1 progress=$2 log=$3
  shift 4
  "$@" > "$log" 2>&1 &
  local pid=$!
  child=$pid
  sample "$pid" "$phase" "$progress"
  local rc=0
  wait "$pid" || rc=$?
  child=""
  if [ "$rc" -ne 0 ]; then
    echo "soak: $phase failed (exit $rc); last lines of $log:" >&2
    tail -n 20 "$log" >&2
    exit 1
  fi
}

if [ -z "$manifest" ] && [[ ",$parts," == *,train,* || ( ",$parts," == *,predict,* && -z "$model" ) ]]; then
  manifest="$out/split.csv"
  echo "soak: drawing the split (decodes every image once; cached in $cache)" >&2
  "$wbc" split --data "$data" --out "$manifest" --image-size "$size" --cache-dir "$cache" > "$out/split.log" 2>&1
fi

if [[ ",$parts," == *,train,* ]]; then
  echo "soak: train: $subset, $epochs epochs at $size px, validation every epoch" >&2
  run train train_progress "$out/train.log" -- "$wbc" train --data "$data" --manifest "$manifest" --subset "$subset" \
    --epochs "$epochs" --image-size "$size" --batch "$batch" --val-percent "$val_percent" --min-val-subset "$min_val" \
    --seed 0 --no-evaluate --no-progress --run-dir "$out/train" --cache-dir "$cache"
  if [ -z "$model" ]; then model="$out/train/model"; fi
fi

if [[ ",$parts," == *,predict,* ]]; then
  if [ -z "$model" ]; then
    echo "soak: training a 1-epoch model for the predict part" >&2
    "$wbc" train --data "$data" --manifest "$manifest" --subset WBC_1 --epochs 1 --image-size "$size" --seed 0 \
      --no-evaluate --no-progress --run-dir "$out/model-run" --cache-dir "$cache" > "$out/model-run.log" 2>&1
    model="$out/model-run/model"
  fi
  echo "soak: predict: $predictions predictions at $size px, batch $batch" >&2
  run predict predict_progress "$out/predict.log" -- "$wbc" bench --soak-predict "$predictions" --model "$model" \
    --data "$data" --batch "$batch" --cache-dir "$cache"
  grep '^soak-predict done' "$out/predict.log" >&2 || true
fi

if [[ ",$parts," == *,grid,* ]]; then
  seeds=$(seq -s, 0 $(( grid_cells - 1 )))
  cat > "$out/grid.yaml" <<EOF
name: soak-grid
description: memory soak, $grid_cells cells of $subset in one process
data: '$data'
imageSize: $size
batch: $batch
subsets: {$subset: {seeds: [$seeds], epochs: $grid_epochs}}
arms: [{name: baseline}]
EOF
  echo "soak: grid: $grid_cells cells of $subset, $grid_epochs epochs each, at $size px, in one process" >&2
  run grid grid_progress "$out/grid.log" -- "$wbc" experiment --recipe "$out/grid.yaml" --out "$out/grid" \
    --cache-dir "$cache" --no-progress
fi

# Summary per phase: warm-up = first 10 % of the progress (at least 1); slopes by least squares of
# RSS against progress over the samples after warm-up and over the second half (a leak keeps its
# slope in the second half, memory that settles does not).
{
  echo "memory soak $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores; $alloc"
  echo "parts $parts; train: $subset, $epochs epochs, $size px, batch $batch, --val-percent $val_percent" \
    "--min-val-subset $min_val; predict: $predictions predictions, $size px, batch $batch;" \
    "grid: $grid_cells cells of $subset, $grid_epochs epochs"
  awk -F, -v total_train="$epochs" -v total_predict="$predictions" -v total_grid="$grid_cells" '
    NR == 1 { next }
    {
      ph = $2; p = $4 + 0
      if (!(ph in n)) { order[++phases] = ph; hmin[ph] = 1e18; hmax[ph] = 0 }
      n[ph]++
      total = ph == "train" ? total_train : ph == "grid" ? total_grid : total_predict
      warm = total / 10; if (warm < 1) warm = 1
      if ($8 != "") { h = $8 + 0; if (h < hmin[ph]) hmin[ph] = h; if (h > hmax[ph]) hmax[ph] = h }
      lastp[ph] = p; lastc[ph] = $9
      if (p >= warm && !(ph in wp)) wp[ph] = p
      # series 1 = RSS, 2 = heap RSS, 3 = native RSS (columns 5, 6, 7; the last two may be empty)
      for (s = 1; s <= 3; s++) {
        v = $(4 + s); if (v == "") continue
        k = ph SUBSEP s; v += 0
        if (!(k in peak) || v > peak[k]) peak[k] = v
        last[k] = v
        if (p >= warm) {
          if (!(k in wr)) wr[k] = v
          m[k]++; sx[k] += p; sy[k] += v; sxx[k] += p * p; sxy[k] += p * v
        }
        if (p >= total / 2) {
          m2[k]++; sx2[k] += p; sy2[k] += v; sxx2[k] += p * p; sxy2[k] += p * v
        }
      }
    }
    END {
      name[1] = "RSS"; name[2] = "heap RSS"; name[3] = "native RSS"
      printf "%-8s %-11s %15s %13s %10s %10s %24s %24s\n", "phase", "", "warm-up until", "after warm-up", "at end",
        "peak", "slope after warm-up", "slope, 2nd half"
      for (i = 1; i <= phases; i++) {
        ph = order[i]
        unit = ph == "train" ? "epoch" : ph == "grid" ? "cell" : "1k pred"
        what = ph == "train" ? "epochs" : ph == "grid" ? "cells" : "predictions"
        scale = ph == "predict" ? 1000 : 1
        if (!(ph in wp)) {
          printf "%-8s no sample after warm-up (%d %s); run it longer\n", ph, lastp[ph], what
          continue
        }
        for (s = 1; s <= 3; s++) {
          k = ph SUBSEP s
          if (!(k in wr)) continue
          d = m[k] * sxx[k] - sx[k] * sx[k]
          slope = (m[k] > 1 && d > 0) ? (m[k] * sxy[k] - sx[k] * sy[k]) / d * scale : 0
          d2 = m2[k] * sxx2[k] - sx2[k] * sx2[k]
          slope2 = (m2[k] > 1 && d2 > 0) ? (m2[k] * sxy2[k] - sx2[k] * sy2[k]) / d2 * scale : 0
          printf "%-8s %-11s %15s %9.0f MiB %6.0f MiB %6.0f MiB %+13.2f MiB/%-7s %+13.2f MiB/%-7s\n", ph, name[s],
            wp[ph] " " what, wr[k], last[k], peak[k], slope, unit, slope2, unit
        }
        printf "%-8s heap used %.0f-%.0f MiB, committed at the end %.0f MiB; %d %s after warm-up\n", "",
          hmin[ph], hmax[ph], lastc[ph], lastp[ph] - wp[ph], what
      }
    }' "$csv"
} | tee "$out/summary.txt"
echo "samples: $csv" >&2
