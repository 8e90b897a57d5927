#!/usr/bin/env python3
# Writes Golden/tokenizer/spm-*: SentencePiece-style and Qwen2-style tokenizer.json files and HF tokenizers' ids for them.
"""Reference: HF `tokenizers` (the version in requirements.txt) run on the committed tokenizer.json files.

SentencePiece-style BPE (Llama 2 / TinyLlama / Mistral) in the three layouts HF writes for them:

* `spm-legacy`: Llama 2's published tokenizer.json: normalizer Sequence[Prepend("▁"), Replace(" ", "▁")], no
  pre-tokenizer, merges as "left right" strings, decoder Sequence[Replace("▁", " "), ByteFallback, Fuse,
  Strip(" ", 1, 0)], TemplateProcessing post-processor adding <s>.
* `spm-metaspace`: what transformers 5's LlamaTokenizer builds (models/llama/tokenization_llama.py): no
  normalizer, Metaspace(replacement "▁", prepend_scheme "first", split false), merges as pairs, same decoder.
* `spm-metaspace-split`: Metaspace(prepend_scheme "always", split true) with a Metaspace decoder.

The vocabulary is llama.cpp's test vocabulary ggml-vocab-llama-spm.gguf (Llama 2's, from the llama-cpp-python
sdist, fetched sha256-checked by fetch_llama_cpp_assets.py) cut to its first KEEP ids (control tokens, the 256
<0xNN> byte tokens, then pieces in score order) and its single-character pieces, renumbered in order, so the
files are small enough to commit. Merges are made as
SentencePiece BPE vocabularies are converted (a merge for every split of a piece into two pieces of the
vocabulary, in the order of the merged piece's id).

`trained-qwen2-layout`: a small byte-level BPE trained here in Qwen2's tokenizer.json layout (NFC normalizer,
Split with Qwen2's regex, ByteLevel without regex; no BOS).

Usage: venv/bin/python Tools/tokenizer/make_spm_goldens.py [ggml-vocab-llama-spm.gguf]
"""

import hashlib
import json
import os
import sys
from importlib.metadata import version
from pathlib import Path

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

sys.path.insert(0, str(Path(__file__).parent))
from make_goldens import all_texts, hf_encode  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "Golden" / "tokenizer"
CACHE = Path(os.environ.get("NPULLAMA_CACHE", Path.home() / ".cache" / "npu-llama"))
KEEP = 1200
QWEN2_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                 r"|\s*[\r\n]+|\s+(?!\S)|\s+")

# Texts that exercise the SentencePiece steps (spaces, the ▁ prefix, byte fallback, special-token text).
EXTRA = {
    "leading_spaces": "   three leading spaces",
    "trailing_spaces": "trailing spaces   ",
    "double_spaces": "a  b   c    d",
    "only_space": " ",
    "newlines": "line one\nline two\n\n\nline five\r\nend\n",
    "tabs": "\tindent\t\ttabs\t",
    "metaspace_char": "▁ already ▁▁escaped▁",
    "byte_fallback_cjk": "鱻龘齉 𠜎𠜱𠝹 一丁七",
    "byte_fallback_emoji": "🦙🦙 👩‍👩‍👧‍👦 🇫🇷 ❤️",
    "special_inline": "<s>Hello</s> <s> world<unk>",
    "special_start": "<s>text",
    "special_only": "</s>",
    "space_then_special": " <s> ",
    "mixed": "Grüße, 世界! ½ × ∑ naïve café\u00a0nbsp",
    "decomposed": "e\u0301 A\u030a \u1100\u1161",
}


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def dump(name, obj):
    with open(OUT / name, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")


def read_spm_vocab(path, keep=KEEP):
    from gguf import GGUFReader
    r = GGUFReader(path)

    def field(key):
        f = r.fields[key]
        return [f.contents(i) for i in range(len(f.data))] if len(f.data) > 1 else f.contents()

    tokens = field("tokenizer.ggml.tokens")
    types = field("tokenizer.ggml.token_type")
    assert field("tokenizer.ggml.model") == "llama"
    # The first KEEP ids and every single-character piece (Llama keeps those last), renumbered in order.
    keep = [i for i, t in enumerate(tokens) if keep is None or i < keep or (types[i] == 1 and len(t) == 1)]
    return [tokens[i] for i in keep], [types[i] for i in keep]


def spm_merges(tokens, types):
    vocab = {t: i for i, t in enumerate(tokens)}
    merges = []
    for i, t in enumerate(tokens):
        if types[i] != 1:
            continue
        pairs = [(vocab[t[:k]], vocab[t[k:]]) for k in range(1, len(t)) if t[:k] in vocab and t[k:] in vocab]
        for a, b in sorted(pairs):
            if types[a] == 1 and types[b] == 1:
                merges.append((tokens[a], tokens[b]))
    return vocab, merges


def spm_tokenizer(vocab, merges, layout):
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="<unk>", fuse_unk=True, byte_fallback=True))
    strip = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(),
                               decoders.Strip(" ", 1, 0)])
    if layout == "spm-legacy":
        tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
        tok.decoder = strip
    elif layout == "spm-metaspace":
        tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=False)
        tok.decoder = strip
    else:
        tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
        tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.add_special_tokens([AddedToken(t, normalized=False, special=True) for t in ["<unk>", "<s>", "</s>"]])
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", 1)])
    return tok


