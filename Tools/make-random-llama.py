#!/usr/bin/env python3
# Writes a seeded random-weight model with the exact shapes of a published Llama-architecture model (HF folder, BF16 safetensors) for benchmarks; numpy only.
"""
Usage: python3 Tools/make-random-llama.py [OUT_DIR] [--preset NAME] [--seed N] [--force] [--config-only]
  NAME: llama-3.2-1b (default), llama-3.2-3b, llama-3.1-8b, tinyllama-1.1b, qwen2.5-0.5b, qwen3-0.6b (issue 17)
  OUT_DIR defaults to ${NPULLAMA_CACHE:-$HOME/.cache/npu-llama}/models/random-<NAME>

Writes OUT_DIR/config.json (the keys and values of the published config.json of that model, less
transformers_version) and OUT_DIR/model.safetensors (all tensors BF16; a tied model has no lm_head.weight,
an untied one does). Sizes: 1B ~2.47 GB, 3B ~6.43 GB, 8B ~16.06 GB, TinyLlama ~2.20 GB, Qwen2.5-0.5B ~0.99 GB,
Qwen3-0.6B ~1.19 GB (Qwen2: q/k/v biases; Qwen3: q_norm/k_norm, as Tools/golden/make_tiny_qwen.py names them).
The safetensors file is written by hand (8-byte little-endian header length, JSON header padded with spaces
to a multiple of 8, then the tensor data in header order), one tensor and one chunk of rows at a time, so
memory stays around 100 MB.  BF16 = top 16 bits of float32 with round-to-nearest-even.
The weights are random (not a trained model): good for speed and memory measurements, useless for text.
Output is never committed.  An existing complete output is left alone unless --force is given.
"""
import argparse
import json
import math
import os
import sys

import numpy as np

CONFIG = {
    "architectures": ["LlamaForCausalLM"],
    "attention_bias": False,
    "attention_dropout": 0.0,
    "bos_token_id": 128000,
    "eos_token_id": 128001,
    "head_dim": 64,
    "hidden_act": "silu",
    "hidden_size": 2048,
    "initializer_range": 0.02,
    "intermediate_size": 8192,
    "max_position_embeddings": 131072,
    "mlp_bias": False,
    "model_type": "llama",
    "num_attention_heads": 32,
    "num_hidden_layers": 16,
    "num_key_value_heads": 8,
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
    "vocab_size": 128256,
}

