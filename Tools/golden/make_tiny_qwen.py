# Writes the tiny seeded random-weight Qwen2.5-style and Qwen3-style test models as HF folders and llama.cpp-layout BF16 GGUFs.
"""
Outputs (relative to the repository root):
  Golden/tiny-qwen2/model/{config.json,model.safetensors}   Qwen2ForCausalLM: q/k/v biases, rope theta 1e6, tied embeddings
  Golden/tiny-qwen2/tiny-qwen2.bf16.gguf                    general.architecture "qwen2", keys qwen2.*
  Golden/tiny-qwen3/model/{config.json,model.safetensors}   Qwen3ForCausalLM: per-head q_norm/k_norm, head_dim 64 with
                                                            hidden 128 / 4 heads (q width 256 != hidden), no biases
  Golden/tiny-qwen3/tiny-qwen3.bf16.gguf                    general.architecture "qwen3", keys qwen3.*

The GGUFs are laid out as llama.cpp's convert_hf_to_gguf.py lays out these architectures (Qwen2Model, and Qwen3Model
which subclasses it): canonical tensor names (`blk.N.attn_q.bias`, `blk.N.attn_q_norm.weight`, ...), q/k rows NOT
permuted (only LlamaModel.modify_tensors permutes; llama.cpp runs qwen2/qwen3 with LLAMA_ROPE_TYPE_NEOX, i.e. the HF
half-split pairing: src/llama-model.cpp llama_model_rope_type), 2-D tensors BF16, 1-D tensors (norms, biases) F32,
the keys TextModel.set_gguf_parameters writes (key_length/value_length because config.json has head_dim), no
rope_freqs tensor. Deviation, as for tiny-llama32: the models have no tokenizer, so the GGUF says
tokenizer.ggml.model = "none" and carries `<arch>.vocab_size` (llama.cpp reads LLM_KV_VOCAB_SIZE for any arch).

Everything is a pure function of the constants below (numpy's legacy RandomState), so re-running writes
byte-identical files. Needs numpy, torch, safetensors, gguf.
"""
import argparse
import hashlib
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_tiny_model import bf16_bits_to_f32, f32_to_bf16_bits, sha256_file, write_hf  # noqa: E402

SEED = 17_2026  # base seed; every tensor gets its own stream derived from (SEED, model, tensor name)

COMMON = {
    "attention_dropout": 0.0,
    "bos_token_id": 1,
    "eos_token_id": 2,
    "hidden_act": "silu",
    "hidden_size": 128,
    "initializer_range": 0.02,
    "intermediate_size": 384,
    "max_window_layers": 4,
    "num_attention_heads": 4,
    "num_hidden_layers": 4,
    "num_key_value_heads": 2,
    "rms_norm_eps": 1e-06,
    "rope_scaling": None,
    "rope_theta": 1000000.0,
    "sliding_window": None,
    "tie_word_embeddings": True,
    "torch_dtype": "bfloat16",
    "use_cache": True,
    "use_sliding_window": False,
    "vocab_size": 1024,
}

CONFIGS = {
    # Key set of the published Qwen2.5-0.5B config.json (no head_dim: 128 / 4 heads = 32).
    "tiny-qwen2": dict(COMMON, architectures=["Qwen2ForCausalLM"], model_type="qwen2", max_position_embeddings=32768),
    # Key set of the published Qwen3-0.6B config.json: head_dim given and independent of hidden/heads.
    "tiny-qwen3": dict(COMMON, architectures=["Qwen3ForCausalLM"], model_type="qwen3", attention_bias=False,
                       head_dim=64, max_position_embeddings=40960),
}

# Standard deviations as in make_tiny_model.py (GAIN / sqrt(fan_in)); biases large enough to move every head's
# scores visibly (Qwen2.5's real k biases are O(1)); q/k norm weights away from 1 so a missing norm weight shows.
EMBED_STD = 0.5
QK_GAIN, V_GAIN, O_GAIN, GATE_UP_GAIN, DOWN_GAIN = 1.6, 1.0, 3.0, 1.0, 3.0
BIAS_STD = 0.25
V_BIAS_STD = 0.1  # a large v bias adds one constant vector to every attention output: greedy then repeats a token
NORM_MEAN, NORM_STD = 1.0, 0.15
QK_NORM_MEAN, QK_NORM_STD = 1.5, 0.4
OUTPUT_NORM_MEAN, OUTPUT_NORM_STD = 2.0, 0.30


