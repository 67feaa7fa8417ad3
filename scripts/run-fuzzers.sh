#!/usr/bin/env bash
# Runs every libFuzzer binary in DIR for SECONDS each, starting from its seed and
# regression corpus in tests/fuzz/corpus/<name>/ (crashes found earlier live there too).
set -euo pipefail
dir=${1:?fuzz binary dir}; secs=${2:-20}
root=$(cd "$(dirname "$0")/.." && pwd)
shopt -s nullglob
n=0
for bin in "$dir"/*; do
  [ -x "$bin" ] && [ -f "$bin" ] || continue
  name=$(basename "$bin")
  seeds="$root/tests/fuzz/corpus/$name"
  work=$(mktemp -d)
  [ -d "$seeds" ] && cp -r "$seeds"/. "$work"/ 2>/dev/null || true
  echo "fuzz: $name for ${secs}s"
  # A fixed seed keeps CI repeatable; set R1_FUZZ_SEED=0 for a fresh random exploration.
  "$bin" -seed="${R1_FUZZ_SEED:-1}" -max_total_time="$secs" -rss_limit_mb=2048 -max_len=65536 -print_final_stats=0 "$work" 2>"$work.log" || {
    tail -40 "$work.log"; echo "fuzz: $name FAILED"; exit 1; }
  rm -rf "$work" "$work.log"
  n=$((n + 1))
done
echo "fuzz: $n targets ran clean"
