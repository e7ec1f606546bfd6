#!/usr/bin/env bash
# Install what building and testing fastlane needs and is missing on this machine:
# the wasm32-wasip2 Rust target. Idempotent; sourced by demo.sh and test.sh.
set -euo pipefail

if ! command -v cargo >/dev/null 2>&1; then
  echo "error: cargo is not installed; install Rust 1.95+ with rustup (https://rustup.rs) first" >&2
  exit 1
fi
if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2; then
  echo "==> installing the wasm32-wasip2 Rust target"
  rustup target add wasm32-wasip2
fi
