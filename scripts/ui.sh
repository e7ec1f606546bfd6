#!/usr/bin/env bash
# The web UI's source lives in api/ui (TypeScript, Preact, uPlot); its build, api/ui/dist, is
# committed and embedded in the fastlane binary, so building fastlane needs no Node.
#
#   scripts/ui.sh build   install the UI's packages, type-check and build api/ui/dist
#   scripts/ui.sh check   build, then fail if api/ui/dist differs from what is committed
#   scripts/ui.sh test    the browser tests (Playwright driving Debian's chromium) against
#                         target/release/fastlane (FASTLANE_BIN overrides)
#   scripts/ui.sh bench   render times with 1,000 pipelines / 10,000 runs and a run with
#                         100,000 metric samples (bench/RESULTS.md)
#
# Installs what is missing first: Node.js 20+ and npm, Debian's chromium, the pinned packages
# (npm ci, from api/ui/package-lock.json).
set -euo pipefail
cd "$(dirname "$0")/.."
ui=api/ui

apt_install() {
  if [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null
  else
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null
  fi
}

install_node() {
  local major=0
  if command -v node >/dev/null 2>&1; then
    major=$(node -p 'process.versions.node.split(".")[0]')
  fi
  if [ "$major" -lt 20 ] || ! command -v npm >/dev/null 2>&1; then
    echo "==> installing Node.js and npm (Debian packages)"
    apt_install nodejs npm
    major=$(node -p 'process.versions.node.split(".")[0]')
    if [ "$major" -lt 20 ]; then
      echo "error: the UI needs Node.js 20 or later; this machine has $(node --version)" >&2
      exit 1
    fi
  fi
  if [ ! -d "$ui/node_modules" ] || [ "$ui/package-lock.json" -nt "$ui/node_modules/.package-lock.json" ]; then
    echo "==> installing the UI's packages (npm ci)"
    (cd "$ui" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

install_chromium() {
  if [ -n "${CHROMIUM_BIN:-}" ]; then
    return
  fi
  if ! [ -x /usr/bin/chromium ]; then
    echo "==> installing Debian's chromium (the UI tests' browser)"
    apt_install chromium
  fi
}

build() {
  install_node
  echo "==> web UI: type-check and build ($ui/dist)"
  (cd "$ui" && npm run --silent check && npm run --silent build)
}

case "${1:-}" in
  build)
    build
    ;;
  check)
    build
    if ! git diff --quiet -- "$ui/dist" || [ -n "$(git ls-files --others --exclude-standard -- "$ui/dist")" ]; then
      git status --short -- "$ui/dist" >&2
      echo "error: $ui/dist is not the build of $ui/src: run scripts/ui.sh build and commit $ui/dist" >&2
      exit 1
    fi
    echo "==> $ui/dist matches its source"
    ;;
  test)
    install_node
    install_chromium
    echo "==> web UI in headless chromium (Playwright): $ui/tests; screenshots in target/ui-screenshots"
    (cd "$ui" && FASTLANE_BIN="${FASTLANE_BIN:-$PWD/../../target/release/fastlane}" node --test --test-concurrency=1 tests/)
    ;;
  bench)
    install_node
    install_chromium
    (cd "$ui" && FASTLANE_BIN="${FASTLANE_BIN:-$PWD/../../target/release/fastlane}" node tests/perf.mjs)
    ;;
  *)
    echo "usage: scripts/ui.sh build|check|test|bench" >&2
    exit 2
    ;;
esac
