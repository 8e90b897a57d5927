// Picks the next token from logits: greedy, or seeded sampling with temperature, top-k and top-p.
import Foundation

/// Sampling settings. `temperature` 0 means greedy (argmax, lowest index on ties).
public struct SamplingParameters: Sendable, Equatable {
    public var temperature: Float
    /// Keep only the k most likely tokens (0 = no limit).
    public var topK: Int
    /// Keep the smallest set of most likely tokens whose probability reaches top-p (1 = no limit).
    public var topP: Float
    public var seed: UInt64

    public init(temperature: Float = 0, topK: Int = 0, topP: Float = 1, seed: UInt64 = 0) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.seed = seed
    }

    public static let greedy = SamplingParameters()
    public var isGreedy: Bool { temperature <= 0 }
}

/// A seeded generator (SplitMix64): the same seed gives the same tokens on every machine.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [0, 1) with 53 random bits.
    public mutating func nextUnit() -> Double { Double(next() >> 11) * 0x1p-53 }
}

/// Token selection. Order of the filters: temperature, then top-k, then top-p, then a draw.
public struct Sampler: Sendable {
    public let parameters: SamplingParameters
    private var rng: SplitMix64

    public init(_ parameters: SamplingParameters) {
        self.parameters = parameters
        rng = SplitMix64(seed: parameters.seed)
    }

    /// Index of the largest value; the lowest index wins ties; NaN never wins.
    public static func argmax(_ logits: UnsafeBufferPointer<Float>) -> Int {
        var best = 0
        var bestValue = -Float.infinity
        for i in 0..<logits.count where logits[i] > bestValue {
            best = i
            bestValue = logits[i]
        }
        return best
    }

    public static func argmax(_ logits: [Float]) -> Int { logits.withUnsafeBufferPointer { argmax($0) } }

    /// The next token for one row of logits.
    public mutating func sample(_ logits: [Float]) -> Int {
        if parameters.isGreedy || logits.count <= 1 { return Self.argmax(logits) }
        let invT = 1 / parameters.temperature
        var candidates = logits.indices.map { (id: $0, logit: logits[$0] * invT) }.filter { !$0.logit.isNaN }
        if candidates.isEmpty { return 0 }
        candidates.sort { $0.logit > $1.logit || ($0.logit == $1.logit && $0.id < $1.id) }
        if parameters.topK > 0 && parameters.topK < candidates.count {
            candidates.removeSubrange(parameters.topK...)
        }
        let maxLogit = Double(candidates[0].logit)
        var probs = candidates.map { Foundation.exp(Double($0.logit) - maxLogit) }
        let total = probs.reduce(0, +)
        probs = probs.map { $0 / total }
        var keep = probs.count
        if parameters.topP < 1 {
            var cumulative = 0.0
            for (i, p) in probs.enumerated() {
                cumulative += p
                if cumulative >= Double(parameters.topP) { keep = i + 1; break }
            }
        }
        let kept = probs[0..<keep]
        let mass = kept.reduce(0, +)
        var target = rng.nextUnit() * mass
        for (i, p) in kept.enumerated() {
            target -= p
            if target < 0 { return candidates[i].id }
        }
        return candidates[keep - 1].id
    }
}
