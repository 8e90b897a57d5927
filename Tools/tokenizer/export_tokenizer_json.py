#!/usr/bin/env python3
# Writes HF tokenizer.json files beside the cached models, converted by the reference libraries, for the tokenizer.json tests.
"""Llama 3: transformers' TikTokenConverter of tokenizer.model -> models/llama3/tokenizer.json.
SmolLM2: a `tokenizers` BPE built from the GGUF's tokens/merges with the smollm pre-tokenizer
-> models/SmolLM2-135M-Instruct.Q4_1.tokenizer.json. Same conversions as make_goldens.py."""
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_goldens as mg  # noqa: E402


def main():
    llama3 = Path(os.environ.get("NPULLAMA_LLAMA3_TOKENIZER", mg.MODELS / "llama3" / "tokenizer.model"))
    smollm2 = Path(os.environ.get("NPULLAMA_SMOLLM2_GGUF", mg.MODELS / "SmolLM2-135M-Instruct.Q4_1.gguf"))
    from tiktoken.load import load_tiktoken_bpe
    ranks = load_tiktoken_bpe(str(llama3))
    specials = {t: len(ranks) + i for i, t in enumerate(mg.llama3_special_tokens())}
    mg.llama3_tokenizer_json(ranks, specials, llama3.parent / "tokenizer.json")
    print(f"export-tokenizer-json: wrote {llama3.parent / 'tokenizer.json'}")
    mg.smollm2_reference(mg.read_gguf_tokenizer(smollm2)).save(str(smollm2.with_suffix(".tokenizer.json")))
    print(f"export-tokenizer-json: wrote {smollm2.with_suffix('.tokenizer.json')}")


if __name__ == "__main__":
    main()
