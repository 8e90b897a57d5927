// The generation loop over the CPU reference: greedy equals step-by-step argmax of full recompute.
import XCTest
import LlamaCore
import ReferenceBackend
@testable import Scheduler

final class GeneratorTests: XCTestCase {
    func makeBackend(context: Int = 48, maxBatch: Int = 8) throws -> ReferenceBackend {
        let config = try ModelConfig(vocabSize: 61, hiddenSize: 32, intermediateSize: 48, layerCount: 2, headCount: 4,
                                     kvHeadCount: 1, headDim: 8, ropeTheta: 10000, maxContext: 64, tiedEmbeddings: false)
        let graph = Graph.llama(config)
        return try ReferenceBackend(graph: graph, weights: FloatWeights(graph: graph, source: TensorDictionary.randomLlama(config, seed: 5, scale: 0.3)),
                                    contextLength: context, maxBatch: maxBatch)
    }

    /// Greedy generation (chunked prefill, cached decode) must pick, at every step, the argmax of a
    /// fresh full recompute of the sequence so far.
    func testGreedyEqualsArgmaxOfFullRecompute() throws {
        let prompt = [3, 14, 15, 9, 26, 5, 35, 8, 9, 7, 9, 3, 2, 38, 4, 6, 26, 43, 38, 32]   // 20 > maxBatch 8
        let result = try Generator(backend: makeBackend()).generate(promptIDs: prompt, maxTokens: 12)
        XCTAssertEqual(result.generatedIDs.count, 12)
        XCTAssertEqual(result.stopReason, .maxTokens)
        var sequence = prompt
        for id in result.generatedIDs {
            let fresh = try makeBackend(context: 48, maxBatch: 48)
            let logits = try fresh.step(tokens: sequence, start: 0, logitRows: .last, observer: nil)
            XCTAssertEqual(id, Sampler.argmax(logits), "after \(sequence.count) tokens")
            sequence.append(id)
        }
    }

    func testStopTokenCancelAndContextFull() throws {
        let prompt = [1, 2, 3]
        let free = try Generator(backend: makeBackend()).generate(promptIDs: prompt, maxTokens: 6)
        let stop = free.generatedIDs[2]
        let stopped = try Generator(backend: makeBackend()).generate(promptIDs: prompt, maxTokens: 6, stopTokenIDs: [stop])
        XCTAssertEqual(stopped.stopReason, .stopToken)
        XCTAssertEqual(stopped.generatedIDs, Array(free.generatedIDs.prefix(through: free.generatedIDs.firstIndex(of: stop)!)))

        var seen = 0
        let cancelled = try Generator(backend: makeBackend()).generate(promptIDs: prompt, maxTokens: 6) { _ in seen += 1; return seen < 2 }
        XCTAssertEqual(cancelled.stopReason, .cancelled)
        XCTAssertEqual(cancelled.generatedIDs.count, 2)

        let full = try Generator(backend: makeBackend(context: 10)).generate(promptIDs: prompt, maxTokens: 50)
        XCTAssertEqual(full.stopReason, .contextFull)
        XCTAssertEqual(full.promptIDs.count + full.generatedIDs.count, 11, "10 cached positions + the last sampled token")

        XCTAssertThrowsError(try Generator(backend: makeBackend(context: 10)).generate(promptIDs: Array(repeating: 1, count: 11), maxTokens: 1)) {
            XCTAssertEqual($0 as? StepError, .contextFull(position: 0, tokens: 11, contextLength: 10))
        }
        XCTAssertThrowsError(try Generator(backend: makeBackend()).generate(promptIDs: [], maxTokens: 1)) {
            XCTAssertEqual($0 as? GenerationError, .emptyPrompt)
        }
    }

    func testSeededSamplingIsRepeatable() throws {
        let params = SamplingParameters(temperature: 0.9, topK: 20, topP: 0.95, seed: 1234)
        let a = try Generator(backend: makeBackend()).generate(promptIDs: [5, 6, 7], maxTokens: 16, sampling: params)
        let b = try Generator(backend: makeBackend()).generate(promptIDs: [5, 6, 7], maxTokens: 16, sampling: params)
        XCTAssertEqual(a.generatedIDs, b.generatedIDs)
    }
}

/// `onLogits` (what the server's logprobs read) shows the row each token was chosen from, and asking for it changes
/// no token: greedy then brings logits back instead of the device's argmax, and picks the same ids.
extension GeneratorTests {
    func testOnLogitsSeesTheRowOfEveryTokenAndChangesNothing() throws {
        let prompt = [3, 14, 15, 9, 26]
        let tests = self
        let plain = try Generator(backend: tests.makeBackend()).generate(promptIDs: prompt, maxTokens: 10)
        var rows: [(logits: [Float], id: Int)] = []
        let observed = try Generator(backend: tests.makeBackend()).generate(promptIDs: prompt, maxTokens: 10,
                                                                            onLogits: { rows.append(($0, $1)) })
        XCTAssertEqual(observed.generatedIDs, plain.generatedIDs)
        XCTAssertEqual(rows.map(\.id), plain.generatedIDs)
        for row in rows {
            XCTAssertEqual(row.logits.count, 61)
            XCTAssertEqual(Sampler.argmax(row.logits), row.id)
        }
        let sampling = SamplingParameters(temperature: 0.8, topK: 0, topP: 0.9, seed: 3)
        let sampled = try Generator(backend: tests.makeBackend()).generate(promptIDs: prompt, maxTokens: 10, sampling: sampling)
        var count = 0
        let sampledObserved = try Generator(backend: tests.makeBackend()).generate(promptIDs: prompt, maxTokens: 10, sampling: sampling,
                                                                                   onLogits: { _, _ in count += 1 })
        XCTAssertEqual(sampledObserved.generatedIDs, sampled.generatedIDs)
        XCTAssertEqual(count, 10)
    }
}
