#!/usr/bin/env bash
# Builds r1 and runs every test: unit, kernels, integration (a real docker-registry
# and r1d on loopback, started by the tests), clients (official npm clients),
# then the unit tests once more under ASan+UBSan, then short libFuzzer runs.
#   scripts/test.sh            everything
#   scripts/test.sh --quick    release build + unit tests only
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
  # Share cached objects between checkouts in different folders.
  export CCACHE_BASEDIR=$PWD CCACHE_NOHASHDIR=1
fi

step() { printf '\n==== %s\n' "$*"; }

step "build (RelWithDebInfo)"
cmake -S . -B build -G Ninja "${launcher[@]}" >/dev/null
cmake --build build -j "$jobs"

if [ "${1:-}" = "--quick" ]; then
  ctest --test-dir build -L unit --output-on-failure -j "$jobs"
  exit 0
fi

step "tests: unit, kernels, integration, clients"
ctest --test-dir build --output-on-failure -j "$jobs" -LE fuzz

# ---- package stage: the .deb from build/ (lintian, dpkg -i, systemd-analyze verify, r1d run as
# the unit runs it, the CLI against it, purge). Needs root on a disposable machine, as CI is;
# R1_PACKAGE_TEST=0 skips it elsewhere. Details: scripts/package-test.sh, docs/service.md.
if [ "${R1_PACKAGE_TEST:-1}" != 0 ]; then
  step "package: build, lintian, install, run as a service, purge"
  scripts/package-test.sh build
else
  step "package stage skipped (R1_PACKAGE_TEST=0)"
fi
# ---- end of package stage

if command -v nvcc >/dev/null || [ -x /usr/local/cuda/bin/nvcc ]; then
  step "CUDA backend (nvcc found): build the plugin, then the backend op and CUDA graph tests (they skip without a GPU)"
  cmake -S . -B build-cuda -G Ninja "${launcher[@]}" -DR1_CUDA=ON \
    -DCMAKE_CUDA_COMPILER="$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)" >/dev/null
  cmake --build build-cuda -j "$jobs" --target kernels_backend_tests kernels_cuda_graph_tests r1-backend-cuda
  ctest --test-dir build-cuda -R '^(kernels_backend_tests|kernels_cuda_graph_tests)$' --output-on-failure
fi

step "unit tests under AddressSanitizer + UndefinedBehaviorSanitizer"
# -g1: line tables only (what the sanitizers' stack traces need), half the tree's size.
cmake -S . -B build-asan -G Ninja "${launcher[@]}" -DCMAKE_BUILD_TYPE=Debug -DR1_SANITIZE=ON \
  -DCMAKE_C_FLAGS_DEBUG=-g1 -DCMAKE_CXX_FLAGS_DEBUG=-g1 >/dev/null
cmake --build build-asan -j "$jobs" --target unit_tests
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan -L unit --output-on-failure -j "$jobs"

step "fuzz targets (short runs; clang + libFuzzer)"
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja "${launcher[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DR1_FUZZ=ON -DR1_WERROR=OFF -DR1_BUILD_TESTS=OFF >/dev/null
cmake --build build-fuzz -j "$jobs" --target fuzzers
scripts/run-fuzzers.sh build-fuzz/fuzz "${R1_FUZZ_SECONDS:-20}"
