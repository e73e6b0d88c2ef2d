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
  python3-numpy python3-onnx
  # test/e2e: a venv with Debian's python3; g++ builds llama-cpp-python from its source package
  python3-venv g++
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

# Python environment for the end-to-end reference checks (test/e2e, docs/TESTING.md):
# a venv with Debian's python3 in a cache folder outside the checkout, so that a
# fresh clone on the same machine reuses it. Everything is pinned; pip's downloads
# and the llama-cpp-python wheel (built once from PyPI's source package) are
# cached beside it, so a second run, or a rebuilt venv, takes seconds.
cache="${LOWBIT_CACHE:-$HOME/.cache/lowbit}"
venv="$cache/venv"
export PIP_CACHE_DIR="$cache/pip" PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
llama_cpp_python=0.3.36
# Only the shared libraries the Python binding loads (llama, ggml-base, ggml-cpu;
# llama-common is forced on by the package): no multimodal library, server,
# tools, examples or tests. GGML_NATIVE=OFF gives a portable AVX2 ggml-cpu and
# leaves ggml-base (where the quantizers live) at the x86-64 baseline, as in
# llama.cpp's release builds.
# GGML_NATIVE=OFF keeps the cached wheel runnable on any of the project's machines;
# the AVX2 group (x86-64-v3) gives llama.cpp the SIMD kernels lowbit-eval compares with.
llama_cmake_args="-DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_APP=OFF"
requirements="$root/test/e2e/requirements.txt"
want="$({ cat "$requirements"; echo "llama-cpp-python==$llama_cpp_python $llama_cmake_args"; } | sha256sum | cut -c1-16)"
if [ "$(cat "$venv/.lowbit-stamp" 2>/dev/null)" != "$want" ]; then
  /usr/bin/python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
    echo "setup: /usr/bin/python3 must be Python >= 3.11" >&2; exit 1; }
  [ -x "$venv/bin/python" ] || /usr/bin/python3 -m venv "$venv"
  "$venv/bin/pip" install -q -r "$requirements"
  wheels="$cache/wheels/llama-cpp-python-$llama_cpp_python-$(echo "$llama_cmake_args" | sha256sum | cut -c1-12)"
  if ! compgen -G "$wheels/llama_cpp_python-*.whl" >/dev/null; then
    log="$cache/llama-cpp-python-build.log"
    echo "setup: building llama-cpp-python $llama_cpp_python once (3 to 5 minutes on 2 cores; log: $log)"
    rm -rf "$wheels.tmp"
    t0=$(date +%s)
    if ! CMAKE_ARGS="$llama_cmake_args" CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" nice -n 10 \
        "$venv/bin/pip" wheel -q --no-cache-dir --no-deps --no-build-isolation -w "$wheels.tmp" \
        "llama-cpp-python==$llama_cpp_python" >"$log" 2>&1; then
      tail -n 40 "$log" >&2
      echo "setup: building llama-cpp-python failed (full log: $log)" >&2
      exit 1
    fi
    mv "$wheels.tmp" "$wheels"
    echo "setup: built llama-cpp-python in $(( $(date +%s) - t0 )) s"
  fi
  "$venv/bin/pip" install -q --no-deps --force-reinstall "$wheels"/llama_cpp_python-*.whl
  echo "$want" >"$venv/.lowbit-stamp"
fi
echo "setup: python venv ready ($venv)"

# Real models for the end-to-end checks (cached and sha256-checked).
LOWBIT_CACHE="$cache" "$root/scripts/fetch-models.sh"
