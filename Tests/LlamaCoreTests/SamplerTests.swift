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
}
