// Greedy and seeded sampling: determinism, filters, and the sampled distribution.
import XCTest
@testable import LlamaCore

final class SamplerTests: XCTestCase {
    let logits: [Float] = [1.0, 3.0, 2.5, -1.0, 3.0, 0.0]

    func testGreedyTakesFirstMaximum() {
        var s = Sampler(.greedy)
        XCTAssertEqual(s.sample(logits), 1)
        XCTAssertEqual(Sampler.argmax([Float.nan, 1, 2]), 2)
    }

    func testSameSeedSameTokensDifferentSeedDifferent() {
        func run(_ seed: UInt64) -> [Int] {
            var s = Sampler(SamplingParameters(temperature: 1, seed: seed))
            return (0..<64).map { _ in s.sample(logits) }
        }
        XCTAssertEqual(run(42), run(42))
        XCTAssertNotEqual(run(42), run(43))
    }

    func testTopKOneAndTinyTopPAreGreedy() {
        var k1 = Sampler(SamplingParameters(temperature: 5, topK: 1, seed: 1))
        var p0 = Sampler(SamplingParameters(temperature: 5, topP: 1e-6, seed: 1))
        for _ in 0..<20 {
            XCTAssertEqual(k1.sample(logits), 1)
            XCTAssertEqual(p0.sample(logits), 1)
        }
    }

    /// With top-k 3 at temperature 1 the frequencies follow softmax over {3, 3, 2.5}.
    func testSampledFrequenciesFollowTheFilteredSoftmax() {
        var s = Sampler(SamplingParameters(temperature: 1, topK: 3, seed: 9))
        var counts = [Int](repeating: 0, count: logits.count)
        let n = 20000
        for _ in 0..<n { counts[s.sample(logits)] += 1 }
        let z = 2 * exp(3.0) + exp(2.5)
        XCTAssertEqual(counts[0] + counts[3] + counts[5], 0)
        XCTAssertEqual(Double(counts[2]) / Double(n), exp(2.5) / z, accuracy: 0.015)
        XCTAssertEqual(Double(counts[1]) / Double(n), exp(3.0) / z, accuracy: 0.015)
    }

    /// top-p 0.7 over probabilities {0.38, 0.38, 0.23, …} keeps the two largest.
    func testTopPKeepsTheSmallestSufficientSet() {
        var s = Sampler(SamplingParameters(temperature: 1, topP: 0.7, seed: 3))
        let seen = Set((0..<500).map { _ in s.sample(logits) })
        XCTAssertEqual(seen, [1, 4])
    }

    // MARK: llama.cpp's chain: min-p, penalties, their order (src/llama-sampling.cpp, common/common.h)

    func probabilities(_ s: Sampler, _ logits: [Float]) -> [Int: Double] {
        Dictionary(uniqueKeysWithValues: s.distribution(logits).map { ($0.id, $0.probability) })
    }

    /// min-p 0.5 keeps logits ≥ 3 + ln 0.5 = 2.307: {3, 3, 2.5}; min-p 0.7 (threshold 2.643) only the two 3s.
    func testMinPKeepsTokensAboveAFractionOfTheLargestProbability() {
        let half = probabilities(Sampler(SamplingParameters(temperature: 1, minP: 0.5)), logits)
        let z = 2 * exp(3.0) + exp(2.5)
        XCTAssertEqual(Set(half.keys), [1, 2, 4])
        XCTAssertEqual(half[1]!, exp(3.0) / z, accuracy: 1e-9)
        XCTAssertEqual(half[2]!, exp(2.5) / z, accuracy: 1e-9)
        let tight = probabilities(Sampler(SamplingParameters(temperature: 1, minP: 0.7)), logits)
        XCTAssertEqual(tight[1]!, 0.5, accuracy: 1e-12)
        XCTAssertEqual(tight[4]!, 0.5, accuracy: 1e-12)
        XCTAssertEqual(tight.count, 2)
        // Sampled frequencies follow it: token 2 at exp(2.5)/z ≈ 0.2302.
        var s = Sampler(SamplingParameters(temperature: 1, minP: 0.5, seed: 11))
        var counts = [Int](repeating: 0, count: logits.count)
        for _ in 0..<20000 { counts[s.sample(logits)] += 1 }
        XCTAssertEqual(counts[0] + counts[3] + counts[5], 0)
        XCTAssertEqual(Double(counts[2]) / 20000, exp(2.5) / z, accuracy: 0.015)
    }

    /// top-p and min-p see the logits before the temperature (llama.cpp's default order puts temperature last):
    /// top-p 0.7 keeps {1, 4} whether the temperature flattens (10) or sharpens (0.1) the draw.
    func testTopPAndMinPComeBeforeTheTemperature() {
        for t: Float in [0.1, 1, 10] {
            let d = probabilities(Sampler(SamplingParameters(temperature: t, topP: 0.7)), logits)
            XCTAssertEqual(Set(d.keys), [1, 4], "temperature \(t)")
            let m = probabilities(Sampler(SamplingParameters(temperature: t, minP: 0.5)), logits)
            XCTAssertEqual(Set(m.keys), [1, 2, 4], "temperature \(t)")
            // The temperature then shapes the kept ones: p(2)/p(1) = exp((2.5 − 3)/t).
            XCTAssertEqual(m[2]! / m[1]!, exp(-0.5 / Double(t)), accuracy: 1e-6)
        }
    }

