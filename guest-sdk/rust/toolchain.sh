#!/usr/bin/env bash
# Installs what building Rust transforms needs and is missing: the wasm32-wasip2 target of the
# rustup toolchain. Idempotent. Rust itself comes from rustup (https://rustup.rs).
set -euo pipefail
if ! command -v cargo >/dev/null 2>&1 || ! command -v rustup >/dev/null 2>&1; then
  echo "error: cargo and rustup are not installed; install Rust 1.95+ with rustup (https://rustup.rs)" >&2
  exit 3
fi
if ! rustup target list --installed | grep -qx wasm32-wasip2; then
  echo "==> rust: installing the wasm32-wasip2 target" >&2
  rustup target add wasm32-wasip2 >&2
fi
