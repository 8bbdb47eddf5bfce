#!/usr/bin/env bash
# Cold start and per-image latency of `wbc serve`, one engine after the other, ROUNDS times each,
# alternating: the seconds from launch until /api/model answers, then REQUESTS sequential POSTs of
# one image to /api/predict (the image as the request body, as the page's script sends it), timed by
# curl; prints each round's start-up time and its latency median / 95th percentile in ms, then the
# medians over rounds.
#
#   bench/serve-latency.sh BUNDLE IMAGE [ROUNDS] [REQUESTS]
# Threads: WBC_THREADS (default: every core).
set -euo pipefail
cd "$(dirname "$0")/.."
bundle=${1:?bundle}
image=${2:?image}
rounds=${3:-3}
requests=${4:-200}
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
pct() { sort -n | awk -v p="$1" '{v[NR]=$1} END {i=int(p*NR+0.999); if (i<1) i=1; print v[i]}'; }

echo "# wbc serve: $bundle, one image ($(basename "$image")), $requests sequential requests, ${WBC_THREADS:-$(nproc)} threads"
echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$rounds"); do
  for engine in onnx torch; do
    p=$(port)
    t0=$(date +%s.%N)
    bin/wbc serve "$bundle" --port "$p" --engine "$engine" >"$work/log" 2>&1 &
    pid=$!
    until curl -sf "http://127.0.0.1:$p/api/model" >/dev/null; do
      kill -0 "$pid" 2>/dev/null || { cat "$work/log" >&2; exit 1; }
      sleep 0.05
    done
    up=$(echo "$(date +%s.%N) - $t0" | bc)
    : >"$work/lat"
    for _ in $(seq 1 "$requests"); do
      curl -sf -o /dev/null -w '%{time_total}\n' -H 'Content-Type: application/octet-stream' \
        --data-binary @"$image" "http://127.0.0.1:$p/api/predict" >>"$work/lat"
    done
    kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
    med=$(awk '{print $1 * 1000}' "$work/lat" | pct 0.5)
    p95=$(awk '{print $1 * 1000}' "$work/lat" | pct 0.95)
    printf 'round %d %-5s start-up %5.2f s  latency median %6.1f ms  p95 %6.1f ms\n' "$r" "$engine" "$up" "$med" "$p95"
    echo "$engine $up $med $p95" >>"$work/all"
  done
done
echo "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
for engine in onnx torch; do
  printf 'median %-5s start-up %5.2f s  latency median %6.1f ms  p95 %6.1f ms\n' "$engine" \
    "$(awk -v e="$engine" '$1 == e {print $2}' "$work/all" | pct 0.5)" \
    "$(awk -v e="$engine" '$1 == e {print $3}' "$work/all" | pct 0.5)" \
    "$(awk -v e="$engine" '$1 == e {print $4}' "$work/all" | pct 0.5)"
done
