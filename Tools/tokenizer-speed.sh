#!/usr/bin/env bash
# Encode throughput of each tokenizer kind, ours (release build) beside HF tokenizers and tiktoken, in one run.
# The text is `npu-llama bench --encode`'s: Golden/tokenizer/corpus.json's document_100k repeated to ~1 MB.
# Ours: `npu-llama bench --encode --tokenizer FILE --repetitions 5` (best of 5, one thread, CPU).
# Reference: Tools/tokenizer/bench_reference.py in the private venv (best of 5, one thread), which also writes the
# full-vocabulary tokenizer.json files of llama.cpp's llama-spm and qwen2 test vocabularies into $CACHE/bench/.
# Needs Tools/setup.sh's cache (Llama 3 tokenizer.model/tokenizer.json, llama.cpp's test vocabularies).
# Usage: Tools/tokenizer-speed.sh
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE="${NPULLAMA_CACHE:-$HOME/.cache/npu-llama}"
VENV="$CACHE/venv-tools"
VOCABS="$CACHE/llama.cpp-0.3.16/models"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check -r Tools/tokenizer/requirements.txt
swift build -c release --product npu-llama >&2
BIN="$(swift build -c release --show-bin-path)/npu-llama"
RESULTS="$(mktemp)"
trap 'rm -f "$RESULTS"' EXIT

echo "reference libraries ..." >&2
NPULLAMA_CACHE="$CACHE" "$VENV/bin/python" Tools/tokenizer/bench_reference.py | sed 's/^/ref /' >> "$RESULTS"

ours() {   # name, file
  if [ -f "$2" ]; then
    echo "ours: $1 $2 ..." >&2
    printf 'ours %s ' "$1" >> "$RESULTS"
    "$BIN" bench --encode --tokenizer "$2" --repetitions 5 --json >> "$RESULTS"
  fi
}
ours llama3 "$CACHE/models/llama3/tokenizer.model"
ours llama3 "$CACHE/models/llama3/tokenizer.json"
ours llama-spm "$CACHE/bench/llama-spm.tokenizer.json"
ours llama-spm "$VOCABS/ggml-vocab-llama-spm.gguf"
ours qwen2 "$CACHE/bench/qwen2.tokenizer.json"
ours qwen2 "$VOCABS/ggml-vocab-qwen2.gguf"

"$VENV/bin/python" - "$RESULTS" <<'PY'
import json, sys
ref, ours = {}, []
for line in open(sys.argv[1], encoding="utf-8"):
    side, rest = line.split(" ", 1)
    if side == "ref":
        r = json.loads(rest)
        if "skipped" not in r:
            ref.setdefault(r["name"], []).append(r)
    else:
        name, record = rest.split(" ", 1)
        ours.append((name, json.loads(record)))
print("Encode throughput, CPU, one thread, best of 5, on %s bytes (labelled: measured on this machine, shared cores)"
      % (ours[0][1]["bytes"] if ours else "?"))
print(f"{'vocabulary':10} {'ours: file → kind':64} {'MB/s':>6} {'tokens':>7} | {'reference':18} {'MB/s':>6} {'tokens':>7} | ours/ref | ids")
for name, o in ours:
    f = o["model"]
    # tiktoken is the reference for the tiktoken file; HF tokenizers for everything else.
    want = "tiktoken" if f.endswith(".model") else "tokenizers"
    r = next((x for x in ref.get(name, []) if x["library"].startswith(want)), None)
    kind = o["tokenizer_kind"].split(" (")[0] + (" [GGUF, llama.cpp rules]" if f.endswith(".gguf") else "")
    label = (f.split("/")[-1] + " → " + kind)[:64]
    if r:
        print(f"{name:10} {label:64} {o['encode_mb_s']:6.2f} {o['tokens']:7d} | {r['library']:18} {r['encode_mb_s']:6.2f} "
              f"{r['tokens']:7d} | {o['encode_mb_s'] / r['encode_mb_s']:7.2f}× | "
              f"{'identical' if o['ids_fnv1a64'] == r['ids_fnv1a64'] else 'differ (other rules)' if f.endswith('.gguf') else 'DIFFER'}")
    else:
        print(f"{name:10} {label:64} {o['encode_mb_s']:6.2f} {o['tokens']:7d} | (no reference)")
PY
