#!/usr/bin/env bash
# The test command: install what is missing, build the Wasm transforms the tests use, and run
# every test (release profile: one build of the heavy dependencies serves tests, demo and bench).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
bash scripts/build-transforms.sh
cargo test --release --workspace "$@"
