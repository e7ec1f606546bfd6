# The third-party C sources every component links (nanoarrow + IPC, flatcc, lz4, yyjson), how
# they are compiled for wasm32-wasi, and where toolchain.sh keeps them precompiled. Sourced by
# toolchain.sh and build.sh after versions.sh; not meant to be run.

fl_c_vendor_sources=(
  "$fl_c_nanoarrow"/nanoarrow/common/{array,schema,utils,array_stream}.c
  "$fl_c_nanoarrow"/nanoarrow/ipc/{decoder,encoder,codecs}.c
  "$fl_c_nanoarrow"/flatcc/src/runtime/{builder,emitter,verifier,refmap}.c
  "$fl_c_nanoarrow"/lz4/{lz4,lz4frame,lz4hc,xxhash}.c
  "$fl_c_yyjson/yyjson.c"
)
fl_c_includes=(-I"$sdk/config" -I"$fl_c_nanoarrow" -I"$fl_c_nanoarrow/flatcc/include"
  -I"$fl_c_nanoarrow/lz4" -I"$fl_c_yyjson")
# -ffile-prefix-map keeps the machine's paths out of the output (reproducible components).
fl_c_wasm_flags=(--target=wasm32-wasi -O2 -mbulk-memory -DNDEBUG -ffunction-sections -fdata-sections
  -fvisibility=hidden -ffile-prefix-map="$fl_c_root"=/toolchain -ffile-prefix-map="$sdk"=/sdk)
# Compiled as they come, warnings off; LZ4-compressed IPC bodies are decoded.
fl_c_vendor_flags=("${fl_c_wasm_flags[@]}" -w -DNANOARROW_IPC_WITH_LZ4 -DLZ4_HEAPMODE=1
  -DYYJSON_DISABLE_UTILS=1 -DYYJSON_DISABLE_NON_STANDARD=1 "${fl_c_includes[@]}")

# Precompiled objects, keyed by the flags and versions (and config/), so a change rebuilds.
fl_c_vendor_key="$(printf '%s\n' "${fl_c_vendor_flags[@]}" "$FL_C_NANOARROW_VERSION" \
  "$FL_C_YYJSON_VERSION" "$FL_C_LLVM" | cat - "$sdk/config/nanoarrow/nanoarrow_config.h" |
  sha256sum | cut -c1-16)"
fl_c_vendor_objects="$fl_c_root/vendor-wasm32-$fl_c_vendor_key"

# compile_parallel FLAGS_FILE_DIR: compiles the NUL-separated "kind source object" triples on
# stdin with $FL_C_CC and the NUL-separated flags in FLAGS_FILE_DIR/<kind>.flags, one job per
# core; each job prints its compiler's messages.
fl_c_compile_one() { # KIND SOURCE OBJECT
  local -a args
  mapfile -d '' args < "$FL_C_FLAGS_DIR/$1.flags"
  "$FL_C_CC" "${args[@]}" -c "$2" -o "$3"
}
fl_c_compile_parallel() {
  export -f fl_c_compile_one
  export FL_C_FLAGS_DIR="$1"
  local jobs
  jobs="$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)"
  xargs -0 -n 3 -P "$jobs" bash -c 'fl_c_compile_one "$@"' _
}
