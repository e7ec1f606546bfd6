#!/usr/bin/env bash
# The test command: install what is missing, build the Wasm transforms the tests use, and run
# every test (release profile: one build of the heavy dependencies serves tests, demo and bench).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
bash scripts/build-transforms.sh

echo "==> guest side: the Rust SDK and the example transforms' unit tests (native)"
cargo test --release --locked --manifest-path guest-sdk/rust/Cargo.toml --target-dir transforms/target
cargo test --release --locked --manifest-path transforms/Cargo.toml --target-dir transforms/target

echo "==> host side: runtime and connectors"
cargo test --release --locked --workspace "$@"
