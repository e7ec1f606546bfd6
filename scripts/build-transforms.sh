#!/usr/bin/env bash
# Builds the example transforms (transforms/, a cargo workspace of its own) as WebAssembly
# components for wasm32-wasip2, and copies them to transforms/dist/<name>.wasm.
#
# Usage: scripts/build-transforms.sh        (from anywhere)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
transforms="$repo/transforms"
target_dir="${CARGO_TARGET_DIR:-$transforms/target}"
dist="$transforms/dist"

# package name -> file stem cargo gives the cdylib (dashes become underscores)
names=(passthrough filter mask derive hostile wrong-world)

if ! rustup target list --installed | grep -qx wasm32-wasip2; then
    rustup target add wasm32-wasip2
fi

cargo build --release --locked --target wasm32-wasip2 \
    --manifest-path "$transforms/Cargo.toml" --target-dir "$target_dir"

mkdir -p "$dist"
for name in "${names[@]}"; do
    src="$target_dir/wasm32-wasip2/release/${name//-/_}.wasm"
    # A component starts with \0asm then version 0x0d 0x00, layer 0x01 0x00
    # (a core module would have 0x01 0x00 0x00 0x00).
    if [[ "$(head -c 8 "$src" | od -An -tx1 | tr -d ' \n')" != 0061736d0d000100 ]]; then
        echo "error: $src is not a WebAssembly component" >&2
        exit 1
    fi
    cp "$src" "$dist/$name.wasm"
done

echo "components in ${dist#"$repo/"}:"
for name in "${names[@]}"; do
    printf '  %-18s %9d bytes\n' "$name.wasm" "$(stat -c %s "$dist/$name.wasm")"
done