# The published config.json of each preset (Hugging Face model repositories, file config.json; the values as
# published, transformers_version left out). CONFIG above is meta-llama/Llama-3.2-1B's.
PRESETS = {
    "llama-3.2-1b": CONFIG,
    # meta-llama/Llama-3.2-3B config.json: 28 layers, hidden 3072, 24 / 8 heads of 128, tied, llama3 rope factor 32
    "llama-3.2-3b": dict(CONFIG, head_dim=128, hidden_size=3072, intermediate_size=8192, num_attention_heads=24,
                         num_hidden_layers=28, num_key_value_heads=8),
    # meta-llama/Llama-3.1-8B config.json: 32 layers, hidden 4096, 32 / 8 heads (no head_dim key: 4096 / 32 = 128),
    # intermediate 14336, UNTIED lm_head, llama3 rope factor 8
    "llama-3.1-8b": {
        "architectures": ["LlamaForCausalLM"],
        "attention_bias": False,
        "attention_dropout": 0.0,
        "bos_token_id": 128000,
        "eos_token_id": 128001,
        "hidden_act": "silu",
        "hidden_size": 4096,
        "initializer_range": 0.02,
        "intermediate_size": 14336,
        "max_position_embeddings": 131072,
        "mlp_bias": False,
        "model_type": "llama",
        "num_attention_heads": 32,
        "num_hidden_layers": 32,
        "num_key_value_heads": 8,
        "pretraining_tp": 1,
        "rms_norm_eps": 1e-05,
        "rope_scaling": {
            "factor": 8.0,
            "high_freq_factor": 4.0,
            "low_freq_factor": 1.0,
            "original_max_position_embeddings": 8192,
            "rope_type": "llama3",
        },
        "rope_theta": 500000.0,
        "tie_word_embeddings": False,
        "torch_dtype": "bfloat16",
        "use_cache": True,
        "vocab_size": 128256,
    },
    # TinyLlama/TinyLlama-1.1B-Chat-v1.0 config.json: 22 layers, hidden 2048, 32 / 4 heads (head_dim 64),
    # intermediate 5632, vocab 32000 (SentencePiece), rope_theta 10000 without scaling, untied, 2048 positions
    "tinyllama-1.1b": {
        "architectures": ["LlamaForCausalLM"],
        "attention_bias": False,
        "bos_token_id": 1,
        "eos_token_id": 2,
        "hidden_act": "silu",
        "hidden_size": 2048,
        "initializer_range": 0.02,
        "intermediate_size": 5632,
        "max_position_embeddings": 2048,
        "model_type": "llama",
        "num_attention_heads": 32,
        "num_hidden_layers": 22,
        "num_key_value_heads": 4,
        "pretraining_tp": 1,
        "rms_norm_eps": 1e-05,
        "rope_scaling": None,
        "rope_theta": 10000.0,
        "tie_word_embeddings": False,
        "torch_dtype": "bfloat16",
        "use_cache": True,
        "vocab_size": 32000,
    },
    # Qwen/Qwen2.5-0.5B config.json (issue 17, task F): 24 layers, hidden 896, 14 / 2 heads (no head_dim key:
    # 896 / 14 = 64, GQA 7:1), intermediate 4864, q/k/v biases (Qwen2 always has them), tied, rope_theta 1e6, eps 1e-6,
    # vocab 151936; sliding_window is set but use_sliding_window false (full causal attention everywhere)
    "qwen2.5-0.5b": {
        "architectures": ["Qwen2ForCausalLM"],
        "attention_dropout": 0.0,
        "bos_token_id": 151643,
        "eos_token_id": 151643,
        "hidden_act": "silu",
        "hidden_size": 896,
        "initializer_range": 0.02,
        "intermediate_size": 4864,
        "max_position_embeddings": 32768,
        "max_window_layers": 24,
        "model_type": "qwen2",
        "num_attention_heads": 14,
        "num_hidden_layers": 24,
        "num_key_value_heads": 2,
        "rms_norm_eps": 1e-06,
        "rope_theta": 1000000.0,
        "sliding_window": 32768,
        "tie_word_embeddings": True,
        "torch_dtype": "bfloat16",
        "use_cache": True,
        "use_mrope": False,
        "use_sliding_window": False,
        "vocab_size": 151936,
    },
    # Qwen/Qwen3-0.6B config.json: 28 layers, hidden 1024, 16 / 8 heads of head_dim 128 (16 * 128 = 2048 != 1024),
    # intermediate 3072, per-head q_norm / k_norm, no biases, tied, rope_theta 1e6, eps 1e-6, vocab 151936
    "qwen3-0.6b": {
        "architectures": ["Qwen3ForCausalLM"],
        "attention_bias": False,
        "attention_dropout": 0.0,
        "bos_token_id": 151643,
        "eos_token_id": 151645,
        "head_dim": 128,
        "hidden_act": "silu",
        "hidden_size": 1024,
        "initializer_range": 0.02,
        "intermediate_size": 3072,
        "max_position_embeddings": 40960,
        "max_window_layers": 28,
        "model_type": "qwen3",
        "num_attention_heads": 16,
        "num_hidden_layers": 28,
        "num_key_value_heads": 8,
        "rms_norm_eps": 1e-06,
        "rope_scaling": None,
        "rope_theta": 1000000,
        "sliding_window": None,
        "tie_word_embeddings": True,
        "torch_dtype": "bfloat16",
        "use_cache": True,
        "use_sliding_window": False,
        "vocab_size": 151936,
    },
}

# The family tensors, named as Tools/golden/make_tiny_qwen.py (and HF Qwen2/Qwen3) name them: Qwen2's q/k/v biases
# (std as the tiny goldens': q/k 0.25, v 0.1 — a large v bias is one constant vector added to every attention output),
# Qwen3's per-head q_norm / k_norm weights (mean 1, std as the other norms)
BIAS_STD, V_BIAS_STD = 0.25, 0.1

CHUNK_ELEMS = 16 * 1024 * 1024  # float32 elements generated at a time (64 MB)


