#!/usr/bin/env bash
# Native tests of the C SDK and of C transforms, with the host's C compiler (no wasm):
#
#   test.sh                 the SDK's tests, then every transforms/c/*/ project with a tests/ dir
#   test.sh PROJECT_DIR...  the SDK's tests, then those projects
#
# The compiled libraries are cached under the toolchain directory (see below).
# A project's test binary is its .c files (top level and src/) plus tests/*.c, linked with the
# SDK, nanoarrow and yyjson, and tests/testing.h for tables and checks. Everything runs under
# AddressSanitizer and UBSan when the compiler has them. Each binary prints
# "NAME: N passed, N failed"; the last line is the total. $CC picks the compiler (default cc).
set -euo pipefail
sdk="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.sh
. "$sdk/versions.sh"

cc="${CC:-cc}"
command -v "$cc" >/dev/null 2>&1 || {
  echo "error: $cc is not installed; install a C compiler (on Debian: apt-get install gcc)" >&2
  exit 3
}
if [ ! -f "$fl_c_nanoarrow/.complete" ] || [ ! -f "$fl_c_yyjson/.complete" ]; then
  bash "$sdk/toolchain.sh" --sources
fi

projects=()
if [ $# -gt 0 ]; then
  for p in "$@"; do projects+=("$(cd "$p" && pwd)"); done
else
  for p in "$sdk"/../../transforms/c/*/; do
    [ -d "$p/tests" ] && projects+=("$(cd "$p" && pwd)")
  done
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

sanitize=(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
echo 'int main(void){return 0;}' > "$tmp/probe.c"
if ! "$cc" "${sanitize[@]}" "$tmp/probe.c" -o "$tmp/probe" >/dev/null 2>&1; then
  sanitize=()
fi

na="$fl_c_nanoarrow"
includes=(-I"$sdk/config" -I"$na" -I"$na/flatcc/include" -I"$na/lz4" -I"$fl_c_yyjson"
  -I"$sdk/include" -I"$sdk/tests")
vendor_flags=(-O1 -g -w -DNANOARROW_IPC_WITH_LZ4 -DYYJSON_DISABLE_UTILS=1 "${sanitize[@]}"
  "${includes[@]}")
own_flags=(-O1 -g -std=c11 -D_DEFAULT_SOURCE -Wall -Wextra -Wno-unused-parameter "${sanitize[@]}"
  "${includes[@]}")

# The libraries, compiled once for all test binaries (two at a time per core).
lib_sources=(
  "$na"/nanoarrow/common/{array,schema,utils,array_stream}.c
  "$na"/nanoarrow/ipc/{decoder,encoder,codecs,reader,writer}.c
  "$na"/flatcc/src/runtime/{builder,emitter,verifier,refmap}.c
  "$na"/lz4/{lz4,lz4frame,lz4hc,xxhash}.c
  "$fl_c_yyjson/yyjson.c"
)
sdk_sources=("$sdk"/src/{batch,batch_filter,config,parse,ipc,sha256,defaults,native}.c "$sdk/tests/testing.c")
# The objects are kept between runs in the toolchain cache, keyed by compiler and flags, and
# rebuilt when their source (or an SDK header) is newer. $FL_C_TEST_OBJDIR overrides the place.
key="$( { "$cc" --version 2>&1 | head -n 1; printf '%s\n' "${vendor_flags[@]}" "${own_flags[@]}"; } |
  sha256sum | cut -c1-16)"
objdir="${FL_C_TEST_OBJDIR:-$fl_c_root/test-objects-$key}"
mkdir -p "$objdir"
printf '%s\0' "${vendor_flags[@]}" > "$tmp/vendor.flags"
printf '%s\0' "${own_flags[@]}" > "$tmp/own.flags"
compile_one() { # vendor|own SOURCE OBJECT
  local -a args
  [ "$3" -nt "$2" ] && [ "$3" -nt "$FL_C_SDK/tests/testing.h" ] &&
    [ "$3" -nt "$FL_C_SDK/include/fastlane.h" ] && [ "$3" -nt "$FL_C_SDK/src/internal.h" ] &&
    [ "$3" -nt "$FL_C_SDK/include/fastlane_sha256.h" ] && return 0
  mapfile -d '' args < "$FL_C_TMP/$1.flags"
  # Written aside, then renamed: another test.sh may be linking from the same cache.
  "$FL_C_CC" "${args[@]}" -c "$2" -o "$3.$BASHPID" && mv -f "$3.$BASHPID" "$3"
}
export -f compile_one
export FL_C_TMP="$tmp" FL_C_CC="$cc" FL_C_SDK="$sdk"
# Each object is named after its source's path, so the cache never mixes up two sources.
lib_objects=()
{
  for src in "${lib_sources[@]}" "${sdk_sources[@]}"; do
    kind=own
    case "$src" in "$na"/* | "$fl_c_yyjson"/*) kind=vendor ;; esac
    obj="$objdir/$(basename "$src" .c)-$(printf '%s' "$src" | sha256sum | cut -c1-12).o"
    lib_objects+=("$obj")
    printf '%s\0%s\0%s\0' "$kind" "$src" "$obj"
  done
} > "$tmp/compile.list"
jobs="$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)"
xargs -0 -n 3 -P "$jobs" bash -c 'compile_one "$@"' _ < "$tmp/compile.list"

summaries=()
status=0
run_binary() { # NAME BINARY ARGS...
  local name="$1" log="$tmp/$1.log"
  shift
  set +e
  "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  set -e
  [ "$rc" -eq 0 ] || status=1
  local line
  line="$(grep -E '^[^:]+: [0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1 || true)"
  if [ -z "$line" ]; then
    echo "$name: crashed (exit $rc) before its summary" >&2
    line="$name: 0 passed, 1 failed"
    status=1
  fi
  summaries+=("$line")
}

"$cc" "${own_flags[@]}" "$sdk/tests/test_sdk.c" "${lib_objects[@]}" -lm -o "$tmp/test_sdk"
run_binary "c-sdk" "$tmp/test_sdk" "$sdk/tests/data"

for project in "${projects[@]}"; do
  name="$(basename "$project")"
  shopt -s nullglob
  sources=("$project"/*.c "$project"/src/*.c "$project"/tests/*.c)
  shopt -u nullglob
  "$cc" "${own_flags[@]}" -I"$project" -I"$project/include" "${sources[@]}" "${lib_objects[@]}" \
    -lm -o "$tmp/test_$name"
  run_binary "$name" "$tmp/test_$name" "$project/tests"
done

passed=0
failed=0
for line in "${summaries[@]}"; do
  p="$(sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed$/\1/' <<< "$line")"
  f="$(sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed$/\2/' <<< "$line")"
  passed=$((passed + p))
  failed=$((failed + f))
done
[ "$failed" -eq 0 ] || status=1
echo "c-guest-sdk: $passed passed, $failed failed"
exit "$status"
