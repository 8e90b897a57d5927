// The model's hyper-parameters, built and validated from an HF config.json or GGUF metadata.
import Foundation

/// How RoPE pairs the dimensions of a head: HF checkpoints rotate i with i + d/2 ("rotate_half");
/// GGUF llama files (q/k weights permuted by the converter) and Meta originals rotate 2i with 2i+1.
public enum RopePairing: String, Sendable, Codable {
    case halfSplit = "half-split"
    case adjacent
}

/// RoPE frequency scaling. `.llama3` is Llama 3.1/3.2's wavelength-dependent scaling;
/// `.perDimension` carries explicit divisors per frequency (GGUF's `rope_freqs.weight`).
public enum RopeScaling: Sendable, Equatable {
    case none
    case linear(factor: Double)
    case llama3(factor: Double, lowFreqFactor: Double, highFreqFactor: Double, originalContext: Int)
    case perDimension([Float])
}

/// The model family: which of the Llama-shaped architectures the graph describes. llama.cpp's names
/// (`general.architecture`); each adds its nodes to the same decoder (src/llama-model.cpp `llm_build_qwen2`,
/// `llm_build_qwen3`).
public enum ModelFamily: String, Sendable, Codable, CaseIterable {
    /// Llama / Mistral / SmolLM2: no biases, no per-head norms.
    case llama
    /// Qwen2 / Qwen2.5: q, k and v projections carry biases (`blk.N.attn_{q,k,v}.bias`).
    case qwen2
    /// Qwen3 (dense): per-head RMSNorm of Q and K before RoPE (`blk.N.attn_{q,k}_norm.weight`, head_dim wide);
    /// head_dim independent of hidden/heads.
    case qwen3

    /// q/k/v projections add a bias (Qwen2: `Qcur-N` is the biased product in llm_build_qwen2).
    public var hasQKVBias: Bool { self == .qwen2 }
    /// Q and K are RMS-normed per head before RoPE (`Qcur_normed-N`, `Kcur_normed-N` in llm_build_qwen3).
    public var hasQKNorm: Bool { self == .qwen3 }
}

/// The hyper-parameters of a Llama-architecture model.
public struct ModelConfig: Sendable, Equatable {
    /// Which architecture: the graph adds the family's nodes (biases, q/k norms).
    public var family: ModelFamily
    public var vocabSize: Int
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var layerCount: Int
    public var headCount: Int
    public var kvHeadCount: Int
    public var headDim: Int
    public var rmsNormEps: Float
    public var ropeTheta: Double
    public var ropeScaling: RopeScaling
    public var ropePairing: RopePairing
    public var maxContext: Int
    public var tiedEmbeddings: Bool
    public var bosTokenID: Int?
    public var eosTokenIDs: [Int]

    public var qDim: Int { headCount * headDim }
    public var kvDim: Int { kvHeadCount * headDim }
    /// Query heads per KV head (GQA group size).
    public var groupSize: Int { headCount / kvHeadCount }

    public init(vocabSize: Int, hiddenSize: Int, intermediateSize: Int, layerCount: Int,
                headCount: Int, kvHeadCount: Int, headDim: Int? = nil, rmsNormEps: Float = 1e-5,
                ropeTheta: Double = 10000, ropeScaling: RopeScaling = .none,
                ropePairing: RopePairing = .halfSplit, maxContext: Int = 2048,
                tiedEmbeddings: Bool = false, bosTokenID: Int? = nil, eosTokenIDs: [Int] = [],
                family: ModelFamily = .llama, file: String = "<config>") throws {
        self.family = family
        self.vocabSize = vocabSize
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.layerCount = layerCount
        self.headCount = headCount
        self.kvHeadCount = kvHeadCount
        self.headDim = headDim ?? (headCount > 0 ? hiddenSize / headCount : 0)
        self.rmsNormEps = rmsNormEps
        self.ropeTheta = ropeTheta
        self.ropeScaling = ropeScaling
        self.ropePairing = ropePairing
        self.maxContext = maxContext
        self.tiedEmbeddings = tiedEmbeddings
        self.bosTokenID = bosTokenID
        self.eosTokenIDs = eosTokenIDs
        try validate(file: file)
    }