def tensor_seed(model: str, name: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{SEED}:{model}:{name}".encode()).digest()[:4], "little")


def make_weights(model: str, cfg: dict) -> dict:
    """HF tensor name -> bf16 bit patterns (uint16 ndarray, HF layout [out, in])."""
    h, inter = cfg["hidden_size"], cfg["intermediate_size"]
    nh, nkv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = cfg.get("head_dim", h // nh)
    qwen3 = cfg["model_type"] == "qwen3"

    def normal(name, shape, std, mean=0.0):
        rs = np.random.RandomState(tensor_seed(model, name))
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
        if qwen3:
            specs += [("self_attn.q_norm.weight", (hd,), QK_NORM_STD, QK_NORM_MEAN),
                      ("self_attn.k_norm.weight", (hd,), QK_NORM_STD, QK_NORM_MEAN)]
        else:
            specs += [("self_attn.q_proj.bias", (nh * hd,), BIAS_STD, 0.0),
                      ("self_attn.k_proj.bias", (nkv * hd,), BIAS_STD, 0.0),
                      ("self_attn.v_proj.bias", (nkv * hd,), V_BIAS_STD, 0.0)]
        for suffix, shape, std, mean in specs:
            w[p + suffix] = normal(p + suffix, shape, std, mean)
    w["model.norm.weight"] = normal("model.norm.weight", (h,), OUTPUT_NORM_STD, OUTPUT_NORM_MEAN)
    return w


# gguf-py's tensor_mapping (MODEL_TENSOR.ATTN_Q_NORM: "model.layers.{bid}.self_attn.q_norm" -> blk.{bid}.attn_q_norm).
HF_TO_GGUF = {
    "input_layernorm": "attn_norm",
    "self_attn.q_proj": "attn_q",
    "self_attn.k_proj": "attn_k",
    "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output",
    "self_attn.q_norm": "attn_q_norm",
    "self_attn.k_norm": "attn_k_norm",
    "post_attention_layernorm": "ffn_norm",
    "mlp.gate_proj": "ffn_gate",
    "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
}


def gguf_name(hf: str) -> str:
    if hf == "model.embed_tokens.weight":
        return "token_embd.weight"
    if hf == "model.norm.weight":
        return "output_norm.weight"
    parts = hf.split(".")
    assert parts[0] == "model" and parts[1] == "layers", hf
    return f"blk.{parts[2]}.{HF_TO_GGUF['.'.join(parts[3:-1])]}.{parts[-1]}"


def write_gguf(path: str, name: str, cfg: dict, weights: dict) -> None:
    import gguf

    w = gguf.GGUFWriter(path, cfg["model_type"])  # general.architecture = "qwen2" / "qwen3"
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
    if "head_dim" in cfg:
        w.add_key_length(cfg["head_dim"])
        w.add_value_length(cfg["head_dim"])
    w.add_file_type(gguf.LlamaFileType.MOSTLY_BF16)
    w.add_vocab_size(cfg["vocab_size"])
    w.add_tokenizer_model("none")
    w.add_bos_token_id(cfg["bos_token_id"])
    w.add_eos_token_id(cfg["eos_token_id"])
    w.add_quantization_version(gguf.GGML_QUANT_VERSION)
    for hf in sorted(weights):  # safetensors (name-sorted) order, no permutation (NEOX rope)
        bits = np.ascontiguousarray(weights[hf])
        if bits.ndim == 1:
            w.add_tensor(gguf_name(hf), bf16_bits_to_f32(bits))
        else:
            w.add_tensor(gguf_name(hf), bits.view(np.uint8), raw_dtype=gguf.GGMLQuantizationType.BF16)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--golden", default=os.path.normpath(os.path.join(here, "..", "..", "Golden")))
    args = ap.parse_args()
    for name, cfg in CONFIGS.items():
        out = os.path.join(args.golden, name)
        weights = make_weights(name, cfg)
        write_hf(os.path.join(out, "model"), cfg, weights)
        write_gguf(os.path.join(out, f"{name}.bf16.gguf"), name, cfg, weights)
        print(f"{name}: {sum(v.size for v in weights.values())} parameters", file=sys.stderr)
        for rel in ("model/config.json", "model/model.safetensors", f"{name}.bf16.gguf"):
            p = os.path.join(out, rel)
            print(f"{sha256_file(p)}  {os.path.getsize(p):>9}  {name}/{rel}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
