#!/usr/bin/env bash
# Installs what building C transforms needs (idempotent; a fast no-op when everything is there):
#   - Debian packages clang-14, lld-14, wasi-libc, libclang-rt-14-dev-wasm32 (apt; no services
#     are started);
#   - under ${FASTLANE_TOOLCHAINS_DIR:-~/.cache/fastlane/toolchains}/c/:
#       nanoarrow-<v>/   nanoarrow's C sources (core, IPC, flatcc, lz4) from its PyPI sdist
#       yyjson-<v>/      yyjson's C sources from the PyPI sdist `yyjson`
#       node/            npm @bytecodealliance/jco-transpile (wasm-tools `component new` on node)
#       adapter-jco-<v>/ the wasi_snapshot_preview1 reactor adapter, from the npm package jco
#       vendor-wasm32-<key>/ those C libraries precompiled with build.sh's flags
#   - with --wit-bindgen, also wit-bindgen-cli (a long cargo build; only regen-bindings.sh
#     needs it, the generated bindings are committed in bindings/).
# `--sources` installs only the C sources (what test.sh needs besides a host C compiler).
# Versions are pinned in versions.sh. Progress goes to stderr.
set -euo pipefail
sdk="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.sh
. "$sdk/versions.sh"

only_sources=0
with_wit_bindgen=0
for arg in "$@"; do
  case "$arg" in
    --sources) only_sources=1 ;;
    --wit-bindgen) with_wit_bindgen=1 ;;
    *) echo "usage: $0 [--sources] [--wit-bindgen]" >&2; exit 2 ;;
  esac
done

say() { echo "fastlane c toolchain: $*" >&2; }

# ---- C sources from PyPI sdists --------------------------------------------------------------

pip_download() { # NAME VERSION DIR
  local python
  python="$(command -v python3 || true)"
  if [ -z "$python" ]; then
    echo "error: python3 (with pip) is needed to download $1 from PyPI" >&2
    exit 1
  fi
  "$python" -m pip download --quiet --disable-pip-version-check --no-deps \
    --no-binary "$1" -d "$3" "$1==$2" >&2
}

install_nanoarrow() {
  [ -f "$fl_c_nanoarrow/.complete" ] && return 0
  say "nanoarrow $FL_C_NANOARROW_VERSION C sources (PyPI sdist)"
  local tmp
  tmp="$(mktemp -d)"
  pip_download nanoarrow "$FL_C_NANOARROW_VERSION" "$tmp"
  tar -xzf "$tmp/nanoarrow-$FL_C_NANOARROW_VERSION.tar.gz" -C "$tmp"
  local sub="$tmp/nanoarrow-$FL_C_NANOARROW_VERSION/subprojects"
  local flatcc
  flatcc="$(ls -d "$sub"/flatcc-*/ | head -n 1)"
  local dst="$tmp/out"
  mkdir -p "$dst/nanoarrow" "$dst/flatcc/src" "$dst/lz4"
  local src="$sub/arrow-nanoarrow/src/nanoarrow"
  cp "$src/nanoarrow.h" "$src/nanoarrow_ipc.h" "$dst/nanoarrow/"
  cp -r "$src/common" "$src/ipc" "$dst/nanoarrow/"
  cp "$sub/arrow-nanoarrow/LICENSE.txt" "$dst/LICENSE.nanoarrow.txt" 2>/dev/null || true
  cp -r "$flatcc/include" "$dst/flatcc/"
  cp -r "$flatcc/src/runtime" "$dst/flatcc/src/"
  cp "$flatcc/LICENSE" "$dst/LICENSE.flatcc.txt"
  cp "$sub"/lz4-*/lib/{lz4.c,lz4.h,lz4frame.c,lz4frame.h,lz4frame_static.h,lz4hc.c,lz4hc.h,xxhash.c,xxhash.h} "$dst/lz4/"
  cp "$sub"/lz4-*/lib/LICENSE "$dst/LICENSE.lz4.txt"
  touch "$dst/.complete"
  mkdir -p "$fl_c_root"
  rm -rf "$fl_c_nanoarrow"
  mv "$dst" "$fl_c_nanoarrow"
  rm -rf "$tmp"
}

install_yyjson() {
  [ -f "$fl_c_yyjson/.complete" ] && return 0
  say "yyjson $FL_C_YYJSON_VERSION C sources (PyPI sdist yyjson $FL_C_YYJSON_PY_VERSION)"
  local tmp
  tmp="$(mktemp -d)"
  pip_download yyjson "$FL_C_YYJSON_PY_VERSION" "$tmp"
  tar -xzf "$tmp/yyjson-$FL_C_YYJSON_PY_VERSION.tar.gz" -C "$tmp"
  local src="$tmp/yyjson-$FL_C_YYJSON_PY_VERSION"
  if ! grep -q "YYJSON_VERSION_STRING \"$FL_C_YYJSON_VERSION\"" "$src/yyjson/yyjson.h"; then
    echo "error: the yyjson $FL_C_YYJSON_PY_VERSION sdist does not hold yyjson $FL_C_YYJSON_VERSION" >&2
    exit 1
  fi
  mkdir -p "$tmp/out"
  cp "$src/yyjson/yyjson.c" "$src/yyjson/yyjson.h" "$tmp/out/"
  cp "$src/LICENSE" "$tmp/out/LICENSE"
  touch "$tmp/out/.complete"
  mkdir -p "$fl_c_root"
  rm -rf "$fl_c_yyjson"
  mv "$tmp/out" "$fl_c_yyjson"
  rm -rf "$tmp"
}