def tensor_specs(cfg: dict, out_std: float = 0.5) -> list:
    """(name, shape, std, mean) for every tensor, in the name-sorted order safetensors files use. out_std: the
    embedding's and an untied lm_head's std (the 1B preset keeps its first 0.5: logits of std ~22; the others take
    4/sqrt(hidden): logits of std ~4, as trained models' are, so that KL against the CPU reference means something)."""
    h, inter = cfg["hidden_size"], cfg["intermediate_size"]
    nh, nkv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = cfg.get("head_dim", h // nh)
    specs = [("model.embed_tokens.weight", (cfg["vocab_size"], h), out_std, 0.0),
             ("model.norm.weight", (h,), 0.15, 1.0)]
    if not cfg["tie_word_embeddings"]:        # an untied model's output matrix, at the embedding's scale
        specs.append(("lm_head.weight", (cfg["vocab_size"], h), out_std, 0.0))
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        specs += [
            (p + "input_layernorm.weight", (h,), 0.15, 1.0),
            (p + "self_attn.q_proj.weight", (nh * hd, h), 1.6 / math.sqrt(h), 0.0),
            (p + "self_attn.k_proj.weight", (nkv * hd, h), 1.6 / math.sqrt(h), 0.0),
            (p + "self_attn.v_proj.weight", (nkv * hd, h), 1.0 / math.sqrt(h), 0.0),
            (p + "self_attn.o_proj.weight", (h, nh * hd), 1.0 / math.sqrt(nh * hd), 0.0),
            (p + "post_attention_layernorm.weight", (h,), 0.15, 1.0),
            (p + "mlp.gate_proj.weight", (inter, h), 1.0 / math.sqrt(h), 0.0),
            (p + "mlp.up_proj.weight", (inter, h), 1.0 / math.sqrt(h), 0.0),
            (p + "mlp.down_proj.weight", (h, inter), 1.0 / math.sqrt(inter), 0.0),
        ]
        if cfg.get("model_type") == "qwen2":
            specs += [(p + "self_attn.q_proj.bias", (nh * hd,), BIAS_STD, 0.0),
                      (p + "self_attn.k_proj.bias", (nkv * hd,), BIAS_STD, 0.0),
                      (p + "self_attn.v_proj.bias", (nkv * hd,), V_BIAS_STD, 0.0)]
        elif cfg.get("model_type") == "qwen3":
            specs += [(p + "self_attn.q_norm.weight", (hd,), 0.15, 1.0),
                      (p + "self_attn.k_norm.weight", (hd,), 0.15, 1.0)]
    return sorted(specs)


def f32_to_bf16_bits(x: np.ndarray) -> np.ndarray:
    """float32 -> bfloat16 bit patterns, round to nearest even (inputs are finite)."""
    u = x.view(np.uint32)
    return ((u + (np.uint32(0x7FFF) + ((u >> np.uint32(16)) & np.uint32(1)))) >> np.uint32(16)).astype("<u2")


def header_bytes(specs: list) -> tuple[bytes, int]:
    header = {"__metadata__": {"format": "pt"}}
    offset = 0
    for name, shape, _, _ in specs:
        n = 2 * math.prod(shape)
        header[name] = {"dtype": "BF16", "shape": list(shape), "data_offsets": [offset, offset + n]}
        offset += n
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    return raw, offset


def write_safetensors(path: str, specs: list, seed: int) -> None:
    raw, total = header_bytes(specs)
    with open(path, "wb") as f:
        f.write(len(raw).to_bytes(8, "little"))
        f.write(raw)
        for idx, (name, shape, std, mean) in enumerate(specs):
            rng = np.random.Generator(np.random.PCG64([seed, idx]))
            remaining = math.prod(shape)
            while remaining:
                n = min(remaining, CHUNK_ELEMS)
                x = rng.standard_normal(n, dtype=np.float32)
                x *= np.float32(std)
                x += np.float32(mean)
                f.write(f32_to_bf16_bits(x).tobytes())
                remaining -= n
            print(f"  {name} {list(shape)}", file=sys.stderr)
        assert f.tell() == 8 + len(raw) + total


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    cache = os.environ.get("NPULLAMA_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "npu-llama")
    ap.add_argument("out", nargs="?", help="default: $NPULLAMA_CACHE/models/random-<preset>")
    ap.add_argument("--preset", choices=sorted(PRESETS), default="llama-3.2-1b")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--force", action="store_true", help="rewrite even if a complete output exists")
    ap.add_argument("--config-only", action="store_true",
                    help="write config.json alone (for `npu-llama bench --device emulator --shape-only`)")
    args = ap.parse_args()

    config = PRESETS[args.preset]
    args.out = args.out or os.path.join(cache, "models", f"random-{args.preset}")
    specs = tensor_specs(config, 0.5 if args.preset == "llama-3.2-1b" else 4 / math.sqrt(config["hidden_size"]))
    if args.config_only:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "config.json"), "w") as f:
            json.dump(config, f, indent=2, sort_keys=True)
            f.write("\n")
        print(f"make-random-llama: wrote {os.path.join(args.out, 'config.json')} (no weights)")
        return 0
    raw, total = header_bytes(specs)
    size = 8 + len(raw) + total
    st_path = os.path.join(args.out, "model.safetensors")
    cfg_path = os.path.join(args.out, "config.json")
    if not args.force and os.path.isfile(cfg_path) and os.path.isfile(st_path) and os.path.getsize(st_path) == size:
        print(f"make-random-llama: {args.out} already complete ({size} bytes); use --force to rewrite")
        return 0

    os.makedirs(args.out, exist_ok=True)
    n_params = sum(math.prod(s) for _, s, _, _ in specs)
    print(f"make-random-llama: writing {n_params} random BF16 parameters ({size / 1e9:.2f} GB) to {st_path}")
    tmp = st_path + ".part"
    write_safetensors(tmp, specs, args.seed)
    os.replace(tmp, st_path)
    with open(cfg_path, "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
        f.write("\n")
    print(f"make-random-llama: done: {cfg_path}, {st_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
