#!/usr/bin/env bash
# The test command: installs what the tests need, gates on the design checker (real-toolchain rules vs the committed baseline) and its unittests, then runs the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
Tools/setup.sh
# The design checker's own tests (each rule fires on a broken design), then every IRON design against the
# rules: a problem not in Tools/design_baseline.txt, or a baseline line no longer found, fails the run.
python3 -m unittest discover -s Tools/tests
python3 Tools/check_designs.py Kernels/manifest.json
exec swift test "$@"