install_nanoarrow
install_yyjson
[ "$only_sources" = 1 ] && exit 0

# ---- Debian packages ------------------------------------------------------------------------

clang_ok() {
  command -v "clang-$FL_C_LLVM" >/dev/null 2>&1 &&
    [ -x "/usr/lib/llvm-$FL_C_LLVM/bin/wasm-ld" ] &&
    [ -f /usr/lib/wasm32-wasi/libc.a ] &&
    compgen -G "/usr/lib/llvm-$FL_C_LLVM/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a" >/dev/null
}

if ! clang_ok; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: clang-$FL_C_LLVM, lld-$FL_C_LLVM and wasi-libc are needed; install them with your package manager" >&2
    exit 1
  fi
  say "apt: clang-$FL_C_LLVM lld-$FL_C_LLVM wasi-libc libclang-rt-$FL_C_LLVM-dev-wasm32"
  # A policy-rc.d answering 101 keeps apt from starting services; restore whatever was there.
  policy=/usr/sbin/policy-rc.d
  saved=""
  if [ -e "$policy" ]; then saved="$(mktemp)"; cp -p "$policy" "$saved"; fi
  restore_policy() {
    if [ -n "$saved" ]; then mv "$saved" "$policy"; else rm -f "$policy"; fi
  }
  trap restore_policy EXIT
  printf '#!/bin/sh\nexit 101\n' > "$policy"
  chmod +x "$policy"
  packages=("clang-$FL_C_LLVM" "lld-$FL_C_LLVM" wasi-libc "libclang-rt-$FL_C_LLVM-dev-wasm32")
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      "${packages[@]}" >&2; then
    DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      "${packages[@]}" >&2
  fi
  restore_policy
  trap - EXIT
  clang_ok || { echo "error: clang-$FL_C_LLVM for wasm32-wasi is still incomplete" >&2; exit 1; }
fi

# ---- node: component new, and the adapter -----------------------------------------------------

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "error: node (>= 18) and npm are needed; on Debian: apt-get install nodejs npm" >&2
  exit 1
fi

node_stamp="$fl_c_root/node/.complete"
node_want="jco-transpile@$FL_C_JCO_TRANSPILE_VERSION preview2-shim@$FL_C_PREVIEW2_SHIM_VERSION"
if [ ! -f "$node_stamp" ] || [ "$(cat "$node_stamp")" != "$node_want" ]; then
  say "npm: @bytecodealliance/jco-transpile $FL_C_JCO_TRANSPILE_VERSION"
  mkdir -p "$fl_c_root/node"
  echo '{"private": true, "description": "fastlane C SDK: wasm-tools component new"}' \
    > "$fl_c_root/node/package.json"
  npm install --prefix "$fl_c_root/node" --no-audit --no-fund --loglevel=error --save-exact \
    "@bytecodealliance/jco-transpile@$FL_C_JCO_TRANSPILE_VERSION" \
    "@bytecodealliance/preview2-shim@$FL_C_PREVIEW2_SHIM_VERSION" >&2
  echo "$node_want" > "$node_stamp"
fi

if [ ! -f "$fl_c_adapter" ]; then
  say "npm: the wasi_snapshot_preview1 reactor adapter from @bytecodealliance/jco $FL_C_JCO_VERSION"
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "@bytecodealliance/jco@$FL_C_JCO_VERSION" >/dev/null)
  tar -xzf "$tmp"/bytecodealliance-jco-*.tgz -C "$tmp" package/lib/wasi_snapshot_preview1.reactor.wasm
  mkdir -p "$(dirname "$fl_c_adapter")"
  mv "$tmp/package/lib/wasi_snapshot_preview1.reactor.wasm" "$fl_c_adapter"
  rm -rf "$tmp"
fi

# ---- the vendored libraries, precompiled for wasm32-wasi --------------------------------------

# shellcheck source=vendor.sh
. "$sdk/vendor.sh"
if [ ! -f "$fl_c_vendor_objects/.complete" ]; then
  say "compiling nanoarrow, flatcc, lz4 and yyjson for wasm32-wasi"
  tmp="$(mktemp -d)"
  printf '%s\0' "${fl_c_vendor_flags[@]}" > "$tmp/vendor.flags"
  mkdir -p "$tmp/obj"
  i=0
  for src in "${fl_c_vendor_sources[@]}"; do
    printf 'vendor\0%s\0%s/obj/v%03d.o\0' "$src" "$tmp" $((i++))
  done | FL_C_CC="/usr/lib/llvm-$FL_C_LLVM/bin/clang" fl_c_compile_parallel "$tmp"
  touch "$tmp/obj/.complete"
  rm -rf "$fl_c_vendor_objects"
  mv "$tmp/obj" "$fl_c_vendor_objects"
  rm -rf "$tmp"
  # Objects built with older flags or versions are of no further use.
  for old in "$fl_c_root"/vendor-wasm32-*; do
    [ "$old" = "$fl_c_vendor_objects" ] || rm -rf "$old"
  done
fi

# ---- wit-bindgen (optional) -------------------------------------------------------------------

if [ "$with_wit_bindgen" = 1 ] && [ ! -x "$fl_c_wit_bindgen" ]; then
  say "cargo: wit-bindgen-cli $FL_C_WIT_BINDGEN_VERSION (C generator only; takes a while)"
  nice -n 19 cargo install --locked -j 1 wit-bindgen-cli --version "$FL_C_WIT_BINDGEN_VERSION" \
    --no-default-features --features c --root "$(dirname "$(dirname "$fl_c_wit_bindgen")")" >&2
fi
