#!/usr/bin/env bash
# The server tests: the real `npu-llama serve` on loopback against the official openai client, curl, a bounded load
# test, disconnects, bad requests and a schemathesis fuzz of /openapi.json (Tests/serve, pytest). Installs their
# pinned Python packages into $NPULLAMA_CACHE/venv-serve first. Arguments go to pytest (e.g. `-k load -s` prints
# the load test's figures).
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE="${NPULLAMA_CACHE:-$HOME/.cache/npu-llama}"
VENV="$CACHE/venv-serve"
REQUIREMENTS=Tests/serve/requirements.txt
if ! cmp -s "$REQUIREMENTS" "$VENV/requirements.txt" 2>/dev/null; then
  echo "serve-tests: installing the pinned test packages into $VENV (pip, PyPI)"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQUIREMENTS"
  cp "$REQUIREMENTS" "$VENV/requirements.txt"
fi
command -v curl >/dev/null 2>&1 || { echo "serve-tests: error: curl is needed (apt-get install curl)" >&2; exit 1; }
swift build --product npu-llama
export NPULLAMA_BIN="${NPULLAMA_BIN:-$(swift build --show-bin-path)/npu-llama}"
exec "$VENV/bin/python" -m pytest Tests/serve -p no:cacheprovider "$@"
