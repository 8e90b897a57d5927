// Building ModelConfig from an HF config.json or from GGUF metadata; every bad value names its key.
import Foundation

extension ModelConfig {
    /// Parses an HF `config.json` of a `LlamaForCausalLM`, `Qwen2ForCausalLM` or `Qwen3ForCausalLM` (transformers 4.x
    /// `rope_scaling` or 5.x `rope_parameters`). Unknown keys are ignored; unknown or inconsistent values are errors.
    public static func fromHFConfig(data: Data, file: String) throws -> ModelConfig {
        let parsed: Any
        do { parsed = try JSONSerialization.jsonObject(with: data) } catch {
            throw ModelFileError(.badHeader, file: file, "is not valid JSON (\(error.localizedDescription))")
        }
        guard let json = parsed as? [String: Any] else {
            throw ModelFileError(.badHeader, file: file, "top level is not a JSON object")
        }
        let keys = JSONKeys(json, file: file)

        let family = try hfFamily(json: json, keys: keys, file: file)
        if let act = try keys.string("hidden_act"), act != "silu" {
            throw ModelFileError(.badValue, file: file, "hidden_act is \"\(act)\"; \(family.rawValue) uses \"silu\"")
        }
        // Llama's optional biases; Qwen3's attention_bias (q, k, v and o: HF Qwen3Attention) — llama.cpp's qwen3
        // graph has none (llm_build_qwen3), so neither do we. Qwen2's q/k/v biases are always there (HF Qwen2Attention).
        let biasFlags = family == .qwen2 ? [] : family == .qwen3 ? ["attention_bias"] : ["attention_bias", "mlp_bias"]
        for flag in biasFlags where try keys.bool(flag) == true {
            throw ModelFileError(.badValue, file: file, "\(flag) is true; \(family.rawValue) models with these biases are not supported")
        }
        if family != .llama {
            // Sliding-window attention (HF Qwen2Config/Qwen3Config: use_sliding_window, then layer_types) would mask
            // keys older than `sliding_window` in the upper layers; our attention is full causal everywhere.
            if try keys.bool("use_sliding_window") == true {
                throw ModelFileError(.badValue, file: file,
                    "use_sliding_window is true; sliding-window attention is not supported (only full causal attention)")
            }
            if let types = json["layer_types"], !(types is NSNull) {
                guard let list = types as? [String] else { throw keys.wrongType("layer_types", "a list of strings") }
                if let other = list.first(where: { $0 != "full_attention" }) {
                    throw ModelFileError(.badValue, file: file,
                        "layer_types contains \"\(other)\"; only full_attention layers are supported")
                }
            }
        }

        let heads = try keys.requiredInt("num_attention_heads")
        let hidden = try keys.requiredInt("hidden_size")
        // transformers 5 moves rope settings into rope_parameters (with rope_theta inside).
        let ropeParams = try keys.object("rope_parameters") ?? keys.object("rope_scaling")
        let ropeKey = json["rope_parameters"] is [String: Any] ? "rope_parameters" : "rope_scaling"
        var theta = try keys.double("rope_theta") ?? 10000
        var scaling = RopeScaling.none
        if let params = ropeParams {
            let sub = JSONKeys(params, file: file, prefix: ropeKey + ".")
            if let t = try sub.double("rope_theta") { theta = t }
            let type = try sub.string("rope_type") ?? sub.string("type") ?? "default"
            switch type {
            case "default": scaling = .none
            case "linear": scaling = .linear(factor: try sub.requiredDouble("factor"))
            case "llama3":
                scaling = .llama3(factor: try sub.requiredDouble("factor"),
                                  lowFreqFactor: try sub.requiredDouble("low_freq_factor"),
                                  highFreqFactor: try sub.requiredDouble("high_freq_factor"),
                                  originalContext: try sub.requiredInt("original_max_position_embeddings"))
            default:
                throw ModelFileError(.badValue, file: file,
                    "\(ropeKey).rope_type is \"\(type)\"; supported: default, linear, llama3")
            }
        }

        var eos: [Int] = []
        if let value = json["eos_token_id"], !(value is NSNull) {
            if let list = value as? [Any] {
                eos = try list.map { item in
                    guard let n = jsonInt(item) else { throw keys.wrongType("eos_token_id", "an integer or a list of integers") }
                    return n
                }
            } else if let n = jsonInt(value) {
                eos = [n]
            } else {
                throw keys.wrongType("eos_token_id", "an integer or a list of integers")
            }
        }

        return try ModelConfig(
            vocabSize: try keys.requiredInt("vocab_size"),
            hiddenSize: hidden,
            intermediateSize: try keys.requiredInt("intermediate_size"),
            layerCount: try keys.requiredInt("num_hidden_layers"),
            headCount: heads,
            kvHeadCount: try keys.int("num_key_value_heads") ?? heads,
            headDim: try keys.int("head_dim") ?? (heads > 0 ? hidden / heads : 0),
            rmsNormEps: Float(try keys.double("rms_norm_eps") ?? 1e-6),
            ropeTheta: theta,
            ropeScaling: scaling,
            ropePairing: .halfSplit,
            maxContext: try keys.int("max_position_embeddings") ?? 2048,
            tiedEmbeddings: try keys.bool("tie_word_embeddings") ?? false,
            bosTokenID: try keys.int("bos_token_id"),
            eosTokenIDs: eos,
            family: family,
            file: file)
    }