    /// --repeat-penalty 2: a seen positive logit is divided (3 → 1.5), a seen negative one multiplied (−1 → −2).
    func testRepeatPenaltyDividesPositiveAndMultipliesNegativeLogits() {
        var s = Sampler(SamplingParameters(temperature: 1, repeatPenalty: 2))
        s.accept(contentsOf: [1, 3])
        XCTAssertEqual(s.penalized(logits), [1.0, 1.5, 2.5, -2.0, 3.0, 0.0])
        let d = probabilities(s, logits)
        let e: [Double] = [1.0, 1.5, 2.5, -2.0, 3.0, 0.0].map { exp($0) }
        XCTAssertEqual(d[1]!, e[1] / e.reduce(0, +), accuracy: 1e-9)
        XCTAssertEqual(d[3]!, e[3] / e.reduce(0, +), accuracy: 1e-9)
        // Greedy with the penalty: tokens 1 and 4 seen → 1.5 each, so 2 (2.5) wins.
        var greedy = Sampler(SamplingParameters(repeatPenalty: 2))
        greedy.accept(contentsOf: [1, 4])
        XCTAssertEqual(greedy.sample(logits), 2)
        XCTAssertFalse(SamplingParameters(repeatPenalty: 2).isPlainArgmax, "a device argmax would miss the penalty")
    }

    /// --repeat-last-n 2 counts only the last two accepted tokens; 0 turns the penalties off; −1 counts all.
    func testRepeatLastNIsTheWindow() {
        var s = Sampler(SamplingParameters(temperature: 1, repeatPenalty: 2, repeatLastN: 2))
        s.accept(contentsOf: [1, 2, 4])
        XCTAssertEqual(s.windowCounts, [2: 1, 4: 1])
        XCTAssertEqual(s.penalized(logits), [1.0, 3.0, 1.25, -1.0, 1.5, 0.0])
        s.accept(2)
        XCTAssertEqual(s.windowCounts, [2: 1, 4: 1], "the window slides: [4, 2]")
        s.accept(2)
        XCTAssertEqual(s.windowCounts, [2: 2])
        var off = Sampler(SamplingParameters(temperature: 1, repeatPenalty: 2, repeatLastN: 0))
        off.accept(contentsOf: [1, 2, 4])
        XCTAssertEqual(off.penalized(logits), logits)
        var all = Sampler(SamplingParameters(temperature: 1, repeatPenalty: 2, repeatLastN: -1))
        all.accept(contentsOf: Array(repeating: 0, count: 500) + [1])
        XCTAssertEqual(all.windowCounts, [0: 500, 1: 1])
    }

    /// --presence-penalty subtracts once per seen token; --frequency-penalty once per occurrence; after the
    /// repeat penalty's division (llama_sampler_penalties_apply).
    func testPresenceAndFrequencyPenaltiesSubtract() {
        var presence = Sampler(SamplingParameters(temperature: 1, presencePenalty: 0.5))
        presence.accept(contentsOf: [1, 1, 2])
        XCTAssertEqual(presence.penalized(logits), [1.0, 2.5, 2.0, -1.0, 3.0, 0.0])
        var frequency = Sampler(SamplingParameters(temperature: 1, frequencyPenalty: 0.5))
        frequency.accept(contentsOf: [1, 1, 2])
        XCTAssertEqual(frequency.penalized(logits), [1.0, 2.0, 2.0, -1.0, 3.0, 0.0])
        var all = Sampler(SamplingParameters(temperature: 1, repeatPenalty: 1.5, presencePenalty: 0.25, frequencyPenalty: 0.5))
        all.accept(contentsOf: [1, 1, 3])
        // 3 / 1.5 − 2·0.5 − 0.25 = 0.75; −1 · 1.5 − 0.5 − 0.25 = −2.25
        XCTAssertEqual(all.penalized(logits), [1.0, 0.75, 2.5, -2.25, 3.0, 0.0])
        // A negative presence penalty raises seen tokens (OpenAI allows −2…2).
        var negative = Sampler(SamplingParameters(temperature: 1, presencePenalty: -1))
        negative.accept(0)
        let d = probabilities(negative, logits)
        let e: [Double] = [2.0, 3.0, 2.5, -1.0, 3.0, 0.0].map { exp($0) }
        XCTAssertEqual(d[0]!, e[0] / e.reduce(0, +), accuracy: 1e-9)
    }

    /// Every option together: the same seed gives the same tokens; another seed other tokens.
    func testSameSeedSameTokensWithEveryOption() {
        let wide: [Float] = (0..<200).map { Float(($0 * 37) % 23) / 4 }
        func run(_ seed: UInt64) -> [Int] {
            var s = Sampler(SamplingParameters(temperature: 0.8, topK: 40, topP: 0.95, minP: 0.05, repeatPenalty: 1.1,
                                               repeatLastN: 16, presencePenalty: 0.2, frequencyPenalty: 0.1, seed: seed))
            return (0..<100).map { _ in let t = s.sample(wide); s.accept(t); return t }
        }
        XCTAssertEqual(run(7), run(7))
        XCTAssertNotEqual(run(7), run(8))
    }
}
