#!/usr/bin/env bash
# build.sh PROJECT_DIR OUT.wasm -- builds a Python transform project into a component.
#
# The project's entry module is PROJECT_DIR/app.py, which calls fastlane_guest.export(...).
# Its other top-level .py files and packages are bundled with it, plus the pure-Python
# packages listed in PROJECT_DIR/requirements.txt if there is one (pin their versions).
# Works from any cwd; writes only OUT.wasm and a temporary directory.
set -euo pipefail

sdk_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [[ $# -ne 2 ]]; then
    echo "usage: bash $sdk_dir/build.sh PROJECT_DIR OUT.wasm" >&2
    exit 2
fi
project="$1"
out="$2"
wit_dir="$(cd "$sdk_dir/../../wit" && pwd)"
root="${FASTLANE_TOOLCHAINS_DIR:-$HOME/.cache/fastlane/toolchains}/python"

missing() {
    echo "error: $1 is not installed; install it with: bash $sdk_dir/toolchain.sh" >&2
    exit 3
}

componentize="$root/venv/bin/componentize-py"
if [[ ! -x "$componentize" ]]; then
    componentize="$(command -v componentize-py || true)"
    [[ -n "$componentize" ]] || missing componentize-py
fi
deps="$root/deps"
[[ -f "$deps/flatbuffers/__init__.py" ]] || missing "flatbuffers (bundled Python package)"

if [[ ! -f "$project/app.py" ]]; then
    echo "error: $project/app.py not found (a Python transform project has its entry module in app.py)" >&2
    exit 1
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/fastlane-py-build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
src="$tmp/src"
mkdir -p "$src"

# The project's Python sources only (not data files, nor an earlier build's .wasm).
for file in "$project"/*.py; do
    cp "$file" "$src/"
done
for dir in "$project"/*/; do
    [[ -f "$dir/__init__.py" ]] || continue
    cp -r "$dir" "$src/"
done
cp -r "$sdk_dir/fastlane_guest" "$src/"
find "$src" -name __pycache__ -prune -exec rm -rf {} +

paths=(-p "$src" -p "$deps")
if [[ -f "$project/requirements.txt" ]]; then
    pip="$root/venv/bin/pip"
    [[ -x "$pip" ]] || missing pip
    "$pip" install --quiet --disable-pip-version-check --target "$tmp/requirements" \
        -r "$project/requirements.txt" >&2
    paths+=(-p "$tmp/requirements")
fi

# componentize-py runs this module at build time (pre-initialisation): the app registers its
# transform, and a missing export() fails the build here rather than at the first call.
cat > "$src/fastlane_entry.py" <<'PY'
import app  # noqa: F401  (calls fastlane_guest.export)
from fastlane_guest import _runtime

_runtime.registered()
from fastlane_guest._component import WitWorld  # noqa: E402,F401
PY

(
    cd "$tmp"
    PYTHONDONTWRITEBYTECODE=1 "$componentize" -q -d "$wit_dir" -w transformer componentize \
        "${paths[@]}" fastlane_entry -o "$tmp/out.wasm"
)

magic="$(head -c 8 "$tmp/out.wasm" | od -An -tx1 | tr -d ' \n')"
if [[ "$magic" != "0061736d0d000100" ]]; then
    echo "error: componentize-py did not produce a component (header $magic)" >&2
    exit 1
fi
mkdir -p "$(dirname "$out")"
mv "$tmp/out.wasm" "$out"