    /// The family an HF config.json describes: `architectures` and `model_type` must name the same supported one.
    /// Mixture-of-experts variants (`qwen2_moe`, `qwen3_moe`) and every other model type are refused by name.
    private static func hfFamily(json: [String: Any], keys: JSONKeys, file: String) throws -> ModelFamily {
        let byArchitecture: [String: ModelFamily] = [
            "LlamaForCausalLM": .llama, "MistralForCausalLM": .llama,
            "Qwen2ForCausalLM": .qwen2, "Qwen3ForCausalLM": .qwen3,
        ]
        var family: ModelFamily?
        if let archs = json["architectures"] {
            guard let list = archs as? [String] else { throw keys.wrongType("architectures", "a list of strings") }
            guard let known = list.lazy.compactMap({ byArchitecture[$0] }).first else {
                throw ModelFileError(.badValue, file: file,
                    "architectures is \(list); supported: LlamaForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM")
            }
            family = known
        }
        if let type = try keys.string("model_type") {
            guard let typed = ModelFamily(rawValue: type) else {
                throw ModelFileError(.badValue, file: file,
                    "model_type is \"\(type)\"; supported: \"llama\", \"qwen2\", \"qwen3\" (no mixture-of-experts models)")
            }
            if let family, family != typed {
                throw ModelFileError(.inconsistent, file: file,
                    "model_type \"\(type)\" disagrees with architectures (a \(family.rawValue) model)")
            }
            family = typed
        }
        return family ?? .llama
    }

