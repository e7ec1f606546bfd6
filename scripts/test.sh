#!/usr/bin/env bash
# The test command: install what is missing (the guest SDKs' toolchains included), build the
# Wasm transforms the tests use in every language, start the real services the connector tests
# talk to (scripts/services.sh), and run every test (release profile: one build of the heavy
# dependencies serves tests, demo and bench).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
echo "==> transform toolchains (Rust, Python, JavaScript, C), installed where missing"
for lang in rust python js c; do
  bash "guest-sdk/$lang/toolchain.sh"
done
bash scripts/build-transforms.sh --all
# The web UI: its packages, Node and chromium installed where missing; the committed build
# (embedded in the binary) must be the build of its source.
bash scripts/ui.sh check

echo "==> test services: real servers on loopback (scripts/services.sh)"
# Started if needed and left running for the next run; `scripts/services.sh down` stops them.
# Assigned first, then eval'd, so a failing `up` stops this script (`eval "$(…)"` would hide it).
services_env="$(bash scripts/services.sh up)"
eval "$services_env"

echo "==> guest side: the SDKs' and the example transforms' unit tests (native)"
cargo test --release --locked --manifest-path guest-sdk/rust/Cargo.toml --target-dir transforms/target
cargo test --release --locked --manifest-path transforms/Cargo.toml --target-dir transforms/target
for lang in python js c; do
  bash "guest-sdk/$lang/test.sh"
done

echo "==> host side: runtime and connectors (cargo-nextest: test binaries side by side)"
if ! cargo nextest --version >/dev/null 2>&1; then
  echo "==> installing cargo-nextest"
  cargo install --locked cargo-nextest
fi
# `services`: the tests against the real servers started above (without it, `cargo test
# --workspace` runs every test that needs no server).
cargo nextest run --release --locked --workspace --features fastlane/services "$@"
# nextest does not run doc tests.
cargo test --release --locked --workspace --features fastlane/services --doc

bash scripts/ui.sh test

echo "==> monitoring API fuzzed from its own OpenAPI document (schemathesis): zero server errors"
FASTLANE_BIN=target/release/fastlane bash scripts/fuzz-api.sh
FASTLANE_BIN=target/release/fastlane bash scripts/fuzz-api.sh postgres
