# Checks that Golden/tiny-llama32's GGUF holds the same model as its HF folder (weights, q/k permutation, rope_freqs, metadata, logits).
"""
Usage: python Tools/golden/check_gguf_vs_hf.py        (exit status 0 = all checks passed)

1. metadata: the GGUF's llama.* keys agree with model/config.json.
2. weights: transformers' own GGUF loader (which un-permutes q/k) yields exactly the HF folder's fp32 weights.
3. logits through transformers: the GGUF weights with the HF config give bit-identical logits to the HF folder.
   (transformers' GGUF loader ignores `rope_freqs.weight` and sets no rope_scaling for arch llama, so the
   config it derives from the GGUF alone gives different logits; that difference is reported, not failed.)
4. rope_freqs: HF's llama3 inverse frequencies == default inverse frequencies / rope_freqs (to float32 rounding).
5. llama.cpp semantics, independent of transformers: a float64 numpy forward pass that reads the GGUF directly
   and applies RoPE to adjacent pairs (2i, 2i+1) with theta_i = pos * base^(-2i/d) / rope_freqs[i]
   reproduces the fp32 HF logits of every prompt in Golden/tiny-llama32/manifest.json.
"""
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
TINY = os.path.normpath(os.path.join(HERE, "..", "..", "Golden", "tiny-llama32"))
GGUF_NAME = "tiny-llama32.bf16.gguf"

failures = []


def check(ok: bool, what: str) -> None:
    print(f"{'ok  ' if ok else 'FAIL'} {what}")
    if not ok:
        failures.append(what)


def gguf_tensors(path: str) -> tuple[dict, dict]:
    """name -> float64 array in row-major [rows, cols] (ggml ne reversed); plus metadata fields."""
    import gguf

    r = gguf.GGUFReader(path)
    meta = {k: f.contents() for k, f in r.fields.items() if not k.startswith("GGUF.")}
    out = {}
    for t in r.tensors:
        a = gguf.dequantize(t.data, t.tensor_type)
        shape = tuple(int(x) for x in reversed(t.shape.tolist()))
        out[t.name] = np.asarray(a, dtype=np.float64).reshape(shape)
    return out, meta


def numpy_forward_llamacpp(w: dict, meta: dict, ids: list[int]) -> np.ndarray:
    """Float64 Llama forward pass with llama.cpp conventions (adjacent-pair RoPE, rope_freqs divisors)."""
    a = "llama."
    n_layer, n_head, n_kv = meta[a + "block_count"], meta[a + "attention.head_count"], meta[a + "attention.head_count_kv"]
    d = meta[a + "rope.dimension_count"]
    eps, base = meta[a + "attention.layer_norm_rms_epsilon"], meta[a + "rope.freq_base"]
    freqs = w["rope_freqs.weight"]
    seq = len(ids)
    pos = np.arange(seq, dtype=np.float64)[:, None]
    theta = pos * (base ** (-np.arange(0, d, 2, dtype=np.float64) / d))[None, :] / freqs[None, :]  # (seq, d/2)
    cos, sin = np.cos(theta), np.sin(theta)

    def rms(x, g):
        return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * g

    def rope(x):  # x: (seq, heads, d); rotate pairs (2i, 2i+1)
        x0, x1 = x[..., 0::2], x[..., 1::2]
        c, s = cos[:, None, :], sin[:, None, :]
        y = np.empty_like(x)
        y[..., 0::2] = x0 * c - x1 * s
        y[..., 1::2] = x0 * s + x1 * c
        return y

    h = w["token_embd.weight"][ids]
    mask = np.triu(np.full((seq, seq), -np.inf), 1)
    for L in range(n_layer):
        p = f"blk.{L}."
        x = rms(h, w[p + "attn_norm.weight"])
        q = rope((x @ w[p + "attn_q.weight"].T).reshape(seq, n_head, d))
        k = rope((x @ w[p + "attn_k.weight"].T).reshape(seq, n_kv, d))
        v = (x @ w[p + "attn_v.weight"].T).reshape(seq, n_kv, d)
        outs = []
        for hh in range(n_head):
            kv = hh // (n_head // n_kv)
            s = q[:, hh] @ k[:, kv].T / np.sqrt(d) + mask
            s = np.exp(s - s.max(-1, keepdims=True))
            s /= s.sum(-1, keepdims=True)
            outs.append(s @ v[:, kv])
        h = h + np.concatenate(outs, axis=1) @ w[p + "attn_output.weight"].T
        x = rms(h, w[p + "ffn_norm.weight"])
        g, u = x @ w[p + "ffn_gate.weight"].T, x @ w[p + "ffn_up.weight"].T
        h = h + (g / (1 + np.exp(-g)) * u) @ w[p + "ffn_down.weight"].T
    return rms(h, w["output_norm.weight"]) @ w["token_embd.weight"].T


