#!/usr/bin/env bash
# Installs everything lowbit's build and tests need on a fresh Debian 12 machine.
# Idempotent: packages already present are skipped by apt; the Python venv is reused.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

apt_packages=(
  # compiler toolchain: LLVM/MLIR 22 from bookworm-security (see docs/BUILDING.md)
  llvm-22-dev libmlir-22-dev mlir-22-tools llvm-22-tools clang-22 lld-22
  cmake ninja-build ccache
  # ONNX import
  libonnx-dev libprotobuf-dev protobuf-compiler libonnx-testdata
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  python3-numpy python3-onnx python3-venv
)

missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v mlir-opt-22 >/dev/null || [ ! -d /usr/lib/llvm-22/lib/cmake/mlir ]; then
  echo "setup: LLVM/MLIR 22 is not available from apt; lowbit needs exactly this major version" >&2
  exit 1
fi
echo "setup: system packages ready (LLVM $(/usr/lib/llvm-22/bin/llvm-config --version))"
