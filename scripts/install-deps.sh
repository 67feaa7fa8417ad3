#!/usr/bin/env bash
# Installs everything r1 needs to build and test on Debian 12 (bookworm).
#   scripts/install-deps.sh          build + test dependencies (apt) and the npm test packages
#   scripts/install-deps.sh --build  only what building needs
set -euo pipefail

need_root() { if [ "$(id -u)" -ne 0 ]; then echo "sudo"; fi; }
SUDO=$(need_root)

BUILD_PKGS=(
  build-essential cmake ninja-build pkg-config ccache
  libssl-dev libcurl4-openssl-dev nlohmann-json3-dev libcpp-httplib-dev
  libarchive-dev libzstd-dev libpcre2-dev libcli11-dev libsystemd-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libedit-dev                     # line editing and history for the r1 REPL (BSD licence)
)
TEST_PKGS=(
  clang libclang-rt-14-dev        # libFuzzer and sanitizers
  docker-registry                 # a real OCI registry for the registry/daemon tests
  python3 python3-jinja2          # Jinja2 as the chat-template reference
  python3-prometheus-client       # a real Prometheus text-format parser for /metrics tests
  nodejs npm                      # the official ollama/openai clients and reference tokenizers
  curl zstd ca-certificates
  libvulkan-dev glslc mesa-vulkan-drivers   # Vulkan backend, run on lavapipe
  dpkg-dev lintian systemd adduser          # the .deb and its service (scripts/package-test.sh)
)

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
if [ "${1:-}" = "--build" ]; then
  $SUDO apt-get install -y -qq --no-install-recommends "${BUILD_PKGS[@]}"
  exit 0
fi
# node/npm may already come from elsewhere (a newer Node.js); only install Debian's when missing.
pkgs=("${BUILD_PKGS[@]}" "${TEST_PKGS[@]}")
if command -v node >/dev/null && command -v npm >/dev/null; then
  pkgs=("${pkgs[@]/nodejs}"); pkgs=("${pkgs[@]/npm}")
fi
$SUDO apt-get install -y -qq --no-install-recommends ${pkgs[@]}

# npm test packages (reference tokenizers, official API clients), pinned by package-lock.json.
here=$(cd "$(dirname "$0")/.." && pwd)
if [ -f "$here/tests/npm/package.json" ]; then
  (cd "$here/tests/npm" && npm ci --no-audit --no-fund --loglevel=error)
fi
