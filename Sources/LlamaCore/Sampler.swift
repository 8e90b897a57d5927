// Picks the next token from logits as llama.cpp's default sampler chain does: penalties, top-k, top-p, min-p, temperature, a seeded draw.
import Foundation

/// Sampling settings, with llama.cpp's meanings (llama.cpp `common/common.h` `common_params_sampling`, applied by
/// `src/llama-sampling.cpp`). Every filter has a neutral value that turns it off; the defaults are all neutral
/// (greedy, no filter, no penalty) except `repeatLastN`, whose 64 is llama.cpp's window for the penalties.
public struct SamplingParameters: Sendable, Equatable {
    /// 0 (or less) is greedy: the largest (penalized) logit, lowest index on ties.
    public var temperature: Float
    /// Keep only the k largest logits (0 = no limit).
    public var topK: Int
    /// Keep the smallest set of most likely tokens whose probability reaches top-p (1 = no limit).
    public var topP: Float
    /// Keep the tokens whose probability is at least min-p × the largest probability (0 = off).
    public var minP: Float
    /// Divides a positive logit, multiplies a negative one, of each token seen in the window (1 = off).
    public var repeatPenalty: Float
    /// The window the penalties count tokens in: the last n tokens accepted (prompt and generated); 0 turns the
    /// penalties off, a negative value counts every token accepted (llama.cpp's -1 = the context size).
    public var repeatLastN: Int
    /// Subtracted once from the logit of each token seen in the window (0 = off; OpenAI's presence_penalty).
    public var presencePenalty: Float
    /// Subtracted per occurrence in the window (0 = off; OpenAI's frequency_penalty).
    public var frequencyPenalty: Float
    public var seed: UInt64

    public init(temperature: Float = 0, topK: Int = 0, topP: Float = 1, minP: Float = 0, repeatPenalty: Float = 1,
                repeatLastN: Int = 64, presencePenalty: Float = 0, frequencyPenalty: Float = 0, seed: UInt64 = 0) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.minP = minP
        self.repeatPenalty = repeatPenalty
        self.repeatLastN = repeatLastN
        self.presencePenalty = presencePenalty
        self.frequencyPenalty = frequencyPenalty
        self.seed = seed
    }

    public static let greedy = SamplingParameters()
    public var isGreedy: Bool { temperature <= 0 }
    /// Whether any penalty changes logits (llama.cpp's penalties sampler is a no-op otherwise).
    public var penalizes: Bool {
        repeatLastN != 0 && (repeatPenalty != 1 || presencePenalty != 0 || frequencyPenalty != 0)
    }
    /// The token is the argmax of the raw logits: a device may pick it without bringing the logits back.
    public var isPlainArgmax: Bool { isGreedy && !penalizes }
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

/// Token selection in llama.cpp's default order (`common_params_sampling.samplers`, the ones we implement):
/// penalties → top-k → top-p → min-p → temperature → draw. So top-p and min-p see the logits before the
/// temperature, as in llama.cpp; greedy is the argmax after the penalties. Feed it every token the model sees
/// (`accept`: the prompt, then each chosen token) so the penalties count them, as llama.cpp's main and server do.
public struct Sampler: Sendable {
    public let parameters: SamplingParameters
    private var rng: SplitMix64
    /// The last |repeatLastN| accepted tokens (all of them when repeatLastN < 0), oldest first, and their counts.
    private var window: [Int] = []
    private var windowStart = 0
    private var counts: [Int: Int] = [:]

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

    /// Records a token the model has seen (llama.cpp `llama_sampler_penalties_accept`: counts over a ring of the
    /// last n tokens). Without penalties nothing is kept.
    public mutating func accept(_ token: Int) {
        guard parameters.penalizes else { return }
        counts[token, default: 0] += 1
        window.append(token)
        let n = parameters.repeatLastN
        if n > 0, window.count - windowStart > n {
            let old = window[windowStart]
            windowStart += 1
            if counts[old] == 1 { counts[old] = nil } else { counts[old]! -= 1 }
            if windowStart > 4096 { window.removeFirst(windowStart); windowStart = 0 }
        }
    }

