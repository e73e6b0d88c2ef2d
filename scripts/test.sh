#!/usr/bin/env bash
# Builds lowbit and runs every test suite (lit, GoogleTest, end-to-end) with
# one CTest invocation. Extra arguments go to ctest (e.g. -R lit).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/build.sh"
cd "$root/build"
ctest --output-on-failure -j "$(nproc)" "$@"
