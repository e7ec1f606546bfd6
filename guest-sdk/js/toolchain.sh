#!/usr/bin/env bash
# Installs the JavaScript guest toolchain (idempotent; a fast no-op when present):
#   $FASTLANE_TOOLCHAINS_DIR/js/node_modules  componentize-js, jco, esbuild, apache-arrow, ...
# at the exact versions of package-lock.json beside this script (`npm ci`).
# FASTLANE_TOOLCHAINS_DIR defaults to ~/.cache/fastlane/toolchains. Progress goes to stderr.
set -euo pipefail

sdk="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="${FASTLANE_TOOLCHAINS_DIR:-$HOME/.cache/fastlane/toolchains}/js"
stamp="$root/.installed"
want="$(cat "$sdk/package.json" "$sdk/package-lock.json" | sha256sum | cut -d' ' -f1)"

if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" \
      && -f "$root/node_modules/@bytecodealliance/componentize-js/src/cli.js" ]]; then
    exit 0
fi

for tool in node npm; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "error: $tool is needed (Node.js 18 or newer); on Debian: apt-get install nodejs npm" >&2
        exit 3
    fi
done
if ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 18 ? 0 : 1)'; then
    echo "error: Node.js 18 or newer is needed, found $(node --version)" >&2
    exit 3
fi

mkdir -p "$root"
echo "fastlane js toolchain: installing the pinned packages into $root (npm ci)" >&2
rm -f "$stamp"
cp "$sdk/package.json" "$sdk/package-lock.json" "$root/"
(cd "$root" && npm ci --no-audit --no-fund --loglevel=error) >&2
echo "$want" > "$stamp"
echo "fastlane js toolchain: ready (componentize-js $(node -p "require('$root/node_modules/@bytecodealliance/componentize-js/package.json').version"), apache-arrow $(node -p "require('$root/node_modules/apache-arrow/package.json').version"))" >&2
