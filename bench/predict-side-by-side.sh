#!/usr/bin/env bash
# Whole `wbc predict` processes side by side with the PyTorch peer (bench/peer_predict.py), in one
# run, alternating so that all three see the same machine: ours on ONNX Runtime, ours on libtorch,
# and the peer. Each round times two jobs: every image of IMAGES (a folder), and one image alone
# (the cold start: JVM or Python start, model load, one forward). /usr/bin/time gives wall seconds
# and the kernel's peak RSS. Prints every round, then the medians and ratios peer / ours.
#
#   bench/predict-side-by-side.sh BUNDLE IMAGES [ROUNDS] > result.txt
# BUNDLE: a bundle with model.onnx (wbc export). Threads: WBC_THREADS (default: every core) for all.
set -euo pipefail
cd "$(dirname "$0")/.."
bundle=${1:?bundle}
images=${2:?image folder}
rounds=${3:-3}
threads=${WBC_THREADS:-$(nproc)}
export WBC_THREADS=$threads
py=/usr/bin/python3
one=$(find -L "$images" -type f \( -iname '*.jpg' -o -iname '*.png' -o -iname '*.bmp' -o -iname '*.tif*' \) | sort | head -1)
count=$(find -L "$images" -type f \( -iname '*.jpg' -o -iname '*.png' -o -iname '*.bmp' -o -iname '*.tif*' \) | wc -l)
size=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["inputShape"][1])' "$bundle/metadata.json")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# One timed process; prints "<wall s> <peak RSS MiB>".
timed() {
  /usr/bin/time -f '%e %M' -o "$work/t" "$@" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
  awk '{printf "%.2f %.0f\n", $1, $2 / 1024}' "$work/t"
}

declare -A runs
echo "# wbc predict vs PyTorch $("$py" -c 'import torch; print(torch.__version__)'): $count images at $size px, batch 32, $threads threads, $rounds rounds"
echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$rounds"); do
  for who in onnx torch peer; do
    for job in all one; do
      target=$images
      [ "$job" = one ] && target=$one
      if [ "$who" = peer ]; then
        res=$(timed "$py" bench/peer_predict.py "$target" --size "$size" --batch 32 --threads "$threads" --out "$work/p.csv")
      else
        res=$(timed bin/wbc predict "$bundle" "$target" --engine "$who" --batch 32 -o "$work/o.csv")
      fi
      echo "round $r $who $job: $res"
      runs[$who-$job]+="$res"$'\n'
    done
  done
done
echo "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
median() { sort -n | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }
declare -A wall rss
for job in all one; do
  for who in onnx torch peer; do
    wall[$who-$job]=$(printf '%s' "${runs[$who-$job]}" | awk 'NF {print $1}' | median)
    rss[$who-$job]=$(printf '%s' "${runs[$who-$job]}" | awk 'NF {print $2}' | median)
    printf 'median %-5s %-4s wall %6.2f s  peak RSS %5.0f MiB\n' "$who" "$job" "${wall[$who-$job]}" "${rss[$who-$job]}"
  done
  for who in onnx torch; do
    awk -v pw="${wall[peer-$job]}" -v ow="${wall[$who-$job]}" -v pm="${rss[peer-$job]}" -v om="${rss[$who-$job]}" \
      -v label="$who $job" 'BEGIN {printf "%s: wall peer / ours %.2fx, peak RSS ours / peer %.2fx\n", label, pw / ow, om / pm}'
  done
done
