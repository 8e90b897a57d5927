#!/usr/bin/env python3
# Measures tiktoken's single-thread encode throughput on the benchmark text, for comparison with ours.
"""The benchmark text is Golden/tokenizer/corpus.json's "document_100k" (mixed English, CJK, Arabic,
emoji, code, numbers) repeated to at least 1,000,000 UTF-8 bytes: the Swift benchmark
(Tests/TokenizersTests/TokenizerBenchmark.swift) builds the same text.

Usage: /work/cache/venv-tok/bin/python Tools/tokenizer/bench_tiktoken.py [tokenizer.model]
"""

import json
import os
import sys
import time
from pathlib import Path

import tiktoken
from tiktoken.load import load_tiktoken_bpe

sys.path.insert(0, str(Path(__file__).parent))
from make_goldens import LLAMA3_PATTERN, llama3_special_tokens  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def bench_text():
    cases = json.loads((ROOT / "Golden/tokenizer/corpus.json").read_text(encoding="utf-8"))["cases"]
    doc = next(c["text"] for c in cases if c["name"] == "document_100k")
    copies = -(-1_000_000 // len(doc.encode("utf-8")))
    return doc * copies


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else os.environ.get(
        "NPULLAMA_LLAMA3_TOKENIZER", str(Path.home() / ".cache/npu-llama/models/llama3/tokenizer.model"))
    ranks = load_tiktoken_bpe(path)
    specials = {t: len(ranks) + i for i, t in enumerate(llama3_special_tokens())}
    enc = tiktoken.Encoding(name="llama3", pat_str=LLAMA3_PATTERN, mergeable_ranks=ranks, special_tokens=specials)
    text = bench_text()
    size = len(text.encode("utf-8"))
    ids = enc.encode_ordinary(text)  # warm-up
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        enc.encode_ordinary(text)
        best = min(best, time.perf_counter() - t0)
    print(f"tiktoken {tiktoken.__version__} encode_ordinary, 1 thread: {size} bytes -> {len(ids)} tokens, "
          f"best of 5 {best * 1e3:.1f} ms = {size / best / 1e6:.2f} MB/s")


if __name__ == "__main__":
    main()
