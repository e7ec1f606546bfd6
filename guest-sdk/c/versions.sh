# Pinned versions and paths of everything the C SDK builds with. Sourced by toolchain.sh,
# build.sh, test.sh and regen-bindings.sh; not meant to be run.

# Debian 12 packages: clang-14 lld-14 wasi-libc libclang-rt-14-dev-wasm32.
FL_C_LLVM=14
# PyPI sdist `nanoarrow`: the C library's sources, with the IPC extension, flatcc and lz4.
FL_C_NANOARROW_VERSION=0.9.0
# PyPI sdist `yyjson` 4.0.6 vendors the C library yyjson 0.10.0 (yyjson.c / yyjson.h).
FL_C_YYJSON_PY_VERSION=4.0.6
FL_C_YYJSON_VERSION=0.10.0
# npm `@bytecodealliance/jco`: only its wasi_snapshot_preview1 reactor adapter is used.
FL_C_JCO_VERSION=1.35.0
# npm `@bytecodealliance/jco-transpile`: wasm-tools' `component new`, compiled to wasm, on node.
FL_C_JCO_TRANSPILE_VERSION=0.15.0
FL_C_PREVIEW2_SHIM_VERSION=0.26.0
# crates.io `wit-bindgen-cli`: only regen-bindings.sh needs it (the bindings are committed).
FL_C_WIT_BINDGEN_VERSION=0.63.0

fl_c_root="${FASTLANE_TOOLCHAINS_DIR:-$HOME/.cache/fastlane/toolchains}/c"
fl_c_nanoarrow="$fl_c_root/nanoarrow-$FL_C_NANOARROW_VERSION"
fl_c_yyjson="$fl_c_root/yyjson-$FL_C_YYJSON_VERSION"
fl_c_node_modules="$fl_c_root/node/node_modules"
fl_c_adapter="$fl_c_root/adapter-jco-$FL_C_JCO_VERSION/wasi_snapshot_preview1.reactor.wasm"
fl_c_wit_bindgen="$fl_c_root/wit-bindgen-$FL_C_WIT_BINDGEN_VERSION/bin/wit-bindgen"
