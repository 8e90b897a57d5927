# Writes the tiny seeded random-weight Llama-3.2-architecture test model as an HF folder and as a llama.cpp-layout BF16 GGUF.
"""
Outputs (relative to --out, default Golden/tiny-llama32):
  model/config.json         HF LlamaForCausalLM config, same key set as the published Llama-3.2-1B config.json
  model/model.safetensors   BF16 weights, tied embeddings (no lm_head.weight)
  tiny-llama32.bf16.gguf    the same weights laid out as llama.cpp's convert_hf_to_gguf.py lays out a llama model:
                            canonical tensor names, q/k rows permuted to adjacent-pair RoPE layout, 2-D tensors BF16,
                            1-D tensors (norms) F32, llama3 rope scaling as a `rope_freqs.weight` F32 tensor.

Everything is a pure function of the constants below (numpy's legacy RandomState, whose stream is frozen), so
re-running writes byte-identical files.  Needs numpy, torch, safetensors, gguf.
"""
import argparse
import hashlib
import json
import math
import os
import sys

import numpy as np

SEED = 3_2_2024  # base seed; every tensor gets its own stream derived from (SEED, tensor name)

CONFIG = {
    "architectures": ["LlamaForCausalLM"],
    "attention_bias": False,
    "attention_dropout": 0.0,
    "bos_token_id": 1,
    "eos_token_id": 2,
    "head_dim": 16,
    "hidden_act": "silu",
    "hidden_size": 128,
    "initializer_range": 0.02,
    "intermediate_size": 384,
    "max_position_embeddings": 131072,
    "mlp_bias": False,
    "model_type": "llama",
    "num_attention_heads": 8,
    "num_hidden_layers": 4,
    "num_key_value_heads": 2,
    "pretraining_tp": 1,
    "rms_norm_eps": 1e-05,
    "rope_scaling": {
        "factor": 32.0,
        "high_freq_factor": 4.0,
        "low_freq_factor": 1.0,
        "original_max_position_embeddings": 8192,
        "rope_type": "llama3",
    },
    "rope_theta": 500000.0,
    "tie_word_embeddings": True,
    "torch_dtype": "bfloat16",
    "use_cache": True,
    "vocab_size": 1024,
}

# Weight scales (standard deviations), chosen so the residual stream keeps a steady RMS over the 4 layers,
# attention is neither uniform nor one-hot, SiLU sees both signs, block outputs outweigh the (tied) input embedding
# so that greedy decoding does not just repeat the last token, and greedy logit margins are large.
EMBED_STD = 0.5
# Projection stds are GAIN / sqrt(fan_in).  Measured on the golden prompts: residual RMS 0.5 (embeddings) ->
# 2.9, 4.1, 5.0, 5.8 after blocks 0..3; mean max attention probability ~0.6-0.7; logits std ~11.
QK_GAIN = 1.6
V_GAIN = 1.0
O_GAIN = 3.0
GATE_UP_GAIN = 1.0
DOWN_GAIN = 3.0
NORM_MEAN, NORM_STD = 1.0, 0.15
OUTPUT_NORM_MEAN, OUTPUT_NORM_STD = 2.0, 0.30  # final norm: doubles the logit scale -> larger greedy margins


