#!/usr/bin/env bash
# Builds a Rust transform project (a `cdylib` crate depending on fastlane-guest) into a
# WebAssembly component: cargo build --release --target wasm32-wasip2, then copies the .wasm.
#
#   build.sh PROJECT_DIR OUT.wasm
#
# Exit code 3: a tool is missing (the message names the install command). CARGO_TARGET_DIR is
# honoured (default: PROJECT_DIR/target).
set -euo pipefail
sdk="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[ $# -eq 2 ] || { echo "usage: $0 PROJECT_DIR OUT.wasm" >&2; exit 2; }
project="$(cd "$1" && pwd)"
out="$2"

missing() {
  echo "error: $1 is not installed; install it with: bash $sdk/toolchain.sh" >&2
  exit 3
}
command -v cargo >/dev/null 2>&1 || missing cargo
if command -v rustup >/dev/null 2>&1 && ! rustup target list --installed | grep -qx wasm32-wasip2; then
  missing "the wasm32-wasip2 Rust target"
fi

# The artifacts cargo reports: the cdylib's .wasm is the component.
messages="$(cargo build --release --target wasm32-wasip2 --message-format=json-render-diagnostics \
  --manifest-path "$project/Cargo.toml" --target-dir "${CARGO_TARGET_DIR:-$project/target}")"
wasm="$(printf '%s\n' "$messages" | grep '"reason":"compiler-artifact"' |
  grep -o '"filenames":\["[^"]*\.wasm"' | tail -n 1 | sed 's/.*\["//; s/"$//')"
if [ -z "$wasm" ] || [ ! -f "$wasm" ]; then
  echo "error: cargo built no .wasm: is the crate a cdylib ([lib] crate-type = [\"cdylib\"])?" >&2
  exit 1
fi
# A component starts with \0asm, version 0x0d 0x00, layer 0x01 0x00.
if [ "$(head -c 8 "$wasm" | od -An -tx1 | tr -d ' \n')" != 0061736d0d000100 ]; then
  echo "error: $wasm is a core module, not a component (build for wasm32-wasip2)" >&2
  exit 1
fi
mkdir -p "$(dirname "$out")"
cp "$wasm" "$out"
