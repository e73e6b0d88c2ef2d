#!/usr/bin/env bash
# The matmul benchmark, lowbit against ONNX Runtime, in one command:
#
#   bench/run-matmul-bench.sh [--quick] [BUILD_DIR]     (default BUILD_DIR: build)
#       [--threads 1,2] [--m 1,16,512] [--shapes NxK,..]  (both sides)
#       [--formats q4_0,..] [--kernels avx512,avxvnni,avx2] [--layout rows|interleaved]
#       [--no-portable]  (lowbit's side)
#
# Needs BUILD_DIR/bench/MatmulBench (ninja -C BUILD_DIR MatmulBench). On first
# use it creates a venv for the ONNX Runtime side in
# ${LOWBIT_CACHE:-$HOME/.cache/lowbit}/bench-venv with pinned onnxruntime,
# onnx and numpy from PyPI (the benchmark's only use of them). It runs
# bench/ort_matmul.py (ORT's times on the same shapes and threads), then
# MatmulBench, which prints the table with the ratios to ORT. Full run: about
# 6-10 minutes on 2 cores; --quick: one shape, M = 1 and 16, under a minute.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
quick=()
both=()   # options for both sides
lowbit=() # options for MatmulBench only
build=$root/build
while [[ $# -gt 0 ]]; do
  case $1 in
    --quick) quick=(--quick) ;;
    --threads|--m|--shapes) both+=("$1" "$2"); shift ;;
    --formats|--kernels|--layout) lowbit+=("$1" "$2"); shift ;;
    --no-portable) lowbit+=("$1") ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) build=$1 ;;
  esac
  shift
done
bench=$build/bench/MatmulBench
if [[ ! -x $bench ]]; then
  echo "no $bench: build it first (ninja -C $build MatmulBench)" >&2
  exit 1
fi

ort_version=1.31.1
onnx_version=1.23.2
numpy_version=2.4.6
venv=${LOWBIT_CACHE:-$HOME/.cache/lowbit}/bench-venv
if ! "$venv/bin/python" -c "import onnxruntime, onnx, numpy, sys; sys.exit(onnxruntime.__version__ != '$ort_version')" \
    2>/dev/null; then
  echo "creating $venv (onnxruntime==$ort_version, onnx==$onnx_version, numpy==$numpy_version)" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "onnxruntime==$ort_version" "onnx==$onnx_version" "numpy==$numpy_version"
fi

ort_times=$(mktemp "${TMPDIR:-/tmp}/ort-matmul.XXXXXX")
trap 'rm -f "$ort_times"' EXIT
echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), uptime: $(uptime)"
echo "# ONNX Runtime side (bench/ort_matmul.py)..."
"$venv/bin/python" "$root/bench/ort_matmul.py" "$ort_times" "${quick[@]}" "${both[@]}"
"$bench" "${quick[@]}" "${both[@]}" "${lowbit[@]}" --ort "$ort_times"
echo "# done $(date -u '+%H:%M UTC'), uptime: $(uptime)"