def legacy_string_merges(text):
    """Rewrites the saved merges as "left right" strings (the format of Llama 2's published file)."""
    j = json.loads(text)
    j["model"]["merges"] = [f"{a} {b}" for a, b in j["model"]["merges"]]
    return json.dumps(j, ensure_ascii=False, indent=1)


def goldens(tok, texts):
    cases = {name: {"plain": hf_encode(tok, t, False), "special": hf_encode(tok, t, True)} for name, t in texts.items()}
    vocab = tok.get_vocab()
    b = lambda x: vocab[f"<0x{x:02X}>"]  # noqa: E731
    piece_ids = [[i] for i in cases["byte_fallback_emoji"]["plain"][:12]] if "byte_fallback_emoji" in cases else []
    id_lists = piece_ids + [
        [b(0xE2), b(0x82)], [b(0xE2), b(0x82), b(0xAC)], [b(0xE2), b(0x82), b(0xAC), b(0x80)], [b(0xFF), b(0xFE)],
        [b(0x20)], [b(0x20), b(0x20)], [1, 2, 0], [b(0xE2), 1, b(0x82)],
    ] if "<0x20>" in vocab else piece_ids
    for name in ["reference_sentence", "spaces_newlines", "byte_fallback_cjk", "leading_spaces", "special_inline"]:
        if name in cases:
            id_lists.append(cases[name]["special"])
    decodes = [{"ids": ids, "text": tok.decode(ids, skip_special_tokens=False)} for ids in id_lists]
    with_bos = "Hello, world! The quick brown fox"
    return {"vocabulary_size": tok.get_vocab_size(), "cases": cases, "decodes": decodes,
            "with_bos": {"text": with_bos, "ids": tok.encode(with_bos).ids}}


def qwen2_trained(texts):
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_PATTERN), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    trainer = trainers.BpeTrainer(vocab_size=1200, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(list(texts.values()) * 2, trainer=trainer)
    tok.add_special_tokens([AddedToken(s, normalized=False, special=True)
                            for s in ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]])
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    return tok


def main():
    gguf = sys.argv[1] if len(sys.argv) > 1 else str(CACHE / "llama.cpp-0.3.16/models/ggml-vocab-llama-spm.gguf")
    texts = dict(all_texts())
    texts.pop("document_100k", None)
    texts.update(EXTRA)
    tokens, types = read_spm_vocab(gguf)
    vocab, merges = spm_merges(tokens, types)
    files = {}
    for layout in ["spm-legacy", "spm-metaspace", "spm-metaspace-split"]:
        path = OUT / f"{layout}.tokenizer.json"
        text = spm_tokenizer(vocab, merges, layout).to_str(pretty=True)
        path.write_text(legacy_string_merges(text) if layout == "spm-legacy" else text, encoding="utf-8")
        tok = Tokenizer.from_file(str(path))   # goldens from the committed file itself
        dump(f"{layout}.json", goldens(tok, texts))
        files[layout] = {"file": path.name, "sha256": sha256(path)}
    qwen = qwen2_trained(dict(all_texts()))
    path = OUT / "trained-qwen2-layout.tokenizer.json"
    path.write_text(qwen.to_str(pretty=True), encoding="utf-8")
    dump("trained-qwen2-layout.json", goldens(Tokenizer.from_file(str(path)), texts))
    files["trained-qwen2-layout"] = {"file": path.name, "sha256": sha256(path)}
    manifest = {
        "generator": "Tools/tokenizer/make_spm_goldens.py",
        "tokenizers": version("tokenizers"),
        "source_vocabulary": {"file": Path(gguf).name, "sha256": sha256(gguf), "kept_ids": KEEP},
        "files": files,
        "texts": "corpus.json cases except document_100k, plus the script's EXTRA texts (stored in each golden)",
        "conventions": "plain = encode_special_tokens True, special = False; add_special_tokens False; "
                       "decodes with skip_special_tokens False; with_bos = encode with the post-processor",
    }
    (OUT / "spm-manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    json.dump({"extra": EXTRA}, open(OUT / "spm-extra-texts.json", "w", encoding="utf-8"), ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