def main() -> int:
    from transformers import AutoConfig, AutoModelForCausalLM

    torch.set_num_threads(1)
    folder = os.path.join(TINY, "model")
    with open(os.path.join(folder, "config.json")) as f:
        cfg = json.load(f)
    with open(os.path.join(TINY, "manifest.json")) as f:
        manifest = json.load(f)

    # 1. metadata
    w, meta = gguf_tensors(os.path.join(TINY, GGUF_NAME))
    expect = {
        "general.architecture": "llama",
        "llama.block_count": cfg["num_hidden_layers"],
        "llama.context_length": cfg["max_position_embeddings"],
        "llama.embedding_length": cfg["hidden_size"],
        "llama.feed_forward_length": cfg["intermediate_size"],
        "llama.attention.head_count": cfg["num_attention_heads"],
        "llama.attention.head_count_kv": cfg["num_key_value_heads"],
        "llama.attention.key_length": cfg["head_dim"],
        "llama.attention.value_length": cfg["head_dim"],
        "llama.rope.dimension_count": cfg["head_dim"],
        "llama.rope.freq_base": cfg["rope_theta"],
        "llama.vocab_size": cfg["vocab_size"],
        "general.file_type": 32,  # LlamaFileType.MOSTLY_BF16
    }
    for k, v in expect.items():
        check(meta.get(k) == v, f"metadata {k} = {meta.get(k)!r} (config.json: {v!r})")
    check(abs(meta["llama.attention.layer_norm_rms_epsilon"] - cfg["rms_norm_eps"]) < 1e-12,
          f"metadata llama.attention.layer_norm_rms_epsilon = {meta['llama.attention.layer_norm_rms_epsilon']!r}")
    check("output.weight" not in w, "no output.weight tensor (tied embeddings)")
    check(not any(k.startswith("llama.rope.scaling") for k in meta), "no llama.rope.scaling.* keys (llama3 scaling is rope_freqs)")

    # 2. weights via transformers' GGUF loader
    kw = {"dtype": torch.float32, "attn_implementation": "eager"}
    hf = AutoModelForCausalLM.from_pretrained(folder, **kw).eval()
    gg = AutoModelForCausalLM.from_pretrained(TINY, gguf_file=GGUF_NAME, **kw).eval()
    sd_hf, sd_gg = hf.state_dict(), gg.state_dict()
    check(sorted(sd_hf) == sorted(sd_gg), "same parameter names")
    same = [n for n in sd_hf if n in sd_gg and torch.equal(sd_hf[n], sd_gg[n])]
    check(len(same) == len(sd_hf), f"{len(same)}/{len(sd_hf)} parameters bit-identical (q/k un-permuted by transformers)")
    gg_rope = dict(getattr(gg.config, "rope_parameters", None) or {})
    print(f"     transformers' config from the GGUF alone: rope_parameters = {gg_rope}")

    # 3. logits through transformers
    hf_cfg = AutoConfig.from_pretrained(folder)
    gg_fixed = AutoModelForCausalLM.from_pretrained(TINY, gguf_file=GGUF_NAME, config=hf_cfg, **kw).eval()
    with torch.no_grad():
        for case in manifest["cases"]:
            ids = torch.tensor([case["prompt_ids"] + case["greedy_ids"]])
            a = hf(input_ids=ids).logits
            b = gg_fixed(input_ids=ids).logits
            c = gg(input_ids=ids).logits
            check(torch.equal(a, b), f"{case['name']}: GGUF weights + HF config: logits bit-identical to HF folder "
                                     f"({ids.shape[1]} positions)")
            print(f"     {case['name']}: GGUF with transformers' derived config (no llama3 scaling): "
                  f"max |logit diff| = {float((a - c).abs().max()):.4g}")

    # 4. rope_freqs vs HF's llama3 inverse frequencies
    d, base = cfg["head_dim"], cfg["rope_theta"]
    inv_default = 1.0 / (base ** (torch.arange(0, d, 2, dtype=torch.int64).to(torch.float32) / d))
    inv_hf = hf.model.rotary_emb.inv_freq.to(torch.float32)
    ratio = (inv_default / inv_hf).numpy()
    rel = np.abs(ratio / w["rope_freqs.weight"] - 1).max()
    check(rel < 1e-6, f"rope_freqs {np.round(w['rope_freqs.weight'], 6).tolist()} == HF default/llama3 inv_freq "
                      f"(max rel diff {rel:.2g})")

    # 5. independent float64 forward pass with llama.cpp semantics, against the HF fp32 goldens
    for case in manifest["cases"]:
        ref = np.load(os.path.join(TINY, case["tensors"]["result_output"]["file"]))
        got = numpy_forward_llamacpp(w, meta, case["prompt_ids"])
        err = np.abs(got - ref).max()
        scale = np.abs(ref).max()
        check(err < 1e-3 and (got.argmax(1) == ref.argmax(1)).all(),
              f"{case['name']}: numpy llama.cpp-semantics forward from the GGUF vs HF fp32 logits: "
              f"max abs diff {err:.3g} (logits up to {scale:.3g}), argmax equal")

    print("all checks passed" if not failures else f"{len(failures)} check(s) FAILED")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
