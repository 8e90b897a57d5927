// The CPU reference against HF transformers' fp32 goldens, layer by layer, and greedy token for token.
import XCTest
import Foundation
import LlamaCore
@testable import ReferenceBackend

/// Bounds for fp32 (ours, OpenBLAS) vs fp32 (PyTorch): same math, different summation order.
enum GoldenBounds {
    /// Tiny model, 4 layers: rounding differences only (~1e-14 observed); 1e-8 per the issue.
    static let tinyNMSE = 1e-8
    /// SmolLM2-135M, 30 layers with Q4_1/Q8_0 weights dequantized to fp32 (bit-exact, as HF does):
    /// only summation-order rounding differs. Observed worst 1e-11 (logits) on this machine; the bound
    /// leaves 100× for other CPUs' BLAS kernels and is still ~10⁸ below what a real bug produces
    /// (a wrong RoPE pairing gives > 1e-1, see KVCacheTests).
    static let smolNMSE = 1e-9
}

final class GoldenTests: XCTestCase {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static func golden(_ name: String) -> String { repo + "/Golden/" + name }

    static var smolLM2Path: String { ModelCache.smolLM2GGUF }

    /// Runs every golden case's prompt through `model` and compares every golden tensor by name;
    /// then greedy-decodes over the KV cache and compares the ids. Returns the worst NMSE per tensor.
    @discardableResult
    func check(model: LoadedModel, golden: GoldenSet, bound: Double, tensorFilter: (String) -> Bool = { _ in true })
        throws -> [String: Double] {
        let graph = Graph.llama(model.config)
        let weights = try FloatWeights(graph: graph, source: model.tensors)
        var worst: [String: Double] = [:]
        for goldenCase in golden.cases {
            let total = goldenCase.promptIDs.count + goldenCase.greedyIDs.count
            let backend = try ReferenceBackend(graph: graph, weights: weights, contextLength: total + 1, maxBatch: total + 1)
            var outputs: [String: [Float]] = [:]
            let logits = try backend.step(tokens: goldenCase.promptIDs, start: 0, logitRows: .all) { node, out, _ in
                if goldenCase.tensorFiles[node.name] != nil { outputs[node.name] = Array(out) }
            }
            XCTAssertEqual(outputs.count, goldenCase.tensorFiles.count, "every golden tensor has a node of that name")
            for name in goldenCase.tensorFiles.keys.sorted() where tensorFilter(name) {
                let expected = try golden.tensor(name, of: goldenCase)
                guard let actual = outputs[name] else { XCTFail("no node named \(name)"); continue }
                XCTAssertEqual(expected.values.count, actual.count, "\(goldenCase.name)/\(name) size")
                guard expected.values.count == actual.count else { continue }
                let m = ErrorMetrics(expected: expected.values, actual: actual)
                worst[name] = max(worst[name] ?? 0, m.nmse)
                XCTAssertEqual(m.nonFinite, 0, "\(goldenCase.name)/\(name)")
                XCTAssertLessThanOrEqual(m.nmse, bound, "\(golden.modelName) \(goldenCase.name)/\(name): \(m)")
            }
            // Prompt-position argmax of our logits equals the golden logits' argmax everywhere.
            let vocab = model.config.vocabSize
            let goldenLogits = try golden.tensor("result_output", of: goldenCase).values
            for row in 0..<goldenCase.promptIDs.count {
                let slice = row * vocab..<(row + 1) * vocab
                XCTAssertEqual(Sampler.argmax(Array(logits[slice])), Sampler.argmax(Array(goldenLogits[slice])),
                               "\(goldenCase.name) prompt position \(row)")
            }
            // Greedy continuation over the KV cache, token for token.
            var greedy = [Sampler.argmax(Array(logits.suffix(vocab)))]
            var position = goldenCase.promptIDs.count
            while greedy.count < goldenCase.greedyIDs.count {
                let next = try backend.step(tokens: [greedy.last!], start: position, logitRows: .last)
                position += 1
                greedy.append(Sampler.argmax(next))
            }
            XCTAssertEqual(greedy, goldenCase.greedyIDs, "\(golden.modelName) \(goldenCase.name) greedy continuation")
        }
        let summary = worst.sorted { $0.key < $1.key }.map { "\($0.key)=\(String(format: "%.2e", $0.value))" }
        print("[CPU reference vs HF fp32 goldens] \(golden.modelName): worst NMSE per tensor: \(summary.joined(separator: " "))")
        return worst
    }

    func testTinyLlama32FromSafetensorsMatchesGoldens() throws {
        let model = try LoadedModel.open(path: Self.golden("tiny-llama32/model"))
        XCTAssertEqual(model.config.ropePairing, .halfSplit)
        XCTAssertEqual(model.config.ropeScaling, .llama3(factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalContext: 8192))
        try check(model: model, golden: GoldenSet(directory: Self.golden("tiny-llama32")), bound: GoldenBounds.tinyNMSE)
    }

    /// The same model from its GGUF (adjacent pairing, permuted q/k, llama3 scaling as rope_freqs):
    /// the residual stream and logits are pairing-invariant, so the same goldens apply.
    func testTinyLlama32FromGGUFMatchesGoldens() throws {
        let model = try LoadedModel.open(path: Self.golden("tiny-llama32/tiny-llama32.bf16.gguf"))
        XCTAssertEqual(model.config.ropePairing, .adjacent)
        guard case .perDimension(let factors) = model.config.ropeScaling else { return XCTFail("rope_freqs not read") }
        XCTAssertEqual(factors.count, 8)
        try check(model: model, golden: GoldenSet(directory: Self.golden("tiny-llama32")), bound: GoldenBounds.tinyNMSE)
    }

    /// Same model, two sources: the logits agree to rounding.
    func testTinyLlama32SafetensorsAndGGUFGiveTheSameLogits() throws {
        let ids = [1, 687, 574, 598, 69, 916, 230, 605, 12, 400]
        func logits(_ path: String) throws -> [Float] {
            let model = try LoadedModel.open(path: path)
            let graph = Graph.llama(model.config)
            return try ReferenceBackend(graph: graph, weights: FloatWeights(graph: graph, source: model.tensors),
                                        contextLength: 16, maxBatch: 16).step(tokens: ids, start: 0, logitRows: .all)
        }
        let a = try logits(Self.golden("tiny-llama32/model"))
        let b = try logits(Self.golden("tiny-llama32/tiny-llama32.bf16.gguf"))
        let m = ErrorMetrics(expected: a, actual: b)
        XCTAssertLessThan(m.nmse, 1e-12, "\(m)")
    }

    func testSmolLM2MatchesGoldens() throws {
        guard FileManager.default.fileExists(atPath: Self.smolLM2Path) else {
            throw XCTSkip("SmolLM2 GGUF not found at \(Self.smolLM2Path); \(ModelCache.fetchHint)")
        }
        let golden = try GoldenSet(directory: Self.golden("smollm2-135m-instruct-q4_1"))
        XCTAssertEqual(golden.modelSHA256, "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53")
        let model = try LoadedModel.open(path: Self.smolLM2Path)
        let worst = try check(model: model, golden: golden, bound: GoldenBounds.smolNMSE)
        XCTAssertEqual(worst.count, 33)
        XCTAssertEqual(golden.cases.first?.prompt, "The capital of France is")
        XCTAssertEqual(golden.cases.first?.greedyIDs.prefix(2), [7042, 30], "golden says \" Paris.\"")
    }
}
