#!/bin/sh
# CUDA benchmark on a machine with an NVIDIA GPU: builds with -DR1_CUDA=ON (only the needed
# targets), runs the CUDA tests, makes a 7B-shape Q4_K_M model and measures decode with CUDA
# graphs on and off, and llama.cpp side by side when a CUDA build of it is given.
#
#   bench/cuda/run.sh OUT_DIR
#
# Environment (all optional):
#   R1_LLAMACPP_DIR   a CUDA build of llama.cpp; its llama-bench is looked for in bin/,
#                     build/bin/ or the directory itself, and run with -ngl 99, graphs on and off
#                     (GGML_CUDA_DISABLE_GRAPHS=1)
#   R1_BENCH_MODEL    an existing GGUF to measure instead of making one
#   R1_BENCH_DIRECT=1 make the model with `r1-mkmodel --type Q4_K_M` directly (single-threaded
#                     quantization: about 25 min for 7B); the default writes F16 with r1-mkmodel
#                     and quantizes it with `r1-runner quantize ... q4_K_M` on every core
#   R1_BENCH_P / R1_BENCH_N / R1_BENCH_R   prompt tokens (256), generated tokens (128), reps (3)
#   JOBS              build and quantize parallelism (default: nproc)
#   R1_BUILD_DIR      build directory (default: build-cuda-bench in the source tree)
#
# Writes to OUT_DIR: build.log, tests.log, model.log, r1_decode.jsonl (one JSON object per mode
# and repetition), r1_runner_bench.json (when r1-runner bench can offload), llamacpp.jsonl,
# summary.md and timings.txt (seconds per phase). Fails at once, saying why, without an NVIDIA
# GPU or nvcc. Sized for 10 minutes on a 16-core machine with an H200.
set -eu
[ $# -eq 1 ] || { echo "usage: $0 OUT_DIR" >&2; exit 2; }
OUT=$1
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${R1_BUILD_DIR:-$SRC/build-cuda-bench}
JOBS=${JOBS:-$(nproc)}
NP=${R1_BENCH_P:-256}
NG=${R1_BENCH_N:-128}
REPS=${R1_BENCH_R:-3}

die() { echo "bench/cuda: $*" >&2; exit 1; }
if ! command -v nvidia-smi >/dev/null 2>&1; then die "no nvidia-smi: this benchmark needs an NVIDIA GPU and its driver"; fi
nvidia-smi -L >/dev/null 2>&1 || die "nvidia-smi lists no GPU: $(nvidia-smi -L 2>&1 | head -1)"
NVCC=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
[ -x "$NVCC" ] || die "no nvcc (PATH or /usr/local/cuda/bin)"
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
: > "$OUT/timings.txt"
T0=$(date +%s)
phase() {  # NAME: records the seconds since the previous phase
  now=$(date +%s)
  echo "$1 $((now - T0))" >> "$OUT/timings.txt"
  echo "bench/cuda: $1 done after $((now - T0)) s" >&2
  T0=$now
}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv > "$OUT/gpu.txt" 2>&1 || true

# ---- build: the model maker first, so the model is written while the rest compiles ----
GEN=Ninja
command -v ninja >/dev/null 2>&1 || GEN="Unix Makefiles"
LAUNCH=""
command -v ccache >/dev/null 2>&1 && LAUNCH="-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_CUDA_COMPILER_LAUNCHER=ccache"
# shellcheck disable=SC2086
cmake -S "$SRC" -B "$BUILD" -G "$GEN" -DCMAKE_BUILD_TYPE=Release -DR1_CUDA=ON -DR1_VULKAN=OFF \
  -DCMAKE_CUDA_COMPILER="$NVCC" -DCMAKE_CUDA_ARCHITECTURES="${R1_CUDA_ARCHS:-native}" $LAUNCH \
  > "$OUT/build.log" 2>&1 || die "configure failed (see $OUT/build.log)"
cmake --build "$BUILD" -j "$JOBS" --target r1-mkmodel >> "$OUT/build.log" 2>&1 || die "build failed (see $OUT/build.log)"
phase configure_and_mkmodel

MODEL=${R1_BENCH_MODEL:-}
MAKER=""
if [ -z "$MODEL" ]; then
  MODEL="$BUILD/bench-qwen2-7b-q4_k_m.gguf"
  if [ ! -s "$MODEL" ]; then
    if [ "${R1_BENCH_DIRECT:-0}" = 1 ]; then
      "$BUILD/bin/r1-mkmodel" --arch qwen2 --preset 7b --type Q4_K_M -o "$MODEL" > "$OUT/model.log" 2>&1 &
    else
      "$BUILD/bin/r1-mkmodel" --arch qwen2 --preset 7b --type F16 -o "$BUILD/bench-qwen2-7b-f16.gguf" \
        > "$OUT/model.log" 2>&1 &
    fi
    MAKER=$!
  fi
fi
cmake --build "$BUILD" -j "$JOBS" --target r1-runner r1-cuda-decode-bench kernels_cuda_graph_tests \
  kernels_backend_tests kernels_backend_forward_tests >> "$OUT/build.log" 2>&1 || die "build failed (see $OUT/build.log)"
phase build

# ---- the model: F16 from r1-mkmodel, then Q4_K_M on every core (while the tests run) ----
QUANT=""
if [ -n "$MAKER" ]; then
  wait "$MAKER" || die "r1-mkmodel failed (see $OUT/model.log)"
  if [ "${R1_BENCH_DIRECT:-0}" != 1 ]; then
    ( "$BUILD/bin/r1-runner" quantize "$BUILD/bench-qwen2-7b-f16.gguf" "$MODEL.part" q4_K_M -t "$JOBS" \
        >> "$OUT/model.log" 2>&1 && mv "$MODEL.part" "$MODEL" && rm -f "$BUILD/bench-qwen2-7b-f16.gguf" ) &
    QUANT=$!
  fi
  phase model_f16
fi

# ---- tests: the CUDA graph tests, every op against the CPU, the engine's offload (graphs on) ----
TESTS=ok
ctest --test-dir "$BUILD" -R '^(kernels_cuda_graph_tests|kernels_backend_tests|kernels_backend_forward_tests)$' \
  -j 3 --output-on-failure --timeout 240 \
  > "$OUT/tests.log" 2>&1 || TESTS=failed
phase tests
if [ -n "$QUANT" ]; then
  wait "$QUANT" || die "r1-runner quantize failed (see $OUT/model.log)"
  phase model_q4_k_m
fi
[ -s "$MODEL" ] || die "no model at $MODEL"

# ---- r1: graphs on and off, interleaved in one process ----
"$BUILD/bin/r1-cuda-decode-bench" -m "$MODEL" -p "$NP" -n "$NG" -r "$REPS" --modes on,off \
  > "$OUT/r1_decode.jsonl" 2> "$OUT/r1_decode.log" || die "r1-cuda-decode-bench failed (see $OUT/r1_decode.log)"
phase r1_decode
# r1-runner bench measures the CPU path unless it learned to offload (an --n-gpu-layers option).
if "$BUILD/bin/r1-runner" bench --help 2>/dev/null | grep -q -- '--n-gpu-layers'; then
  "$BUILD/bin/r1-runner" bench -m "$MODEL" -p "$NP" -n "$NG" -r "$REPS" --n-gpu-layers 999 \
    > "$OUT/r1_runner_bench.json" 2>> "$OUT/r1_decode.log" || echo "r1-runner bench failed" >> "$OUT/r1_decode.log"
  phase r1_runner_bench
else
  echo "r1-runner bench has no GPU option in this build: skipped" >> "$OUT/r1_decode.log"
fi

# ---- llama.cpp (CUDA build), graphs on and off ----
LLAMA_BENCH=""
if [ -n "${R1_LLAMACPP_DIR:-}" ]; then
  for c in "$R1_LLAMACPP_DIR/bin/llama-bench" "$R1_LLAMACPP_DIR/build/bin/llama-bench" "$R1_LLAMACPP_DIR/llama-bench"; do
    if [ -x "$c" ]; then LLAMA_BENCH=$c; break; fi
  done
  [ -n "$LLAMA_BENCH" ] || echo "no llama-bench under $R1_LLAMACPP_DIR: llama.cpp skipped" >&2
fi
: > "$OUT/llamacpp.jsonl"
if [ -n "$LLAMA_BENCH" ]; then
  for graphs in on off; do
    if [ "$graphs" = off ]; then export GGML_CUDA_DISABLE_GRAPHS=1; else unset GGML_CUDA_DISABLE_GRAPHS; fi
    "$LLAMA_BENCH" -m "$MODEL" -p "$NP" -n "$NG" -r "$REPS" -ngl 99 -o jsonl 2>> "$OUT/llamacpp.log" |
      sed "s/^{/{\"graphs\":\"$graphs\",/" >> "$OUT/llamacpp.jsonl" || echo "llama-bench ($graphs) failed" >&2
  done
  unset GGML_CUDA_DISABLE_GRAPHS
  phase llamacpp
fi

python3 "$SRC/bench/cuda/summary.py" "$OUT" "$TESTS" > "$OUT/summary.md"
cat "$OUT/summary.md"
[ "$TESTS" = ok ] || die "CUDA tests failed (see $OUT/tests.log)"
