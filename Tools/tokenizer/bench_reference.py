#!/usr/bin/env python3
# Encode throughput of the reference libraries (HF tokenizers, tiktoken) on the benchmark text, one JSON line per tokenizer.
"""Also writes the full-vocabulary tokenizer.json files our side is measured on, into $NPULLAMA_CACHE/bench/:

* llama-spm.tokenizer.json: llama.cpp's test vocabulary ggml-vocab-llama-spm.gguf (Llama 2's 32000 pieces) in the
  layout transformers 5's LlamaTokenizer builds (Metaspace "first", byte fallback), merges as make_spm_goldens.py
  makes them;
* qwen2.tokenizer.json: ggml-vocab-qwen2.gguf (Qwen2's 151k tokens and merges) in Qwen2's layout (NFC, Split with
  Qwen2's regex, ByteLevel), its control tokens added as special tokens.

The text is bench_tiktoken.py's (corpus.json's document_100k repeated to >= 1,000,000 bytes). Each library encodes
the whole text once to warm up, then the best of 5 one-thread runs is reported (TOKENIZERS_PARALLELISM=false;
`Tokenizer.encode` of one string runs on one thread).

Usage: venv/bin/python Tools/tokenizer/bench_reference.py   (Tools/tokenizer-speed.sh runs it)
"""

import json
import os
import sys
import time
from importlib.metadata import version
from pathlib import Path

os.environ["TOKENIZERS_PARALLELISM"] = "false"
os.environ["RAYON_NUM_THREADS"] = "1"

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from bench_tiktoken import bench_text  # noqa: E402
from make_goldens import LLAMA3_PATTERN, llama3_special_tokens, read_gguf_tokenizer  # noqa: E402
from make_spm_goldens import QWEN2_PATTERN, read_spm_vocab, spm_merges, spm_tokenizer  # noqa: E402

CACHE = Path(os.environ.get("NPULLAMA_CACHE", Path.home() / ".cache" / "npu-llama"))
VOCABS = CACHE / "llama.cpp-0.3.16" / "models"
OUT = CACHE / "bench"


def write_llama_spm():
    path = OUT / "llama-spm.tokenizer.json"
    if not path.exists():
        tokens, types = read_spm_vocab(str(VOCABS / "ggml-vocab-llama-spm.gguf"), keep=None)
        vocab, merges = spm_merges(tokens, types)
        spm_tokenizer(vocab, merges, "spm-metaspace").save(str(path))
    return path


def write_qwen2():
    path = OUT / "qwen2.tokenizer.json"
    if not path.exists():
        meta = read_gguf_tokenizer(VOCABS / "ggml-vocab-qwen2.gguf")
        tokens = meta["tokenizer.ggml.tokens"]
        types = meta["tokenizer.ggml.token_type"]
        normal = {t: i for i, t in enumerate(tokens) if types[i] == 1}
        merges = [tuple(m.split(" ", 1)) for m in meta["tokenizer.ggml.merges"]]
        tok = Tokenizer(models.BPE(normal, merges))
        tok.normalizer = normalizers.NFC()
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(QWEN2_PATTERN), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)])
        tok.decoder = decoders.ByteLevel()
        tok.add_special_tokens([AddedToken(t, normalized=False, special=True)
                                for t, ty in zip(tokens, types) if ty == 3])
        tok.save(str(path))
    return path


def best_of(fn, runs=5):
    fn()
    best = float("inf")
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def fnv1a64(ids):
    """FNV-1a 64 of the ids as decimal numbers joined by spaces (as `npu-llama bench --encode --json` prints it)."""
    h = 0xCBF29CE484222325
    for b in " ".join(map(str, ids)).encode():
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return format(h, "x")


def report(name, library, path, text, ids, seconds):
    size = len(text.encode("utf-8"))
    print(json.dumps({"name": name, "library": library, "file": str(path), "bytes": size, "tokens": len(ids),
                      "ids_fnv1a64": fnv1a64(ids),
                      "best_seconds": seconds, "encode_mb_s": size / seconds / 1e6}), flush=True)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    text = bench_text()
    jobs = [("llama3", CACHE / "models" / "llama3" / "tokenizer.json"), ("llama-spm", write_llama_spm()),
            ("qwen2", write_qwen2())]
    for name, path in jobs:
        if not path.exists():
            print(json.dumps({"name": name, "skipped": f"{path} is absent"}), flush=True)
            continue
        tok = Tokenizer.from_file(str(path))
        tok.encode_special_tokens = True   # special-token text stays text, as `npu-llama bench --encode` encodes
        enc = lambda: tok.encode(text, add_special_tokens=False).ids  # noqa: E731
        report(name, f"tokenizers {version('tokenizers')}", path, text, enc(), best_of(enc))
    model = CACHE / "models" / "llama3" / "tokenizer.model"
    if model.exists():
        import tiktoken
        from tiktoken.load import load_tiktoken_bpe
        ranks = load_tiktoken_bpe(str(model))
        specials = {t: len(ranks) + i for i, t in enumerate(llama3_special_tokens())}
        enc = tiktoken.Encoding(name="llama3", pat_str=LLAMA3_PATTERN, mergeable_ranks=ranks, special_tokens=specials)
        run = lambda: enc.encode_ordinary(text)  # noqa: E731
        report("llama3", f"tiktoken {tiktoken.__version__}", model, text, run(), best_of(run))


if __name__ == "__main__":
    main()
