#!/bin/sh
# Builds the llama.cpp side of tests/integration/llamacpp outside the repository:
#   scripts/llamacpp-build.sh [DIR]          (default DIR: /tmp/r1-llamacpp)
# 1. installs node-llama-cpp@3.21.1 from npm into DIR (it ships prebuilt llama.cpp libraries
#    and llama.cpp's source as llama/gitRelease.bundle);
# 2. clones that bundle into DIR/src for llama.h;
# 3. compiles tests/integration/llamacpp/llamacpp_logprobs.cpp and bench/engine/llamacpp_bench.cpp
#    into DIR/bin against the prebuilt libllama (or, with LLAMACPP_NATIVE=1, against a native
#    build of the bundle:
#    cmake -DGGML_NATIVE=ON, target llama only, niced).
# Then: R1_LLAMACPP_DIR=DIR ctest -R llamacpp_compare
set -eu
DIR=${1:-/tmp/r1-llamacpp}
SRC=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$DIR/bin"
cd "$DIR"
if [ ! -d node_modules/node-llama-cpp ]; then
  npm init -y >/dev/null
  npm i -E node-llama-cpp@3.21.1 --ignore-scripts
fi
if [ ! -d src ]; then
  git clone -q node_modules/node-llama-cpp/llama/gitRelease.bundle src
fi
if [ "${LLAMACPP_NATIVE:-0}" = 1 ]; then
  cmake -S src -B build -DGGML_NATIVE=ON -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
    -DLLAMA_BUILD_SERVER=OFF -DBUILD_SHARED_LIBS=ON -DCMAKE_BUILD_TYPE=Release
  nice cmake --build build --target llama -j2
  LIBDIR="$DIR/build/bin"
  LIBS="$LIBDIR/libllama.so $LIBDIR/libggml.so $LIBDIR/libggml-base.so"
  BACKENDS=""
else
  LIBDIR="$DIR/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64"
  LIBS="$LIBDIR/libllama.v0.4.0.so $LIBDIR/libggml.v0.4.0.so $LIBDIR/libggml-base.so"
  BACKENDS="$LIBDIR"
fi
# Each program gets a wrapper: the prebuilt package loads its CPU backend as a plugin from its
# own folder.
build_tool() {  # NAME SOURCE
  g++ -O2 -std=c++17 -I src/include -I src/ggml/include "$SRC/$2" -o "bin/$1.bin" $LIBS -Wl,-rpath,"$LIBDIR"
  if [ -n "$BACKENDS" ]; then
    printf '#!/bin/sh\nR1_LLAMACPP_BACKENDS="%s" exec "%s" "$@"\n' "$BACKENDS" "$DIR/bin/$1.bin" > "bin/$1"
  else
    printf '#!/bin/sh\nexec "%s" "$@"\n' "$DIR/bin/$1.bin" > "bin/$1"
  fi
  chmod +x "bin/$1"
}
build_tool r1-llamacpp-logprobs tests/integration/llamacpp/llamacpp_logprobs.cpp
build_tool r1-llamacpp-bench bench/engine/llamacpp_bench.cpp
echo "R1_LLAMACPP_DIR=$DIR"
