#!/usr/bin/env bash
# The CPU reference beside llama.cpp's llama-bench (F32, same threads) on SmolLM2 and the Llama 3.2 1B shape. Long; not run in CI.
#
# Usage: Tools/compare-llama-cpp.sh [--threads N] [--pp N] [--tg N] [--reps N] [--rounds N] [--models smollm2,1b]
#
# Fetches the llama-cpp-python 0.3.16 sdist from PyPI (it vendors llama.cpp), builds llama-bench and llama-quantize with
# cmake (apt-get installs cmake if missing), writes F32 GGUFs (SmolLM2's Q4_1 dequantized by llama-quantize; the random
# 1B model by Tools/llama_cpp_f32_gguf.py with the Llama 3 tokenizer), builds `npu-llama` in release, then runs
# `llama-bench -t N -p PP -n TG -r REPS` and `npu-llama bench --device reference` (NPULLAMA_THREADS=N) in alternation,
# --rounds times, and prints both side by side: prefill (ppPP) and decode (tgTG) tok/s, each the best repetition of
# all rounds (other processes on a shared machine only ever slow a run down), and our ratio to llama.cpp.
# NPU_LLAMA=/path/to/npu-llama measures that binary instead of building one (e.g. a build from before a change).
# Everything lands in $NPULLAMA_CACHE/llama.cpp (default ~/.cache/npu-llama/llama.cpp). Needs Tools/setup.sh's models
# (SmolLM2, the Llama 3 tokenizer) and `python3 Tools/make-random-llama.py` for the 1B shape.
set -euo pipefail

THREADS=2 PP=512 TG=128 REPS=3 ROUNDS=3 MODELS=smollm2,1b
while [ $# -gt 0 ]; do
    case "$1" in
        --threads) THREADS=$2; shift 2 ;;
        --pp) PP=$2; shift 2 ;;
        --tg) TG=$2; shift 2 ;;
        --reps) REPS=$2; shift 2 ;;
        --rounds) ROUNDS=$2; shift 2 ;;
        --models) MODELS=$2; shift 2 ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        *) echo "unknown argument $1 (see --help)" >&2; exit 64 ;;
    esac
done

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${NPULLAMA_CACHE:-$HOME/.cache/npu-llama}
WORK=$CACHE/llama.cpp
VERSION=0.3.16
SDIST=llama_cpp_python-$VERSION.tar.gz
SDIST_SHA256=34ed0f9bd9431af045bb63d9324ae620ad0536653740e9bb163a2e1fcb973be6
SDIST_BYTES=50688636
mkdir -p "$WORK"

# 1. The sdist. `pip download --no-binary :all:` fetches it in seconds and then spends minutes installing build
#    dependencies it does not need for a download: take the archive from pip's unpack folder once it is complete.
if [ ! -f "$WORK/$SDIST" ]; then
    echo "fetching $SDIST from PyPI (pip download)…" >&2
    TMP=$(mktemp -d "$WORK/pip.XXXXXX")
    TMPDIR=$TMP pip download --no-deps --no-binary :all: "llama-cpp-python==$VERSION" -d "$TMP/out" >"$TMP/pip.log" 2>&1 &
    PIP=$!
    for _ in $(seq 600); do
        found=$(find "$TMP" -name "$SDIST" -size "${SDIST_BYTES}c" 2>/dev/null | head -1)
        if [ -n "$found" ] && [ "$(sha256sum "$found" | cut -d' ' -f1)" = "$SDIST_SHA256" ]; then
            cp "$found" "$WORK/$SDIST"; break
        fi
        sleep 1
    done
    kill "$PIP" 2>/dev/null || true
    wait "$PIP" 2>/dev/null || true
    rm -rf "$TMP"
    [ -f "$WORK/$SDIST" ] || { echo "could not fetch $SDIST (see pip's log above)" >&2; exit 69; }
fi
SRC=$WORK/llama_cpp_python-$VERSION/vendor/llama.cpp
[ -f "$SRC/CMakeLists.txt" ] || tar -xzf "$WORK/$SDIST" -C "$WORK"   # also completes an unpacking that was cut short

# 2. llama-bench and llama-quantize (CPU, native, no curl).
command -v cmake >/dev/null || { echo "installing cmake (apt)…" >&2; apt-get install -y cmake >/dev/null; }
BIN=$WORK/build/bin
if [ ! -x "$BIN/llama-bench" ] || [ ! -x "$BIN/llama-quantize" ]; then
    echo "building llama-bench (cmake, ~10 min on 2 cores)…" >&2
    cmake -S "$SRC" -B "$WORK/build" -DCMAKE_BUILD_TYPE=Release -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF \
        -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DGGML_NATIVE=ON >"$WORK/cmake.log"
    cmake --build "$WORK/build" --target llama-bench llama-quantize -j"$(nproc)" >"$WORK/build.log"