def tensor_seed(name: str) -> int:
    digest = hashlib.sha256(f"{SEED}:{name}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


def f32_to_bf16_bits(x: np.ndarray) -> np.ndarray:
    """float32 -> bfloat16 bit patterns (uint16), round to nearest even (no NaN/Inf occur here)."""
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    u = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    return u.astype(np.uint16)


def bf16_bits_to_f32(b: np.ndarray) -> np.ndarray:
    return (b.astype(np.uint32) << 16).view(np.float32)


def make_weights(cfg: dict) -> dict:
    """HF tensor name -> bf16 bit patterns (uint16 ndarray, HF layout [out, in])."""
    h, inter = cfg["hidden_size"], cfg["intermediate_size"]
    hd, nh, nkv = cfg["head_dim"], cfg["num_attention_heads"], cfg["num_key_value_heads"]

    def normal(name, shape, std, mean=0.0):
        rs = np.random.RandomState(tensor_seed(name))
        return f32_to_bf16_bits((mean + std * rs.standard_normal(shape)).astype(np.float32))

    w = {"model.embed_tokens.weight": normal("model.embed_tokens.weight", (cfg["vocab_size"], h), EMBED_STD)}
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        specs = [
            ("input_layernorm.weight", (h,), NORM_STD, NORM_MEAN),
            ("self_attn.q_proj.weight", (nh * hd, h), QK_GAIN / math.sqrt(h), 0.0),
            ("self_attn.k_proj.weight", (nkv * hd, h), QK_GAIN / math.sqrt(h), 0.0),
            ("self_attn.v_proj.weight", (nkv * hd, h), V_GAIN / math.sqrt(h), 0.0),
            ("self_attn.o_proj.weight", (h, nh * hd), O_GAIN / math.sqrt(nh * hd), 0.0),
            ("post_attention_layernorm.weight", (h,), NORM_STD, NORM_MEAN),
            ("mlp.gate_proj.weight", (inter, h), GATE_UP_GAIN / math.sqrt(h), 0.0),
            ("mlp.up_proj.weight", (inter, h), GATE_UP_GAIN / math.sqrt(h), 0.0),
            ("mlp.down_proj.weight", (h, inter), DOWN_GAIN / math.sqrt(inter), 0.0),
        ]
        for suffix, shape, std, mean in specs:
            w[p + suffix] = normal(p + suffix, shape, std, mean)
    w["model.norm.weight"] = normal("model.norm.weight", (h,), OUTPUT_NORM_STD, OUTPUT_NORM_MEAN)
    return w


def write_hf(outdir: str, cfg: dict, weights: dict) -> None:
    import torch
    from safetensors.torch import save_file

    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
        f.write("\n")
    tensors = {k: torch.from_numpy(v.view(np.int16).copy()).view(torch.bfloat16) for k, v in weights.items()}
    save_file(tensors, os.path.join(outdir, "model.safetensors"), metadata={"format": "pt"})


def rope_to_adjacent_pairs(w: np.ndarray, n_head: int) -> np.ndarray:
    """Reorder the rows of a q/k projection, per head, from HF "rotate_half" pairing (i, i + d/2) to
    adjacent pairing (2i, 2i + 1): row i of a head's first half goes to 2i, row i of its second half to 2i + 1.
    This is the row order llama.cpp's converter gives q/k weights (n_head = KV head count for k)."""
    rows = w.shape[0]
    half = rows // n_head // 2
    return w.reshape(n_head, 2, half, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def llama3_rope_freqs(cfg: dict) -> np.ndarray:
    """Per-dimension-pair divisors of the RoPE frequency, as llama.cpp's converter stores them in
    `rope_freqs.weight` for rope_type llama3: 1 for short wavelengths, `factor` for long ones,
    1 / ((1 - s) / factor + s) in between (s = (old_ctx / wavelen - low) / (high - low)).
    Arithmetic is done in float32 like the converter (torch float32 tensors)."""
    import torch

    rs = cfg["rope_scaling"]
    base = cfg["rope_theta"]
    dim = cfg["head_dim"]
    factor, low, high = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"]
    # The converter reads original_max_position_embeddings from the top level of config.json, where Llama 3.x
    # configs do not have it, so it uses its default 8192 (which equals the value inside rope_scaling).
    old_ctx = cfg.get("original_max_position_embeddings", 8192)
    assert old_ctx == rs["original_max_position_embeddings"]
    freqs = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.float32) / dim))
    out = []
    for f in freqs:
        wavelen = 2 * math.pi / f
        if wavelen < old_ctx / high:
            out.append(torch.tensor(1.0))
        elif wavelen > old_ctx / low:
            out.append(torch.tensor(factor))
        else:
            s = (old_ctx / wavelen - low) / (high - low)
            out.append(1 / ((1 - s) / factor + s))
    return torch.stack([t.to(torch.float32) for t in out]).numpy()


