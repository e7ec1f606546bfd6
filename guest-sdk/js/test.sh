#!/usr/bin/env bash
# Runs JavaScript unit tests natively with node's test runner (node --test), after installing
# the toolchain (toolchain.sh, a no-op when present).
#
#   test.sh                 the SDK's tests (test/) and the example transforms' (transforms/js/*/)
#   test.sh PROJECT_DIR...  the *.test.js files of these transform projects
#
# Test files import `fastlane-guest`, apache-arrow and the author's module as a component
# build would; they are bundled with esbuild into a temp dir first.
set -euo pipefail
sdk="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
modules="${FASTLANE_TOOLCHAINS_DIR:-$HOME/.cache/fastlane/toolchains}/js/node_modules"
bash "$sdk/toolchain.sh"

files=()
if [ $# -eq 0 ]; then
  dirs=("$sdk/test" "$sdk"/../../transforms/js/*/)
else
  dirs=("$@")
fi
for dir in "${dirs[@]}"; do
  [ -d "$dir" ] || { echo "error: $dir is not a directory" >&2; exit 2; }
  while IFS= read -r -d '' file; do
    files+=("$file")
  done < <(find "$dir" -maxdepth 2 -name '*.test.js' -not -path '*/node_modules/*' -print0 | sort -z)
done
if [ ${#files[@]} -eq 0 ]; then
  echo "error: no *.test.js files in ${dirs[*]}" >&2
  exit 2
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/fastlane-js-test.XXXXXX")"
trap 'rm -rf "$work"' EXIT
FASTLANE_JS_NODE_MODULES="$modules" node "$sdk/lib/bundle-tests.mjs" "$work" "${files[@]}" > "$work/bundles"
mapfile -t bundles < "$work/bundles"
node --test "${bundles[@]}"
