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
        npu.promptsThroughPrefill = false   // the decode path's per-row counts (PrefillBackendTests: the prefill's)
        let prompt = [3, 99, 250, 4, 61, 77]
        let expected = try Support.referenceGreedy(try Support.reference(graph, weights, context: context), prompt: prompt, count: 8)
        let loadCounters = device.counters
        XCTAssertEqual(npu.counters.load, loadCounters)
        let ids = try npu.generateGreedy(prompt: prompt, count: 8)
        XCTAssertEqual(ids, expected.ids, "greedy margins (reference): \(expected.margins)")

        // every row is one runlist: 6 prompt rows (the last one's token is the first generated; the 5 before it need
        // no logits: the decode token run alone), 7 more tokens (the decode token run and the LM head run)
        let t = npu.counters.lastToken, l = npu.layout
        XCTAssertEqual([t.runs, t.submissions, t.runlistExecutes, t.driverCommands], [2, 1, 1, 1])
        XCTAssertEqual(t.syncsToDevice, 1, "the io params and embedding row")
        XCTAssertEqual(t.bytesToDevice, l.hostInputBytes)
        XCTAssertEqual(l.hostInputBytes, 2 * (l.paramsValues + config.hiddenSize), "params region (header, cos, sin) and x")
        XCTAssertEqual(t.syncsFromDevice, 1, "the token id")
        XCTAssertEqual(t.bytesFromDevice, 4)
        XCTAssertEqual(t.buffersAllocated, 0, "nothing allocated per token")
        XCTAssertEqual(npu.counters.tokenCount, prompt.count + 7)
        XCTAssertEqual(npu.counters.tokens.runs, (prompt.count - 1) + 2 * 8)
        XCTAssertEqual(npu.counters.tokens.driverCommands, prompt.count + 7, "one driver command per row")
        XCTAssertEqual(device.counters.runs, npu.counters.tokens.runs, "no runs outside tokens")

        // bytes the runs moved, as the drivers counted them: every channel stream and norm once (weights and
        // lm_weights), the KV read up to the bucket (positions ≤ 13: one block), exactly the token's K and V rows written
        let traffic = try XCTUnwrap(npu.counters.lastTokenTraffic)
        let a = l.argumentBytes(bucket: 1), h = l.lmHeadArgumentBytes
        XCTAssertEqual(traffic.weightBytes, a.weights + h.weights)
        XCTAssertEqual(traffic.weightBytes, l.weightsBytes - (l.streamsOffset - 4 * config.layerCount * config.hiddenSize)
                           + l.lmHead.weightsBytes - (l.lmHead.streamsOffset - 2 * config.hiddenSize),
                       "the whole weights and lm_weights BOs but their alignment gaps")
        XCTAssertGreaterThanOrEqual(traffic.weightBytes, try npuWeightBytes(), "the model's weights and zero padded rows")
        XCTAssertEqual(traffic.kvReadBytes, config.layerCount * 2 * config.kvHeadCount * 64 * config.headDim * 2)
        XCTAssertEqual(traffic.kvWriteBytes, config.layerCount * 2 * config.kvDim * 2)
        XCTAssertEqual([traffic.activationReadBytes, traffic.outputBytes], [a.ioRead + h.ioRead, a.ioWritten + h.ioWritten])
        for (ch, bytes) in traffic.channels { XCTAssertEqual(bytes, l.tokenChannelTotals(bucket: 1)[ch], "\(ch)") }
        // a prompt row before the last: the decode token run alone (no LM head bytes streamed)
        let fresh = try Support.npuBackend(graph, tensors, context: context).0
        fresh.promptsThroughPrefill = false
        _ = try fresh.generateGreedy(prompt: [3, 99], count: 1)
        XCTAssertEqual(fresh.counters.tokenCount, 2)
        XCTAssertEqual(fresh.counters.tokens.runs, 3, "row 0: decode alone; row 1: decode and LM head")
        XCTAssertEqual(fresh.counters.tokensTraffic.weightBytes, 2 * a.weights + h.weights)
        XCTAssertEqual(npu.counters.lastTokenArgumentRebinds, 1, "kv_row re-bound per token")
    }

    /// bf16 bytes of every weight the decode reads per token (tied embedding read once, as the LM head).
    func npuWeightBytes() throws -> Int {
        graph.weightShapes.reduce(0) { $0 + 2 * $1.shape.reduce(1, *) }
    }

    func testStepLogitsAndSyncsPerToken() throws {
        let (npu, _) = try Support.npuBackend(graph, tensors, context: context)
        npu.promptsThroughPrefill = false   // prompt rows as decode steps: their per-row syncs
        let reference = try Support.reference(graph, weights, context: context)
        let prompt = [8, 16, 32]
        let logits = try npu.step(tokens: prompt, start: 0, logitRows: .last, observer: nil)
        let expected = try reference.step(tokens: prompt, start: 0, logitRows: .last, observer: nil)
        XCTAssertEqual(logits.count, config.vocabSize)
        XCTAssertLessThan(klDivergence(expectedLogits: expected[...], actualLogits: logits[...]), 0.02)
        XCTAssertEqual(npu.counters.tokenCount, 3)
        XCTAssertEqual(npu.counters.tokens.syncsFromDevice, 1, "only the last row's logits come back")
        let t = npu.counters.lastToken
        XCTAssertEqual([t.submissions, t.runs, t.syncsToDevice, t.syncsFromDevice], [1, 2, 1, 1])
        XCTAssertEqual(npu.counters.tokens.runs, 2 + 2, "rows 0 and 1: the decode token run alone; row 2 with the LM head")
        XCTAssertEqual(t.bytesFromDevice, 2 * config.vocabSize, "the logits region's natural rows")
        // verify mode: the same run, and one sync of every intermediate's io regions
        _ = try npu.step(tokens: [5], start: 3, logitRows: .last) { _, _, _ in }
        let v = npu.counters.lastToken, l = npu.layout
        XCTAssertEqual([v.submissions, v.runs, v.syncsFromDevice], [1, 2, 1])
        XCTAssertEqual(v.bytesFromDevice, 2 * (l.ioElements - l.layers[0].qkv))
    }

    /// A prompt longer than a KV block run as decode steps (the decode path alone; PrefillBackendTests runs it through
    /// the prefill): logits within the KL gate of the reference, and decode continuing from the cache it filled
    /// equals the reference.
    func testLongPromptThenDecode() throws {
        let (npu, _) = try Support.npuBackend(graph, tensors, context: context)
        npu.promptsThroughPrefill = false
        let reference = try Support.reference(graph, weights, context: context)
        let prompt = (0..<70).map { ($0 * 37 + 11) % config.vocabSize }
        let logits = try npu.step(tokens: prompt, start: 0, logitRows: .last, observer: nil)
        let expected = try reference.step(tokens: prompt, start: 0, logitRows: .last, observer: nil)
        let kl = klDivergence(expectedLogits: expected[...], actualLogits: logits[...])
        print("70 prompt rows as decode steps: KL \(kl)")
        XCTAssertLessThan(kl, 0.02)
        XCTAssertEqual(npu.counters.tokenCount, 70)
        XCTAssertEqual(npu.counters.tokensTraffic.kvWriteBytes, 70 * config.layerCount * 2 * config.kvDim * 2, "70 rows appended")
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

    /// Shapes the decode token cannot serve are rejected when the layout is made, naming the rule: headDim 8 (RoPE
    /// serves multiples of 32, and 16), an ffn no gemv tile height divides, 9 KV heads (one attention core each, ≤ 8).
    func testUnsupportedShapesAreRejectedAtPlanTime() throws {
        func planError(_ heads: Int, _ kvHeads: Int, _ headDim: Int, ffn: Int = 384) throws -> String? {
            let c = try ModelConfig(vocabSize: 1024, hiddenSize: 128, intermediateSize: ffn, layerCount: 2, headCount: heads,
                                    kvHeadCount: kvHeads, headDim: headDim, maxContext: 4096, tiedEmbeddings: true)
            let g = Graph.llama(c)
            do {
                _ = try NPUBackend.designs(graph: g, tensors: Support.bf16Weights(c, seed: 1), manifest: Support.manifest,
                                           contextLength: 64)
                return nil
            } catch let e as KernelPlanError { return "\(e)" }
        }
        XCTAssertNil(try planError(8, 2, 16), "the tiny golden model's shape is served")
        XCTAssertEqual(try planError(16, 2, 8), "decode: headDim=8: rope serves a multiple of 32, or 16")
        XCTAssertEqual(try planError(2, 2, 64, ffn: 416),
                       "decode: no gemv tiling serves this model (tm=64 tk=64: tm=64 does not divide ffn=416 (gate/up tile pairs); "
                           + "tm=32 tk=64: neither headDim=64 nor half of it (>= 64), the hub's object, divides tm=32; "
                           + "tm=16 tk=64: neither headDim=64 nor half of it (>= 64), the hub's object, divides tm=16; "
                           + "tm=128 tk=64: tm=128 does not divide ffn=416 (gate/up tile pairs))")
        XCTAssertEqual(try planError(18, 9, 16),
                       "decode: kvHeads=9: the design has one attention core per KV head and at most 8 (2 pack fifos of 4)")
    }
}
