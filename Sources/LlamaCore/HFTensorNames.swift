// The mapping from Hugging Face Llama tensor names to canonical (llama.cpp / GGUF) tensor names.

/// The canonical name of a Hugging Face Llama tensor, or `hfName` itself when it is not one we know
/// (such tensors are kept under their HF name, never dropped).
///
/// `model.embed_tokens.weight` → `token_embd.weight`, `model.norm.weight` → `output_norm.weight`,
/// `lm_head.weight` → `output.weight`, and for layer N, `model.layers.N.X` → `blk.N.Y` with
/// `input_layernorm` → `attn_norm`, `self_attn.{q,k,v,o}_proj` → `attn_{q,k,v,output}`,
/// `self_attn.{q,k}_norm` → `attn_{q,k}_norm` (Qwen3), `post_attention_layernorm` → `ffn_norm`, `mlp.{gate,up,down}_proj` → `ffn_{gate,up,down}`
/// (each with its `.weight` or `.bias` suffix).
public func canonicalTensorName(forHF hfName: String) -> String {
    switch hfName {
    case "model.embed_tokens.weight": return "token_embd.weight"
    case "model.norm.weight": return "output_norm.weight"
    case "lm_head.weight": return "output.weight"
    default: break
    }
    let prefix = "model.layers."
    guard hfName.hasPrefix(prefix) else { return hfName }
    let rest = hfName.dropFirst(prefix.count)
    guard let dot = rest.firstIndex(of: ".") else { return hfName }
    let layer = rest[..<dot]
    // A plain decimal layer number: digits only, no leading zero.
    guard !layer.isEmpty, layer.allSatisfy({ $0.isASCII && $0.isNumber }),
          layer == "0" || !layer.hasPrefix("0") else { return hfName }
    let component = rest[rest.index(after: dot)...]
    for suffix in [".weight", ".bias"] where component.hasSuffix(suffix) {
        let module = String(component.dropLast(suffix.count))
        guard let canonical = hfLayerModules[module] else { return hfName }
        return "blk.\(layer).\(canonical)\(suffix)"
    }
    return hfName
}

/// Per-layer module names: HF → canonical.
private let hfLayerModules: [String: String] = [
    "input_layernorm": "attn_norm",
    "self_attn.q_proj": "attn_q",
    "self_attn.k_proj": "attn_k",
    "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output",
    "self_attn.q_norm": "attn_q_norm",   // Qwen3 (gguf-py tensor_mapping MODEL_TENSOR.ATTN_Q_NORM)
    "self_attn.k_norm": "attn_k_norm",
    "post_attention_layernorm": "ffn_norm",
    "mlp.gate_proj": "ffn_gate",
    "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
]
