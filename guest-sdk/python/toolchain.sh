#!/usr/bin/env bash
# Installs the Python guest toolchain (idempotent; a fast no-op when present):
#   $FASTLANE_TOOLCHAINS_DIR/python/venv  componentize-py (embeds CPython for wasm32-wasip2)
#   $FASTLANE_TOOLCHAINS_DIR/python/deps  pure-Python packages bundled into every component
# FASTLANE_TOOLCHAINS_DIR defaults to ~/.cache/fastlane/toolchains. Progress goes to stderr.
set -euo pipefail

COMPONENTIZE_PY_VERSION=0.25.1
FLATBUFFERS_VERSION=25.12.19

root="${FASTLANE_TOOLCHAINS_DIR:-$HOME/.cache/fastlane/toolchains}/python"
venv="$root/venv"
deps="$root/deps"
stamp="$root/.installed"
want="componentize-py==$COMPONENTIZE_PY_VERSION flatbuffers==$FLATBUFFERS_VERSION"

if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -x "$venv/bin/componentize-py" \
      && -d "$deps/flatbuffers" ]]; then
    exit 0
fi

python=""
for candidate in python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 \
        && "$candidate" -c 'import sys, venv; sys.exit(sys.version_info < (3, 9))' 2>/dev/null; then
        python="$candidate"
        break
    fi
done
if [[ -z "$python" ]]; then
    echo "error: python3 (>= 3.9, with the venv module) is needed; on Debian: apt-get install python3 python3-venv" >&2
    exit 1
fi

mkdir -p "$root"
echo "fastlane python toolchain: creating $venv" >&2
rm -rf "$venv" "$deps"
"$python" -m venv "$venv"
echo "fastlane python toolchain: installing componentize-py $COMPONENTIZE_PY_VERSION" >&2
"$venv/bin/pip" install --quiet --disable-pip-version-check \
    "componentize-py==$COMPONENTIZE_PY_VERSION" >&2
echo "fastlane python toolchain: installing flatbuffers $FLATBUFFERS_VERSION into $deps" >&2
"$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps --target "$deps" \
    "flatbuffers==$FLATBUFFERS_VERSION" >&2
echo "$want" > "$stamp"
echo "fastlane python toolchain: ready ($("$venv/bin/componentize-py" --version 2>&1))" >&2
