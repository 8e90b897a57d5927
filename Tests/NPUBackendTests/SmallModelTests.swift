// NPUBackend on the emulated NPU with a small random Llama: verify against the CPU reference, greedy equality, exact counters per token.
import LlamaCore
import NPUBackend
import ReferenceBackend
import Scheduler
import XCTest

final class SmallModelTests: XCTestCase {
    let config = Support.smallConfig
    lazy var graph = Graph.llama(config)
    lazy var tensors = Support.bf16Weights(config, seed: 5)
    lazy var weights = try! FloatWeights(graph: graph, source: tensors)
    let context = 256

    func testVerifyPassesAgainstTheReference() throws {
        let (npu, _) = try Support.npuBackend(graph, tensors, context: context)
        XCTAssertEqual(npu.label, "emulated NPU")
        try npu.checkPlacement()
        let verifier = Verifier(checked: npu, teacher: try Support.reference(graph, weights, context: context),
                                free: try Support.reference(graph, weights, context: context))
        let report = try verifier.verifyCase(name: "small", promptIDs: [1, 17, 300, 42, 7], decodeSteps: 4)
        XCTAssertTrue(report.passed, Support.failures(report))
        XCTAssertEqual(Set(report.checks.map(\.node)).count, graph.nodes.count, "every named node is compared")
        print("small model verify:\n" + Support.failures(report))
    }

    func testGreedyEqualsReferenceAndCountersAreExact() throws {
        let (npu, device) = try Support.npuBackend(graph, tensors, context: context)
        let prompt = [3, 99, 250, 4, 61, 77]
        let expected = try Support.referenceGreedy(try Support.reference(graph, weights, context: context), prompt: prompt, count: 8)
        let loadCounters = device.counters
        XCTAssertEqual(npu.counters.load, loadCounters)
        let ids = try npu.generateGreedy(prompt: prompt, count: 8)
        XCTAssertEqual(ids, expected.ids, "greedy margins (reference): \(expected.margins)")

        // the last token was a greedy decode step: one runlist submission, 2 runs per layer + the LM head
        let t = npu.counters.lastToken
        let layers = config.layerCount
        XCTAssertEqual(t.submissions, 1)
        XCTAssertEqual(t.runs, 2 * layers + 1)
        XCTAssertEqual(t.syncsToDevice, 1, "the step params BO")
        XCTAssertEqual(t.bytesToDevice, 32 + 2 * config.headDim + 2 * config.hiddenSize)
        XCTAssertEqual(t.syncsFromDevice, 1, "the token id")
        XCTAssertEqual(t.bytesFromDevice, 4)
        XCTAssertEqual(t.buffersAllocated, 0, "nothing allocated per token")
        // the prompt: one prefill chunk (15 per-op runs per layer + the argmax LM head), one runlist;
        // its argmax is the first generated token, the 7 others are decode tokens
        let p = npu.counters.lastPrefillChunk
        XCTAssertEqual(npu.counters.prefillChunkCount, 1)
        XCTAssertEqual(p.submissions, 1)
        XCTAssertEqual(p.runs, 15 * layers + 1)
        XCTAssertEqual(p.syncsToDevice, 1)
        XCTAssertEqual(p.syncsFromDevice, 1)
        XCTAssertEqual(p.bytesFromDevice, 4)
        XCTAssertEqual(npu.counters.tokenCount, 7)
        XCTAssertEqual(npu.counters.tokens.submissions, 7)
        XCTAssertEqual(npu.counters.tokens.runs, 7 * (2 * layers + 1))
        XCTAssertEqual(device.counters.runs, npu.counters.tokens.runs + p.runs, "no runs outside prefill and tokens")

        // bytes the runs read: every weight once per token, the KV read up to the bucket
        let traffic = try XCTUnwrap(npu.counters.lastTokenTraffic)
        let weightBytes = try npuWeightBytes()
        XCTAssertEqual(traffic.weightBytes, weightBytes)
        let bucketPositions = 64   // positions ≤ 13 < one block
        XCTAssertEqual(traffic.kvReadBytes, layers * 2 * config.kvHeadCount * bucketPositions * config.headDim * 2)
        // the KV append writes exactly the token's rows through k_row / v_row: K and V, kvDim each, per layer
        XCTAssertEqual(traffic.kvWriteBytes, layers * 2 * config.kvDim * 2)
        XCTAssertEqual(npu.counters.lastTokenArgumentRebinds, 2 * layers, "k_row and v_row re-bound per layer")
    }

    /// bf16 bytes of every weight the decode reads per token (tied embedding read once, as the LM head).
    func npuWeightBytes() throws -> Int {
        graph.weightShapes.reduce(0) { $0 + 2 * $1.shape.reduce(1, *) }
    }

