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
        // prompt rows before the last run the layers only
        XCTAssertEqual(npu.counters.tokenCount, prompt.count - 1 + 8)
        XCTAssertEqual(npu.counters.tokens.submissions, prompt.count - 1 + 8)
        XCTAssertEqual(npu.counters.tokens.runs, (prompt.count - 1) * 2 * layers + 8 * (2 * layers + 1))
        XCTAssertEqual(device.counters.runs, npu.counters.tokens.runs, "no runs outside tokens")

        // bytes the runs read: every weight once per token, the KV read up to the bucket
        let traffic = try XCTUnwrap(npu.counters.lastTokenTraffic)
        let weightBytes = try npuWeightBytes()
        XCTAssertEqual(traffic.weightBytes, weightBytes)
        let bucketPositions = 64   // positions ≤ 13 < one block
        XCTAssertEqual(traffic.kvReadBytes, layers * 2 * config.kvHeadCount * bucketPositions * config.headDim * 2)
        XCTAssertEqual(traffic.kvWriteBytes, layers * 2 * config.kvDim * 2)
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
        let t = npu.counters.lastToken
        XCTAssertEqual(t.submissions, 1)
        XCTAssertEqual(t.runs, 2 * config.layerCount + 1)
        XCTAssertEqual(t.syncsToDevice, 1)
        XCTAssertEqual(t.syncsFromDevice, 1, "the logits")
        XCTAssertEqual(t.bytesFromDevice, 2 * config.vocabSize)
        // verify mode: the same runs and submissions, plus the taps syncs
        _ = try npu.step(tokens: [5], start: 3, logitRows: .last) { _, _, _ in }
        let v = npu.counters.lastToken
        XCTAssertEqual(v.submissions, 1)
        XCTAssertEqual(v.runs, 2 * config.layerCount + 1)
        XCTAssertEqual(v.syncsFromDevice, 1 + 2 * config.layerCount + 1, "logits + taps of every half + result_norm")
    }

    func testTinyGoldenModelIsRejectedAtPlanTime() throws {
        let model = try LoadedModel.open(path: Support.root.appendingPathComponent("Golden/tiny-llama32/model").path)
        XCTAssertThrowsError(try NPUBackend.plan(graph: Graph.llama(model.config), tensors: model.tensors,
                                                 manifest: Support.manifest, contextLength: 64)) { error in
            let e = error as? KernelPlanError
            XCTAssertNotNil(e)
            print("tiny-llama32 on the NPU kernels: \(error)")
        }
    }
}
