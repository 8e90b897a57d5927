#!/usr/bin/env bash
# The test command: installs what the tests need, gates on the design checker (real-toolchain rules vs the committed baseline) and its unittests, runs the server tests (npu-llama serve against real clients), then the whole Swift suite.
set -euo pipefail
cd "$(dirname "$0")/.."
Tools/setup.sh
# The design checker's own tests (each rule fires on a broken design), the kernel build against the fake toolchain
# (Tools/fake_toolchain), the xclbin reader (with a fuzz) and Tools/setup-npu.sh's dry run; then every IRON design against the
# rules: a problem not in Tools/design_baseline.txt, or a baseline line no longer found, fails the run.
python3 -m unittest discover -s Tools/tests
python3 Tools/check_designs.py Kernels/manifest.json
# `npu-llama serve` as a process on loopback against the official openai client, curl, a bounded load test,
# disconnects, bad requests and a schemathesis fuzz (Tests/serve; its pinned packages in a private venv).
Tools/serve-tests.sh -q
exec swift test "$@"
