#!/usr/bin/env bash
# Runs the Python SDK's native unit tests (codec vs pyarrow, API, the filter/mask examples) on
# the host's CPython. Installs the toolchain if needed and a test venv with pinned pyarrow and
# pytest under $FASTLANE_TOOLCHAINS_DIR/python/test-venv. Extra arguments go to pytest.
set -euo pipefail

PYARROW_VERSION=26.0.1
PYTEST_VERSION=9.2.0

sdk_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="${FASTLANE_TOOLCHAINS_DIR:-$HOME/.cache/fastlane/toolchains}/python"
venv="$root/test-venv"
want="pyarrow==$PYARROW_VERSION pytest==$PYTEST_VERSION"

bash "$sdk_dir/toolchain.sh"
if [[ ! -x "$venv/bin/python" || "$(cat "$venv/.installed" 2>/dev/null)" != "$want" ]]; then
    echo "fastlane python tests: installing $want into $venv" >&2
    rm -rf "$venv"
    "$root/venv/bin/python" -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check $want >&2
    echo "$want" > "$venv/.installed"
fi
cd "$sdk_dir"
PYTHONDONTWRITEBYTECODE=1 exec "$venv/bin/python" -m pytest -q -p no:cacheprovider tests "$@"
