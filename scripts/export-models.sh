#!/usr/bin/env bash
# Makes the ONNX exports of the real models (scripts/export-models.py, docs/REAL-MODELS.md)
# in ${LOWBIT_CACHE:-$HOME/.cache/lowbit}/exports, with a separate venv
# ${LOWBIT_CACHE}/export-venv that sees Debian's python3-torch 1.13 (--system-site-packages)
# and holds the pinned packages of test/e2e/models/export-requirements.txt.
# Idempotent: the venv is reused while the requirements are unchanged, and the exports are
# redone only when their inputs or the script change. Extra arguments go to export-models.py.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${LOWBIT_CACHE:-$HOME/.cache/lowbit}"
venv="$cache/export-venv"
export PIP_CACHE_DIR="${PIP_CACHE_DIR:-$cache/pip}" PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1

if ! dpkg-query -W -f='${Status}' python3-torch 2>/dev/null | grep -q "install ok installed"; then
  echo "export-models: installing Debian's python3-torch (CPU, 1.13)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends python3-torch >/dev/null
fi

requirements="$root/test/e2e/models/export-requirements.txt"
want="$(sha256sum <"$requirements" | cut -c1-16)"
if [ "$(cat "$venv/.lowbit-stamp" 2>/dev/null)" != "$want" ]; then
  [ -x "$venv/bin/python" ] || /usr/bin/python3 -m venv --system-site-packages "$venv"
  nice -n 10 "$venv/bin/pip" install -q --no-deps -r "$requirements"
  echo "$want" >"$venv/.lowbit-stamp"
fi

t0=$(date +%s)
LOWBIT_CACHE="$cache" nice -n 10 "$venv/bin/python" "$root/scripts/export-models.py" "$@"
echo "export-models: exports ready ($cache/exports, $(( $(date +%s) - t0 )) s)"

# lowbit-eval's tokenized evaluation sets ($cache/eval), from the same text.
LOWBIT_CACHE="$cache" nice -n 10 "$venv/bin/python" "$root/scripts/make-eval-data.py" 2>&1 | grep -v "n_ctx_train"
