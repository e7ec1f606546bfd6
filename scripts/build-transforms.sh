#!/usr/bin/env bash
# Builds the example transforms as WebAssembly components into transforms/dist/:
# - the Rust ones (transforms/, a cargo workspace of its own, for wasm32-wasip2) -> <name>.wasm;
# - with --all, also the Python, JavaScript and C ones (transforms/<lang>/<name>/, each built by
#   guest-sdk/<lang>/build.sh after guest-sdk/<lang>/toolchain.sh has installed what is missing)
#   -> <name>-py.wasm, <name>-js.wasm, <name>-c.wasm. A component whose sources (its project,
#   its SDK and the WIT contract) have not changed since it was built is kept.
#
# Usage: scripts/build-transforms.sh [--all | NAME...]   (from anywhere)
#   NAME...: only these Rust transforms (the demo builds `mask` alone: each component is
#   linked with LTO, so every one left out saves the better part of a minute).
set -euo pipefail

all=0
only=()
for arg in "$@"; do
  case "$arg" in
    --all) all=1 ;;
    -*) echo "usage: $0 [--all | NAME...]" >&2; exit 2 ;;
    *) only+=("$arg") ;;
  esac
done

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
transforms="$repo/transforms"
target_dir="${CARGO_TARGET_DIR:-$transforms/target}"
dist="$transforms/dist"

# package name -> file stem cargo gives the cdylib (dashes become underscores)
names=(passthrough filter mask derive hostile wrong-world)
packages=()
if [ "${#only[@]}" -gt 0 ]; then
    for name in "${only[@]}"; do
        if [[ " ${names[*]} " != *" $name "* ]]; then
            echo "error: no Rust transform '$name' (there are: ${names[*]})" >&2
            exit 2
        fi
        packages+=(-p "$name")
    done
    names=("${only[@]}")
fi

if ! rustup target list --installed | grep -qx wasm32-wasip2; then
    rustup target add wasm32-wasip2
fi

cargo build --release --locked --target wasm32-wasip2 \
    --manifest-path "$transforms/Cargo.toml" --target-dir "$target_dir" "${packages[@]}"

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

[ "$all" = 1 ] || exit 0

# Fingerprint of everything a component is built from, to skip builds that would not change.
sources_hash() {
  find "$@" -type f -not -path '*/node_modules/*' -not -path '*/target/*' \
    -not -path '*/__pycache__/*' -not -name '*.wasm' -print0 | sort -z |
    xargs -0 sha256sum | sed "s#  $repo/#  #" | sha256sum | cut -d' ' -f1
}

for lang in python js c; do
  case "$lang" in python) suffix=py ;; js) suffix=js ;; c) suffix=c ;; esac
  sdk="$repo/guest-sdk/$lang"
  bash "$sdk/toolchain.sh"
  for project in "$transforms/$lang"/*/; do
    project="${project%/}"
    name="$(basename "$project")-$suffix"
    out="$dist/$name.wasm"
    stamp="$(sources_hash "$project" "$sdk" "$repo/wit")"
    if [ -f "$out" ] && [ "$(cat "$out.sources" 2>/dev/null)" = "$stamp" ]; then
      printf '  %-18s %9d bytes (up to date)\n' "$name.wasm" "$(stat -c %s "$out")"
      continue
    fi
    bash "$sdk/build.sh" "$project" "$out"
    echo "$stamp" >"$out.sources"
    printf '  %-18s %9d bytes\n' "$name.wasm" "$(stat -c %s "$out")"
  done
done