fi

# 3. The same models in F32 for llama.cpp.
SMOL=$CACHE/models/SmolLM2-135M-Instruct.Q4_1.gguf
ONEB=$CACHE/models/random-llama-3.2-1b
if [[ $MODELS == *smollm2* ]] && [ ! -f "$WORK/smollm2-f32.gguf" ]; then
    "$BIN/llama-quantize" --allow-requantize "$SMOL" "$WORK/smollm2-f32.gguf" F32 >"$WORK/quantize.log" 2>&1
fi
if [[ $MODELS == *1b* ]] && [ ! -f "$WORK/llama-1b-f32.gguf" ]; then
    [ -f "$ONEB/model.safetensors" ] || python3 "$ROOT/Tools/make-random-llama.py"
    PY=python3
    [ -x "$CACHE/venv-tools/bin/python" ] && PY=$CACHE/venv-tools/bin/python
    PYTHONPATH=$SRC/gguf-py $PY "$ROOT/Tools/llama_cpp_f32_gguf.py" "$ONEB" "$CACHE/models/llama3/tokenizer.json" "$WORK/llama-1b-f32.gguf"
fi

# 4. Ours, in release (or the binary $NPU_LLAMA names, to compare two builds).
if [ -z "${NPU_LLAMA:-}" ]; then
    (cd "$ROOT" && swift build -c release --product npu-llama >"$WORK/swift-build.log" 2>&1) || { tail -20 "$WORK/swift-build.log"; exit 70; }
    NPU_LLAMA=$ROOT/.build/release/npu-llama
fi

# 5. Both, alternating.
llama_cpp() {   # model → "pp tg" tok/s
    "$BIN/llama-bench" -m "$1" -t "$THREADS" -p "$PP" -n "$TG" -r "$REPS" -o json 2>/dev/null | python3 -c '
import json, sys
rows = json.load(sys.stdin)
pp = next(max(r["samples_ts"]) for r in rows if r["n_prompt"] > 0)
tg = next(max(r["samples_ts"]) for r in rows if r["n_gen"] > 0)
print(pp, tg)'
}
ours() {   # model → "pp tg" tok/s
    NPULLAMA_THREADS=$THREADS "$NPU_LLAMA" bench --device reference --model "$1" --prompt-tokens "$PP" --gen-tokens "$TG" \
        --repetitions "$REPS" --json --quiet | python3 -c '
import json, sys
r = json.load(sys.stdin)
print(max(r["pp_tok_s"]), max(r["tg_tok_s"]))'
}

echo "CPU reference (npu-llama bench --device reference) vs llama.cpp llama-bench $VERSION-sdist, F32, $THREADS threads, pp$PP / tg$TG,"
echo "best repetition of $ROUNDS alternating rounds of $REPS each; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
printf '%-22s %12s %12s %8s %12s %12s %8s\n' model "llama.cpp pp" "ours pp" ratio "llama.cpp tg" "ours tg" ratio
for model in ${MODELS//,/ }; do
    case $model in
        smollm2) theirs_file=$WORK/smollm2-f32.gguf ours_model=$SMOL name="SmolLM2-135M" ;;
        1b) theirs_file=$WORK/llama-1b-f32.gguf ours_model=$ONEB name="Llama-3.2-1B shape" ;;
        *) echo "unknown model $model (smollm2, 1b)" >&2; exit 64 ;;
    esac
    best=(0 0 0 0)
    for round in $(seq "$ROUNDS"); do
        read -r lp lt < <(llama_cpp "$theirs_file")
        read -r op ot < <(ours "$ours_model")
        echo "  round $round $name: llama.cpp pp $lp tg $lt | ours pp $op tg $ot" >&2
        best=($(python3 -c "import sys; a=list(map(float, sys.argv[1:5])); b=list(map(float, sys.argv[5:])); print(*[max(x, y) for x, y in zip(a, b)])" \
            "${best[@]}" "$lp" "$op" "$lt" "$ot"))
    done
    python3 -c "
import sys
lp, op, lt, ot = map(float, sys.argv[2:])
print('%-22s %12.1f %12.1f %7.2fx %12.1f %12.1f %7.2fx' % (sys.argv[1], lp, op, op / lp, lt, ot, ot / lt))" "$name" "${best[@]}"
done
