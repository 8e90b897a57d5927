// Building ModelConfig from an HF config.json or from GGUF metadata; every bad value names its key.
import Foundation

extension ModelConfig {
    /// Parses an HF `config.json` of a `LlamaForCausalLM` (transformers 4.x `rope_scaling` or
    /// 5.x `rope_parameters`). Unknown keys are ignored; unknown or inconsistent values are errors.
    public static func fromHFConfig(data: Data, file: String) throws -> ModelConfig {
        let parsed: Any
        do { parsed = try JSONSerialization.jsonObject(with: data) } catch {
            throw ModelFileError(.badHeader, file: file, "is not valid JSON (\(error.localizedDescription))")
        }
        guard let json = parsed as? [String: Any] else {
            throw ModelFileError(.badHeader, file: file, "top level is not a JSON object")
        }
        let keys = JSONKeys(json, file: file)

        if let archs = json["architectures"] {
            guard let list = archs as? [String] else { throw keys.wrongType("architectures", "a list of strings") }
            let supported = ["LlamaForCausalLM", "MistralForCausalLM"]
            if !list.contains(where: supported.contains) {
                throw ModelFileError(.badValue, file: file,
                    "architectures is \(list); only LlamaForCausalLM models are supported")
            }
        }
        if let type = try keys.string("model_type"), type != "llama" {
            throw ModelFileError(.badValue, file: file, "model_type is \"\(type)\"; only \"llama\" is supported")
        }
        if let act = try keys.string("hidden_act"), act != "silu" {
            throw ModelFileError(.badValue, file: file, "hidden_act is \"\(act)\"; Llama uses \"silu\"")
        }
        for flag in ["attention_bias", "mlp_bias"] where try keys.bool(flag) == true {
            throw ModelFileError(.badValue, file: file, "\(flag) is true; biases are not supported")
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
            file: file)
    }

    /// Builds the config of a GGUF `llama` model from its metadata. Tensor-derived facts come in as
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
        guard arch == "llama" else {
            throw ModelFileError(.badValue, file: file,
                "general.architecture is \"\(arch)\"; only llama models are supported")
        }
        let p = "llama."
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
            ropePairing: .adjacent,
            maxContext: try int(p + "context_length") ?? 2048,
            tiedEmbeddings: !hasOutputWeight,
            bosTokenID: try int("tokenizer.ggml.bos_token_id"),
            eosTokenIDs: eos,
            file: file)
    }
}