    /// Builds the config of a GGUF `llama`, `qwen2` or `qwen3` model from its metadata (keys `<arch>.*`). Tensor-derived facts come in as
    /// arguments: whether `output.weight` is absent (tied) and `rope_freqs.weight` when present.
    public static func fromGGUF(metadata: [String: GGUFValue], file: String,
                                hasOutputWeight: Bool, ropeFreqFactors: [Float]?) throws -> ModelConfig {
        func value(_ key: String) -> GGUFValue? { metadata[key] }
        func int(_ key: String) throws -> Int? {
            guard let v = value(key) else { return nil }
            guard let i = v.intValue else {
                throw ModelFileError(.badMetadata, file: file, "metadata \(key) is not an integer")
            }
            return i
        }
        func requiredInt(_ key: String) throws -> Int {
            guard let i = try int(key) else {
                throw ModelFileError(.missingKey, file: file, "metadata key \(key) is missing")
            }
            return i
        }
        func double(_ key: String) throws -> Double? {
            guard let v = value(key) else { return nil }
            guard let d = v.doubleValue else {
                throw ModelFileError(.badMetadata, file: file, "metadata \(key) is not a number")
            }
            return d
        }
        guard let arch = value("general.architecture")?.stringValue else {
            throw ModelFileError(.missingKey, file: file, "metadata key general.architecture is missing")
        }
        guard let family = ModelFamily(rawValue: arch) else {
            throw ModelFileError(.badValue, file: file,
                "general.architecture is \"\(arch)\"; supported: llama, qwen2, qwen3 (no mixture-of-experts models)")
        }
        let p = arch + "."
        if let experts = try int(p + "expert_count"), experts > 0 {
            throw ModelFileError(.badValue, file: file, "\(p)expert_count is \(experts); mixture-of-experts models are not supported")
        }
        let hidden = try requiredInt(p + "embedding_length")
        let heads = try requiredInt(p + "attention.head_count")
        let headDim = try int(p + "attention.key_length") ?? int(p + "rope.dimension_count") ?? (heads > 0 ? hidden / heads : 0)
        if let ropeDims = try int(p + "rope.dimension_count"), ropeDims != headDim {
            throw ModelFileError(.inconsistent, file: file,
                "\(p)rope.dimension_count (\(ropeDims)) differs from the head dimension (\(headDim)); partial RoPE is not supported")
        }
        var vocab = try int(p + "vocab_size")
        if vocab == nil, let tokens = value("tokenizer.ggml.tokens")?.arrayValue { vocab = tokens.count }
        guard let vocabSize = vocab else {
            throw ModelFileError(.missingKey, file: file, "neither \(p)vocab_size nor tokenizer.ggml.tokens is present")
        }
        var scaling = RopeScaling.none
        if let type = value(p + "rope.scaling.type")?.stringValue, type != "none" {
            guard type == "linear" else {
                throw ModelFileError(.badValue, file: file,
                    "\(p)rope.scaling.type is \"\(type)\"; supported: none, linear (llama3 comes as rope_freqs.weight)")
            }
            scaling = .linear(factor: try double(p + "rope.scaling.factor") ?? 1)
        }
        if let factors = ropeFreqFactors { scaling = .perDimension(factors) }
        var eos: [Int] = []
        if let e = try int("tokenizer.ggml.eos_token_id") { eos.append(e) }
        if let e = try int("tokenizer.ggml.eot_token_id"), !eos.contains(e) { eos.append(e) }
        return try ModelConfig(
            vocabSize: vocabSize,
            hiddenSize: hidden,
            intermediateSize: try requiredInt(p + "feed_forward_length"),
            layerCount: try requiredInt(p + "block_count"),
            headCount: heads,
            kvHeadCount: try int(p + "attention.head_count_kv") ?? heads,
            headDim: headDim,
            rmsNormEps: Float(try double(p + "attention.layer_norm_rms_epsilon") ?? 1e-5),
            ropeTheta: try double(p + "rope.freq_base") ?? 10000,
            ropeScaling: scaling,
            // llama.cpp's converter permutes llama q/k rows to adjacent pairs (LlamaModel.permute) and runs llama with
            // LLAMA_ROPE_TYPE_NORM; qwen2/qwen3 are converted unpermuted (Qwen2Model has no permute) and run with
            // LLAMA_ROPE_TYPE_NEOX, HF's half-split pairing (src/llama-model.cpp llama_model_rope_type).
            ropePairing: family == .llama ? .adjacent : .halfSplit,
            maxContext: try int(p + "context_length") ?? 2048,
            tiedEmbeddings: !hasOutputWeight,
            bosTokenID: try int("tokenizer.ggml.bos_token_id"),
            eosTokenIDs: eos,
            family: family,
            file: file)
    }
}