    func testStepLogitsAndSyncsPerToken() throws {
        let (npu, _) = try Support.npuBackend(graph, tensors, context: context)
        let reference = try Support.reference(graph, weights, context: context)
        let prompt = [8, 16, 32]
        let logits = try npu.step(tokens: prompt, start: 0, logitRows: .last, observer: nil)
        let expected = try reference.step(tokens: prompt, start: 0, logitRows: .last, observer: nil)
        XCTAssertEqual(logits.count, config.vocabSize)
        XCTAssertLessThan(klDivergence(expectedLogits: expected[...], actualLogits: logits[...]), 0.02)
        let p = npu.counters.lastPrefillChunk
        XCTAssertEqual(p.submissions, 1)
        XCTAssertEqual(p.runs, 15 * config.layerCount + 1)
        XCTAssertEqual(p.syncsToDevice, 1)
        XCTAssertEqual(p.syncsFromDevice, 1, "the logits")
        XCTAssertEqual(p.bytesFromDevice, 2 * config.vocabSize)
        _ = try npu.step(tokens: [9], start: 3, logitRows: .last, observer: nil)
        let t = npu.counters.lastToken
        XCTAssertEqual(t.submissions, 1)
        XCTAssertEqual(t.runs, 2 * config.layerCount + 1)
        XCTAssertEqual(t.syncsToDevice, 1)
        XCTAssertEqual(t.syncsFromDevice, 1, "the logits")
        XCTAssertEqual(t.bytesFromDevice, 2 * config.vocabSize)
        // verify mode: the same runs and submissions, plus the taps syncs
        _ = try npu.step(tokens: [5], start: 4, logitRows: .last) { _, _, _ in }
        let v = npu.counters.lastToken
        XCTAssertEqual(v.submissions, 1)
        XCTAssertEqual(v.runs, 2 * config.layerCount + 1)
        XCTAssertEqual(v.syncsFromDevice, 1 + 2 * config.layerCount + 1, "logits + taps of every half + result_norm")
    }

    /// A prompt longer than a chunk (64 rows) through the chunked prefill: logits within the KL gate
    /// of the reference, and decode continuing from the cache it filled equals the reference.
    func testChunkedPrefillAcrossChunksThenDecode() throws {
        let (npu, _) = try Support.npuBackend(graph, tensors, context: context)
        let reference = try Support.reference(graph, weights, context: context)
        let prompt = (0..<70).map { ($0 * 37 + 11) % config.vocabSize }
        let logits = try npu.step(tokens: prompt, start: 0, logitRows: .last, observer: nil)
        let expected = try reference.step(tokens: prompt, start: 0, logitRows: .last, observer: nil)
        let kl = klDivergence(expectedLogits: expected[...], actualLogits: logits[...])
        print("chunked prefill, 70 rows: KL \(kl)")
        XCTAssertLessThan(kl, 0.02)
        XCTAssertEqual(npu.counters.prefillChunkCount, 2)
        XCTAssertEqual(npu.counters.prefill.submissions, 2)
        XCTAssertEqual(npu.counters.prefill.runs, 2 * 15 * config.layerCount + 1, "LM head on the last chunk only")
        let traffic = try XCTUnwrap(npu.counters.lastPrefillTraffic)
        XCTAssertEqual(traffic.kvWriteBytes, config.layerCount * 2 * 6 * config.kvDim * 2, "6 rows appended in chunk 2")
        // decode from the prefilled cache
        var token = Sampler.argmax(logits), pos = prompt.count
        XCTAssertEqual(token, Sampler.argmax(expected))
        for _ in 0..<4 {
            let a = try npu.step(tokens: [token], start: pos, logitRows: .last, observer: nil)
            let b = try reference.step(tokens: [token], start: pos, logitRows: .last, observer: nil)
            XCTAssertLessThan(klDivergence(expectedLogits: b[...], actualLogits: a[...]), 0.02)
            XCTAssertEqual(Sampler.argmax(a), Sampler.argmax(b))
            token = Sampler.argmax(b)
            pos += 1
        }
    }

    /// Shapes no tiling candidate serves are still rejected when the plan is made, naming the constraint:
    /// headDim 8 (RoPE serves multiples of 32, and 16), and K/V rows (kvDim 24) no gemv tile height divides.
    func testUnsupportedShapesAreRejectedAtPlanTime() throws {
        func planError(_ heads: Int, _ kvHeads: Int, _ headDim: Int) throws -> String? {
            let c = try ModelConfig(vocabSize: 1024, hiddenSize: 128, intermediateSize: 384, layerCount: 2, headCount: heads,
                                    kvHeadCount: kvHeads, headDim: headDim, maxContext: 4096, tiedEmbeddings: true)
            let g = Graph.llama(c)
            do {
                _ = try NPUBackend.plan(graph: g, tensors: Support.bf16Weights(c, seed: 1), manifest: Support.manifest,
                                        contextLength: 64)
                return nil
            } catch let e as KernelPlanError { return "\(e)" }
        }
        XCTAssertNil(try planError(8, 2, 16), "the tiny golden model's shape is served")
        XCTAssertEqual(try planError(16, 2, 8),
                       "Qrope: headDim=8 is neither a multiple of 32 (16-lane halves) nor 16 (two heads per 32-lane vector)")
        XCTAssertEqual(try planError(4, 1, 24), "Kcur: M=24 is not a multiple of the tile M=16 (tilings tried: tm=64, tm=32, tm=16)")
    }
}
