#!/usr/bin/env bash
# Builds a JavaScript transform project into a WebAssembly component of the `transformer` world:
# esbuild bundles the author's module with this SDK and apache-arrow into one ES module, then
# componentize-js (StarlingMonkey) turns it into a component.
#
#   build.sh PROJECT_DIR OUT.wasm
#
# The project's module is package.json "main", else transform.js. Exit code 3: a tool is
# missing (the message names the install command). Only OUT.wasm and a temp dir are written.
set -euo pipefail
sdk="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[ $# -eq 2 ] || { echo "usage: $0 PROJECT_DIR OUT.wasm" >&2; exit 2; }
[ -d "$1" ] || { echo "error: $1 is not a directory" >&2; exit 2; }
project="$(cd "$1" && pwd)"
out="$2"
toolchain="${FASTLANE_TOOLCHAINS_DIR:-$HOME/.cache/fastlane/toolchains}/js"
modules="$toolchain/node_modules"
wit="$(cd "$sdk/../../wit" && pwd)"

missing() {
  echo "error: $1 is not installed; install it with: bash $sdk/toolchain.sh" >&2
  exit 3
}
command -v node >/dev/null 2>&1 || missing "node (Node.js 18 or newer)"
for package in @bytecodealliance/componentize-js esbuild apache-arrow; do
  [ -f "$modules/$package/package.json" ] || missing "$package"
done
want="$(cat "$sdk/package.json" "$sdk/package-lock.json" | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$toolchain/.installed" 2>/dev/null)" != "$want" ]; then
  missing "the pinned JavaScript toolchain (package-lock.json changed since it was installed)"
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/fastlane-js-build.XXXXXX")"
trap 'rm -rf "$work"' EXIT

FASTLANE_JS_NODE_MODULES="$modules" node "$sdk/lib/bundle.mjs" "$project" "$work"
# componentize-js wants the WIT directory inside its working directory.
cp -r "$wit" "$work/wit"
# `-d http fetch-event`: without them the component imports wasi:http, which the host lacks.
# TMPDIR keeps componentize-js's own work dir inside ours (removed on exit).
mkdir "$work/tmp"
(cd "$work" && TMPDIR="$work/tmp" node "$modules/@bytecodealliance/componentize-js/src/cli.js" bundle.js \
  --wit wit --world-name transformer -d http fetch-event -o component.wasm >&2)

# A component starts with \0asm, version 0x0d 0x00, layer 0x01 0x00.
if [ "$(head -c 8 "$work/component.wasm" | od -An -tx1 | tr -d ' \n')" != 0061736d0d000100 ]; then
  echo "error: componentize-js did not produce a component" >&2
  exit 1
fi
mkdir -p "$(dirname "$out")"
cp "$work/component.wasm" "$out"
