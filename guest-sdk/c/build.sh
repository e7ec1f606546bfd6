#!/usr/bin/env bash
# Builds a C transform project into a WebAssembly component.
#
#   build.sh PROJECT_DIR OUT.wasm
#
# PROJECT_DIR holds the transform's .c files (top level and src/, if any) defining
# fl_describe / fl_init / fl_transform (see include/fastlane.h); PROJECT_DIR and
# PROJECT_DIR/include are on the include path. Extra compiler flags: $FASTLANE_C_CFLAGS.
#
# Steps: clang-14 --target=wasm32-wasi compiles the project, the SDK and the committed bindings
# (bindings/), plus nanoarrow (+ IPC, flatcc, lz4) and yyjson unless toolchain.sh precompiled
# them (vendor.sh); wasm-ld links a reactor module carrying the world's component type;
# wasm-tools' `component new` (on node) adapts wasi_snapshot_preview1 to WASI 0.2 and writes
# the component to OUT.wasm.
#
# Exit code 3: a tool is missing (the message names the install command). Writes nothing but
# OUT.wasm and a temporary directory.
set -euo pipefail
sdk="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.sh
. "$sdk/versions.sh"
[ $# -eq 2 ] || { echo "usage: $0 PROJECT_DIR OUT.wasm" >&2; exit 2; }
[ -d "$1" ] || { echo "error: $1 is not a directory" >&2; exit 2; }
project="$(cd "$1" && pwd)"
out="$2"

missing() {
  echo "error: $1 is not installed; install it with: bash $sdk/toolchain.sh" >&2
  exit 3
}
llvm="/usr/lib/llvm-$FL_C_LLVM/bin"
clang="$llvm/clang"
[ -x "$clang" ] || missing "clang-$FL_C_LLVM"
[ -x "$llvm/wasm-ld" ] || missing "wasm-ld (lld-$FL_C_LLVM)"
[ -f /usr/lib/wasm32-wasi/libc.a ] || missing "wasi-libc"
compgen -G "/usr/lib/llvm-$FL_C_LLVM/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a" \
  >/dev/null || missing "libclang-rt-$FL_C_LLVM-dev-wasm32"
[ -f "$fl_c_nanoarrow/.complete" ] || missing "nanoarrow $FL_C_NANOARROW_VERSION (C sources)"
[ -f "$fl_c_yyjson/.complete" ] || missing "yyjson $FL_C_YYJSON_VERSION (C sources)"
command -v node >/dev/null 2>&1 || missing node
[ -f "$fl_c_node_modules/@bytecodealliance/jco-transpile/dist/wasm-tools.js" ] ||
  missing "@bytecodealliance/jco-transpile $FL_C_JCO_TRANSPILE_VERSION"
[ -f "$fl_c_adapter" ] || missing "the wasi_snapshot_preview1 reactor adapter (jco $FL_C_JCO_VERSION)"

shopt -s nullglob
user_sources=("$project"/*.c "$project"/src/*.c)
shopt -u nullglob
[ ${#user_sources[@]} -gt 0 ] || { echo "error: no .c files in $project (or $project/src)" >&2; exit 1; }

# shellcheck source=vendor.sh
. "$sdk/vendor.sh"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

own_flags=("${fl_c_wasm_flags[@]}" -std=c11 -Wall -Wextra -Wno-unused-parameter
  "${fl_c_includes[@]}" -I"$sdk/include" -I"$sdk/bindings" -I"$project" -I"$project/include"
  -ffile-prefix-map="$project"=/project)
# shellcheck disable=SC2206
own_flags+=(${FASTLANE_C_CFLAGS:-})
sdk_sources=("$sdk"/src/{guest,batch,batch_filter,config,parse,ipc,sha256,defaults}.c "$sdk/bindings/transformer.c")

# The vendored libraries come precompiled from toolchain.sh when their key matches; otherwise
# they are compiled here too.
printf '%s\0' "${fl_c_vendor_flags[@]}" > "$tmp/vendor.flags"
printf '%s\0' "${own_flags[@]}" > "$tmp/own.flags"
export FL_C_CC="$clang"
mkdir -p "$tmp/obj"
{
  i=0
  if [ ! -f "$fl_c_vendor_objects/.complete" ]; then
    for src in "${fl_c_vendor_sources[@]}"; do
      printf 'vendor\0%s\0%s/obj/%03d.o\0' "$src" "$tmp" $((i++))
    done
  fi
  for src in "${sdk_sources[@]}" "${user_sources[@]}"; do
    printf 'own\0%s\0%s/obj/%03d.o\0' "$src" "$tmp" $((i++))
  done
} | fl_c_compile_parallel "$tmp" || { echo "error: compilation failed" >&2; exit 1; }

objects=("$tmp"/obj/*.o)
if [ -f "$fl_c_vendor_objects/.complete" ]; then objects+=("$fl_c_vendor_objects"/*.o); fi
"$clang" --target=wasm32-wasi -mexec-model=reactor -O2 -o "$tmp/core.wasm" \
  "${objects[@]}" "$sdk/bindings/transformer_component_type.o" \
  -Wl,--gc-sections -Wl,--strip-debug

FL_C_NODE_MODULES="$fl_c_node_modules" node "$sdk/tools/componentize.mjs" \
  "$tmp/core.wasm" "$fl_c_adapter" "$tmp/component.wasm"

# A component starts with \0asm, version 0x0d 0x00, layer 0x01 0x00.
if [ "$(head -c 8 "$tmp/component.wasm" | od -An -tx1 | tr -d ' \n')" != 0061736d0d000100 ]; then
  echo "error: component new did not produce a component" >&2
  exit 1
fi
mkdir -p "$(dirname "$out")"
cp "$tmp/component.wasm" "$out"
