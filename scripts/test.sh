#!/usr/bin/env bash
# The test command: install what is missing, build the Wasm transforms the tests use, start the
# real services the connector tests talk to (scripts/services.sh), and run every test (release
# profile: one build of the heavy dependencies serves tests, demo and bench).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
bash scripts/build-transforms.sh

echo "==> test services: real servers on loopback (scripts/services.sh)"
# Started if needed and left running for the next run; `scripts/services.sh down` stops them.
# Assigned first, then eval'd, so a failing `up` stops this script (`eval "$(…)"` would hide it).
services_env="$(bash scripts/services.sh up)"
eval "$services_env"

echo "==> guest side: the Rust SDK and the example transforms' unit tests (native)"
cargo test --release --locked --manifest-path guest-sdk/rust/Cargo.toml --target-dir transforms/target
cargo test --release --locked --manifest-path transforms/Cargo.toml --target-dir transforms/target

echo "==> host side: runtime and connectors"
cargo test --release --locked --workspace "$@"

echo "==> monitoring API fuzzed from its own OpenAPI document (schemathesis): zero server errors"
FASTLANE_BIN=target/release/fastlane bash scripts/fuzz-api.sh
FASTLANE_BIN=target/release/fastlane bash scripts/fuzz-api.sh postgres