HF_TO_GGUF = {
    "input_layernorm.weight": "attn_norm.weight",
    "self_attn.q_proj.weight": "attn_q.weight",
    "self_attn.k_proj.weight": "attn_k.weight",
    "self_attn.v_proj.weight": "attn_v.weight",
    "self_attn.o_proj.weight": "attn_output.weight",
    "post_attention_layernorm.weight": "ffn_norm.weight",
    "mlp.gate_proj.weight": "ffn_gate.weight",
    "mlp.up_proj.weight": "ffn_up.weight",
    "mlp.down_proj.weight": "ffn_down.weight",
}


def gguf_name(hf: str) -> str:
    if hf == "model.embed_tokens.weight":
        return "token_embd.weight"
    if hf == "model.norm.weight":
        return "output_norm.weight"
    parts = hf.split(".")
    assert parts[0] == "model" and parts[1] == "layers", hf
    return f"blk.{parts[2]}.{HF_TO_GGUF['.'.join(parts[3:])]}"


def write_gguf(path: str, name: str, cfg: dict, weights: dict) -> None:
    import gguf

    w = gguf.GGUFWriter(path, "llama")  # writes general.architecture = "llama"
    w.add_type("model")
    w.add_name(name)
    w.add_block_count(cfg["num_hidden_layers"])
    w.add_context_length(cfg["max_position_embeddings"])
    w.add_embedding_length(cfg["hidden_size"])
    w.add_feed_forward_length(cfg["intermediate_size"])
    w.add_head_count(cfg["num_attention_heads"])
    w.add_head_count_kv(cfg["num_key_value_heads"])
    w.add_rope_freq_base(cfg["rope_theta"])
    w.add_layer_norm_rms_eps(cfg["rms_norm_eps"])
    w.add_key_length(cfg["head_dim"])
    w.add_value_length(cfg["head_dim"])
    w.add_file_type(gguf.LlamaFileType.MOSTLY_BF16)
    w.add_vocab_size(cfg["vocab_size"])
    w.add_rope_dimension_count(cfg["head_dim"])
    # llama3 rope scaling: no rope.scaling.* keys, only the rope_freqs tensor below.
    # The model has no tokenizer; llama.cpp requires tokenizer.ggml.model and accepts "none" (vocab type NONE).
    w.add_tokenizer_model("none")
    w.add_bos_token_id(cfg["bos_token_id"])
    w.add_eos_token_id(cfg["eos_token_id"])
    w.add_quantization_version(gguf.GGML_QUANT_VERSION)

    # Tensor order as the converter produces it: the generated rope_freqs first, then the safetensors
    # tensors in the file's (name-sorted) order.
    w.add_tensor("rope_freqs.weight", llama3_rope_freqs(cfg))
    nh, nkv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    for hf in sorted(weights):
        bits = weights[hf]
        if hf.endswith("q_proj.weight"):
            bits = rope_to_adjacent_pairs(bits, nh)
        elif hf.endswith("k_proj.weight"):
            bits = rope_to_adjacent_pairs(bits, nkv)
        bits = np.ascontiguousarray(bits)
        if bits.ndim == 1:  # norms are stored as F32
            w.add_tensor(gguf_name(hf), bf16_bits_to_f32(bits))
        else:  # BF16: raw bytes, shape given in bytes as the converter does for quantized types
            w.add_tensor(gguf_name(hf), bits.view(np.uint8), raw_dtype=gguf.GGMLQuantizationType.BF16)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out", default=os.path.join(here, "..", "..", "Golden", "tiny-llama32"))
    args = ap.parse_args()
    out = os.path.normpath(args.out)

    weights = make_weights(CONFIG)
    write_hf(os.path.join(out, "model"), CONFIG, weights)
    write_gguf(os.path.join(out, "tiny-llama32.bf16.gguf"), "tiny-llama32", CONFIG, weights)

    n_params = sum(v.size for v in weights.values())
    print(f"tiny-llama32: {n_params} parameters", file=sys.stderr)
    for rel in ("model/config.json", "model/model.safetensors", "tiny-llama32.bf16.gguf"):
        p = os.path.join(out, rel)
        print(f"{sha256_file(p)}  {os.path.getsize(p):>9}  {rel}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