    public mutating func accept<S: Sequence>(contentsOf tokens: S) where S.Element == Int {
        for t in tokens { accept(t) }
    }

    /// How often each token occurs in the penalty window.
    public var windowCounts: [Int: Int] { counts }

    /// The logits after the penalties (llama.cpp `llama_sampler_penalties_apply`): for each token seen c > 0 times
    /// in the window, a logit ≤ 0 is multiplied by the repeat penalty and a positive one divided by it, then
    /// c × frequency + presence is subtracted.
    public func penalized(_ logits: [Float]) -> [Float] {
        guard parameters.penalizes else { return logits }
        var out = logits
        let p = parameters
        for (id, count) in counts where id >= 0 && id < out.count {
            var l = out[id]
            l = l <= 0 ? l * p.repeatPenalty : l / p.repeatPenalty
            l -= Float(count) * p.frequencyPenalty + p.presencePenalty
            out[id] = l
        }
        return out
    }

    /// The tokens the draw chooses among and their probabilities, after the whole chain, in the order the draw
    /// walks them. Greedy gives the one argmax with probability 1.
    public func distribution(_ logits: [Float]) -> [(id: Int, probability: Double)] {
        let p = parameters
        let scored = penalized(logits)
        if p.isGreedy || scored.count <= 1 { return [(Self.argmax(scored), 1)] }
        var c: [(id: Int, logit: Float)] = []
        c.reserveCapacity(scored.count)
        for i in scored.indices where !scored[i].isNaN { c.append((i, scored[i])) }
        if c.isEmpty { return [(0, 1)] }
        let descending = { (a: (id: Int, logit: Float), b: (id: Int, logit: Float)) in
            a.logit > b.logit || (a.logit == b.logit && a.id < b.id)
        }
        var sorted = false
        // top-k (llama_sampler_top_k_impl): k ≤ 0 is off.
        if p.topK > 0 && p.topK < c.count {
            c.sort(by: descending)
            c.removeSubrange(p.topK...)
            sorted = true
        }
        // top-p (llama_sampler_top_p_apply): softmax of the current logits, keep up to the first cumulative ≥ p.
        if p.topP < 1 {
            if !sorted { c.sort(by: descending); sorted = true }
            let probs = Self.softmax(c.map(\.logit))
            var cumulative = 0.0
            for (i, q) in probs.enumerated() {
                cumulative += q
                if cumulative >= Double(p.topP) { c.removeSubrange((i + 1)...); break }
            }
        }
        // min-p (llama_sampler_min_p_apply): keep logits ≥ max + ln(min-p), i.e. p_i ≥ min-p × p_max.
        if p.minP > 0 {
            let maxLogit = c.map(\.logit).max()!
            let threshold = maxLogit + Foundation.log(p.minP)
            c.removeAll { $0.logit < threshold }
        }
        // temperature (llama_sampler_temp_impl), then the draw's softmax (llama_sampler_dist_apply).
        let probs = Self.softmax(c.map { $0.logit / p.temperature })
        return zip(c, probs).map { ($0.id, $1) }
    }

    /// The next token for one row of logits (not accepted: call `accept` with the token the caller keeps).
    public mutating func sample(_ logits: [Float]) -> Int {
        let choices = distribution(logits)
        if choices.count == 1 { return choices[0].id }
        var target = rng.nextUnit()
        for choice in choices {
            target -= choice.probability
            if target < 0 { return choice.id }
        }
        return choices[choices.count - 1].id
    }

    /// Probabilities of logits, max-subtracted, in Double.
    static func softmax(_ logits: [Float]) -> [Double] {
        guard let maxLogit = logits.max() else { return [] }
        let e = logits.map { Foundation.exp(Double($0) - Double(maxLogit)) }
        let total = e.reduce(0, +)
        return e.map { $0 / total }
    }
}
