#!/usr/bin/env bash
# Regenerates bindings/ from wit/ with wit-bindgen-cli (pinned in versions.sh). Only needed when
# wit/transform.wit changes; build.sh uses the committed files. Installs wit-bindgen first if
# missing (a long cargo build): bash toolchain.sh --wit-bindgen.
set -euo pipefail
sdk="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.sh
. "$sdk/versions.sh"
if [ ! -x "$fl_c_wit_bindgen" ]; then
  echo "error: wit-bindgen $FL_C_WIT_BINDGEN_VERSION is not installed; install it with: bash $sdk/toolchain.sh --wit-bindgen" >&2
  exit 3
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$fl_c_wit_bindgen" c "$sdk/../../wit" --world transformer --out-dir "$tmp" >&2
cp "$tmp"/transformer.c "$tmp"/transformer.h "$tmp"/transformer_component_type.o "$sdk/bindings/"
printf 'wit-bindgen-cli %s: wit-bindgen c wit --world transformer\n' "$FL_C_WIT_BINDGEN_VERSION" \
  > "$sdk/bindings/VERSION"
echo "bindings/ regenerated with wit-bindgen $FL_C_WIT_BINDGEN_VERSION" >&2
