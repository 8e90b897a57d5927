#!/usr/bin/env bash
# The main job for a newcomer: set up, build in release, and run npu-llama with the given arguments.
set -euo pipefail
cd "$(dirname "$0")/.."
Tools/setup.sh >&2
swift build -c release --product npu-llama >&2
exec .build/release/npu-llama "$@"