    /// Checks that the dimensions are positive and consistent; the error names the offending key.
    public func validate(file: String) throws {
        func bad(_ key: String, _ why: String) -> ModelFileError {
            ModelFileError(.inconsistent, file: file, "\(key) \(why)")
        }
        let positive: [(String, Int)] = [
            ("vocab_size", vocabSize), ("hidden_size", hiddenSize),
            ("intermediate_size", intermediateSize), ("num_hidden_layers", layerCount),
            ("num_attention_heads", headCount), ("num_key_value_heads", kvHeadCount),
            ("head_dim", headDim), ("max_position_embeddings", maxContext),
        ]
        for (key, value) in positive where value <= 0 || value > 1 << 24 {
            throw bad(key, "is \(value); it must be between 1 and \(1 << 24)")
        }
        if headCount % kvHeadCount != 0 {
            throw bad("num_key_value_heads", "(\(kvHeadCount)) does not divide num_attention_heads (\(headCount))")
        }
        if headDim % 2 != 0 { throw bad("head_dim", "(\(headDim)) must be even for RoPE") }
        if !(rmsNormEps > 0 && rmsNormEps < 1) { throw bad("rms_norm_eps", "is \(rmsNormEps); it must be in (0, 1)") }
        if !(ropeTheta > 1 && ropeTheta.isFinite) { throw bad("rope_theta", "is \(ropeTheta); it must be > 1") }
        for id in eosTokenIDs + (bosTokenID.map { [$0] } ?? []) where id < 0 || id >= vocabSize {
            throw bad("bos_token_id/eos_token_id", "\(id) is outside the vocabulary (\(vocabSize))")
        }
        switch ropeScaling {
        case .none: break
        case .linear(let factor):
            if !(factor >= 1) { throw bad("rope_scaling.factor", "is \(factor); it must be >= 1") }
        case let .llama3(factor, low, high, original):
            if !(factor >= 1) { throw bad("rope_scaling.factor", "is \(factor); it must be >= 1") }
            if !(low > 0 && high > low) {
                throw bad("rope_scaling.high_freq_factor", "(\(high)) must exceed low_freq_factor (\(low)) > 0")
            }
            if original <= 0 { throw bad("rope_scaling.original_max_position_embeddings", "is \(original)") }
        case .perDimension(let factors):
            if factors.count != headDim / 2 {
                throw bad("rope_freqs.weight", "has \(factors.count) values; head_dim/2 = \(headDim / 2)")
            }
            if factors.contains(where: { !($0 > 0 && $0.isFinite) }) {
                throw bad("rope_freqs.weight", "has a value that is not a finite positive number")
            }
        }
    }

    /// The RoPE inverse frequencies (headDim/2 of them), scaling applied. The one place where
    /// rope scaling is interpreted; every backend takes its frequency table from here.
    public func ropeInverseFrequencies() -> [Float] {
        let half = headDim / 2
        // fp32 like the reference implementations: base^(2i/d) in float, then the reciprocal.
        var inv = (0..<half).map { i -> Float in
            1 / Float(pow(ropeTheta, Double(2 * i) / Double(headDim)))
        }
        switch ropeScaling {
        case .none:
            break
        case .linear(let factor):
            inv = inv.map { $0 / Float(factor) }
        case let .llama3(factor, low, high, original):
            let lowWavelen = Double(original) / low
            let highWavelen = Double(original) / high
            inv = inv.map { f in
                let wavelen = 2 * Double.pi / Double(f)
                if wavelen < highWavelen { return f }
                if wavelen > lowWavelen { return f / Float(factor) }
                let smooth = Float((Double(original) / wavelen - low) / (high - low))
                return (1 - smooth) * f / Float(factor) + smooth * f
            }
        case .perDimension(let factors):
            inv = zip(inv, factors).map { $0 / $1 }
        }
        return inv
    }
}
