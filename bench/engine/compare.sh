#!/bin/sh
# Side-by-side CPU speed of r1 and llama.cpp on the same GGUF files, the way llama-bench measures
# (pp: a prompt of P random tokens; tg: N single-token decodes; each from an empty cache, or with
# -d D from a cache already holding D random tokens, untimed: speed deep in a long answer).
#
#   bench/engine/compare.sh [-t THREADS] [-p 512] [-n 128] [-d 0] [-R ROUNDS] [-k KV] MODEL.gguf...
#
# Needs: build/bin/r1-runner (or R1_RUNNER=path) and the llama.cpp bench program built by
# scripts/llamacpp-build.sh (R1_LLAMACPP_DIR=dir printed by that script).
#
# Bandwidth varies between runs on a shared machine, so the two engines run INTERLEAVED, one
# repetition per process, alternating which goes first: round 1 r1 then llama.cpp, round 2
# llama.cpp then r1, ... Ratios are taken within a round and then averaged. r1-runner also
# measures the machine's read bandwidth in each round (the same threads, prefetching and huge
# pages as the decode panels are read; the fastest of 8 whole passes over 1 GiB, with the p90
# of its 16 MiB slices beside): roofline = weight bytes read per token × tg tokens/s ÷ the
# best-pass bandwidth.
#
# Output: the raw JSON lines (with --raw FILE) and a markdown table ready for bench/RESULTS.md.
set -eu
THREADS=2
NP=512
NG=128
DEPTH=0
ROUNDS=3
KV=f16
RAW=""
while [ $# -gt 0 ]; do
  case "$1" in
    -t) THREADS=$2; shift 2 ;;
    -p) NP=$2; shift 2 ;;
    -n) NG=$2; shift 2 ;;
    -d) DEPTH=$2; shift 2 ;;
    -R) ROUNDS=$2; shift 2 ;;
    -k) KV=$2; shift 2 ;;
    --raw) RAW=$2; shift 2 ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || { echo "usage: $0 [-t N] [-p N] [-n N] [-d N] [-R N] [-k f16|f32|q8_0] [--raw FILE] MODEL..." >&2; exit 2; }
SRC=$(cd "$(dirname "$0")/../.." && pwd)
R1=${R1_RUNNER:-$SRC/build/bin/r1-runner}
LLAMA=${R1_LLAMACPP_DIR:-/tmp/r1-llamacpp}/bin/r1-llamacpp-bench
[ -x "$R1" ] || { echo "no r1-runner at $R1 (set R1_RUNNER)" >&2; exit 1; }
[ -x "$LLAMA" ] || { echo "no $LLAMA (run scripts/llamacpp-build.sh, set R1_LLAMACPP_DIR)" >&2; exit 1; }
OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT

run_r1() {
  printf '{"round": %s, "load": "%s", "r1": ' "$2" "$(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT"
  "$R1" bench -m "$1" -p "$NP" -n "$NG" -d "$DEPTH" -r 1 -t "$THREADS" --kv-type "$KV" --bandwidth 2>/dev/null | tr -d '\n' >> "$OUT"
  printf '}\n' >> "$OUT"
}
run_llama() {
  printf '{"round": %s, "load": "%s", "llama": ' "$2" "$(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT"
  "$LLAMA" -m "$1" -p "$NP" -n "$NG" -d "$DEPTH" -r 1 -t "$THREADS" --kv "$KV" | tr -d '\n' >> "$OUT"
  printf '}\n' >> "$OUT"
}

for model in "$@"; do
  r=1
  while [ "$r" -le "$ROUNDS" ]; do
    printf '{"model": "%s", "round": %s}\n' "$model" "$r" >> "$OUT"
    if [ $((r % 2)) = 1 ]; then run_r1 "$model" "$r"; run_llama "$model" "$r"
    else run_llama "$model" "$r"; run_r1 "$model" "$r"; fi
    echo "round $r of $ROUNDS done: $(basename "$model")" >&2
    r=$((r + 1))
  done
done
[ -z "$RAW" ] || cp "$OUT" "$RAW"
python3 "$SRC/bench/engine/compare_table.py" "$NP" "$NG" "$THREADS" "$DEPTH" < "$OUT"
