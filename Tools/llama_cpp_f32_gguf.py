#!/usr/bin/env python3
# Writes an F32 GGUF of an HF Llama folder (config.json + BF16/F32 safetensors) with a Llama 3 tokenizer.json, for llama-bench.
"""
Usage: python3 Tools/llama_cpp_f32_gguf.py MODEL_DIR TOKENIZER_JSON OUT.gguf

For Tools/compare-llama-cpp.sh: llama.cpp's own converter needs torch; this needs only numpy and gguf-py (the
`gguf` package, e.g. vendor/llama.cpp/gguf-py of the llama-cpp-python sdist on PYTHONPATH). Every matrix is
written as F32 (general.file_type 0, ALL_F32), in llama.cpp's tensor names. Speed measurements only: q/k rows are
not permuted to llama.cpp's rope pairing and llama3 rope scaling is left out (neither changes the work done),
so the outputs are not the HF model's. A tied model gets no output.weight (llama.cpp then reads token_embd).
"""
import json
import struct
import sys

import numpy as np
import gguf

NAMES = {
    "model.embed_tokens.weight": "token_embd.weight",
    "model.norm.weight": "output_norm.weight",
    "lm_head.weight": "output.weight",
}
LAYER = {
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


def gguf_name(hf):
    if hf in NAMES:
        return NAMES[hf]
    parts = hf.split(".")
    if parts[:2] == ["model", "layers"]:
        return f"blk.{parts[2]}." + LAYER[".".join(parts[3:])]
    raise SystemExit(f"unknown tensor {hf}")


def safetensors(path):
    """(name, float32 array) per tensor of one safetensors file, memory-mapped."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + n)
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        raw = data[begin:end]
        if info["dtype"] == "BF16":
            values = (raw.view(np.uint16).astype(np.uint32) << 16).view(np.float32)
        elif info["dtype"] == "F32":
            values = raw.view(np.float32)
        else:
            raise SystemExit(f"{name}: dtype {info['dtype']} not handled")
        yield name, values.reshape(info["shape"])


def main():
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    model_dir, tokenizer_json, out = sys.argv[1:]
    config = json.load(open(f"{model_dir}/config.json"))
    tok = json.load(open(tokenizer_json))
    vocab = dict(tok["model"]["vocab"])
    special = set()
    for added in tok["added_tokens"]:
        vocab[added["content"]] = added["id"]
        if added.get("special"):
            special.add(added["id"])
    size = config["vocab_size"]
    tokens = [f"[PAD{i}]" for i in range(size)]
    for text, i in vocab.items():
        if i < size:
            tokens[i] = text
    types = [gguf.TokenType.CONTROL if i in special else gguf.TokenType.NORMAL for i in range(size)]
    merges = [m if isinstance(m, str) else " ".join(m) for m in tok["model"]["merges"]]

    w = gguf.GGUFWriter(out, "llama")
    w.add_name("random-llama-3.2-1b (F32, for llama-bench)")
    w.add_context_length(config.get("max_position_embeddings", 131072))
    w.add_embedding_length(config["hidden_size"])
    w.add_block_count(config["num_hidden_layers"])
    w.add_feed_forward_length(config["intermediate_size"])
    head_dim = config.get("head_dim", config["hidden_size"] // config["num_attention_heads"])
    w.add_rope_dimension_count(head_dim)
    w.add_head_count(config["num_attention_heads"])
    w.add_head_count_kv(config["num_key_value_heads"])
    w.add_layer_norm_rms_eps(config.get("rms_norm_eps", 1e-5))
    w.add_rope_freq_base(config.get("rope_theta", 10000.0))
    w.add_vocab_size(size)
    w.add_file_type(0)  # LLAMA_FTYPE_ALL_F32
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("llama-bpe")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.add_bos_token_id(config.get("bos_token_id", 128000))
    eos = config.get("eos_token_id", 128001)
    w.add_eos_token_id(eos[0] if isinstance(eos, list) else eos)
    import glob
    for path in sorted(glob.glob(f"{model_dir}/*.safetensors")):
        for name, values in safetensors(path):
            w.add_tensor(gguf_name(name), np.ascontiguousarray(values, dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file(progress=False)
    w.close()
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
