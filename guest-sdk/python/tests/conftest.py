"""Puts the SDK (and the bundled flatbuffers, when the toolchain is installed) on sys.path."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SDK = os.path.dirname(HERE)
sys.path.insert(0, SDK)
_deps = os.path.join(os.environ.get("FASTLANE_TOOLCHAINS_DIR")
                     or os.path.expanduser("~/.cache/fastlane/toolchains"), "python", "deps")
if os.path.isdir(_deps):
    sys.path.insert(1, _deps)
