// SmolLM2-135M as shipped (Q4_1 projections, Q8_0 embedding → bf16 LM head in its own run) on NPUBackend over the emulated NPU: verify vs reference and goldens, greedy, counters.
import Foundation
import LlamaCore
import NPUBackend
import ReferenceBackend
import Scheduler
import XCTest

final class SmolLM2Tests: XCTestCase {
    static let context = 128

    func model() throws -> LoadedModel {
        let path = ModelCache.smolLM2GGUF
        guard FileManager.default.fileExists(atPath: path) else {
            throw XCTSkip("SmolLM2 GGUF not found at \(path): \(ModelCache.fetchHint)")
        }
        return try LoadedModel.open(path: path)
    }

    func testVerifyAgainstReferenceAndGoldens() throws {
        let m = try model()
        let graph = Graph.llama(m.config)
        let weights = try FloatWeights(graph: graph, source: m.tensors)
        let (npu, _) = try Support.npuBackend(graph, m.tensors, context: Self.context)
        XCTAssertEqual(npu.dtype(of: graph.node(named: "Qcur-0")!), .q4_1)
        XCTAssertEqual(npu.dtype(of: graph.node(named: "result_output")!), .q8_0, "Q8_0 converted to bf16 at upload")
        XCTAssertEqual([npu.designs.projectionDType, npu.designs.lmHeadDType], [.q4_1, .bf16])
        XCTAssertEqual(npu.designs.all.map(\.kernelName), ["decode_q4_1_b1", "decode_q4_1_b2", "lm_head_bf16", "prefill_q4_1_b1",
                                                            "prefill_q4_1_b2"])
        let golden = try GoldenSet(directory: Support.root.appendingPathComponent("Golden/smollm2-135m-instruct-q4_1").path)
        let capital = golden.cases.first { $0.name == "capital" }!
        let verifier = Verifier(checked: npu, teacher: try Support.reference(graph, weights, context: Self.context),
                                free: try Support.reference(graph, weights, context: Self.context))
        let report = try verifier.verifyCase(name: "capital", promptIDs: capital.promptIDs, decodeSteps: 2,
                                             golden: (golden, capital))
        print("SmolLM2 verify (emulated NPU):\n" + Support.failures(report))
        let worst = Dictionary(grouping: report.checks, by: \.against).mapValues { $0.map(\.nmse).max() ?? 0 }
        print("worst NMSE per comparison: \(worst)")
        XCTAssertTrue(report.passed, Support.failures(report))
        XCTAssertEqual(report.generatedIDs, Array(capital.greedyIDs.prefix(2)))
    }

    func testGreedyEqualsGoldenAndCountsPerToken() throws {
        let m = try model()
        let graph = Graph.llama(m.config)
        let (npu, _) = try Support.npuBackend(graph, m.tensors, context: Self.context)
        let golden = try GoldenSet(directory: Support.root.appendingPathComponent("Golden/smollm2-135m-instruct-q4_1").path)
        let capital = golden.cases.first { $0.name == "capital" }!
        let clock = ContinuousClock()
        let started = clock.now
        let ids = try npu.generateGreedy(prompt: capital.promptIDs, count: 4)
        print("SmolLM2 emulated: \(capital.promptIDs.count) prompt rows + 3 decode tokens in \(clock.now - started)")
        XCTAssertEqual(ids, Array(capital.greedyIDs.prefix(4)), "golden margins: \(capital.greedyMargins.prefix(4))")
        let t = npu.counters.lastToken
        XCTAssertEqual(t.submissions, 1)
        XCTAssertEqual(t.runs, 2, "the decode token run (30 layers) and the LM head run")
        XCTAssertEqual([t.runlistExecutes, t.driverCommands], [1, 1], "one runlist, one chained command")
        XCTAssertEqual(t.syncsToDevice + t.syncsFromDevice, 2, "io inputs in, token id out")
        XCTAssertEqual(t.bytesFromDevice, 4)
    }

    /// Every golden case's whole greedy continuation (the prompt as decode steps, then argmax decode on the NPU).
    func testFullGreedyContinuationsEqualTheGoldens() throws {
        let m = try model()
        let graph = Graph.llama(m.config)
        let golden = try GoldenSet(directory: Support.root.appendingPathComponent("Golden/smollm2-135m-instruct-q4_1").path)
        for c in golden.cases {
            let (npu, _) = try Support.npuBackend(graph, m.tensors, context: Self.context)
            let ids = try npu.generateGreedy(prompt: c.promptIDs, count: c.greedyIDs.count)
            let firstDiff = zip(ids, c.greedyIDs).enumerated().first { $0.element.0 != $0.element.1 }?.offset
            print("SmolLM2 \(c.name): \(ids.count) greedy tokens, first difference from the golden: \(firstDiff.map(String.init) ?? "none")" +
                  (firstDiff.map { ", golden margin there \(c.greedyMargins[$0])" } ?? ""))
            guard let d = firstDiff else { continue }
            // a divergence must be a near-tie: measure both candidates' logits on the golden prefix,
            // on the NPU and on the fp32 reference
            let prefix = c.promptIDs + c.greedyIDs.prefix(d)
            let (fresh, _) = try Support.npuBackend(graph, m.tensors, context: Self.context)
            // the path greedy took: the prompt and d − 1 tokens as decode steps, then the step at d with its logits
            _ = try fresh.generateGreedy(prompt: c.promptIDs, count: d)
            let npuLogits = try fresh.step(tokens: [c.greedyIDs[d - 1]], start: prefix.count - 1, logitRows: .last, observer: nil)
            let (prefilled, _) = try Support.npuBackend(graph, m.tensors, context: Self.context)
            let prefillLogits = try prefilled.step(tokens: prefix, start: 0, logitRows: .last, observer: nil)   // one multi-row step
            let reference = try Support.reference(graph, try FloatWeights(graph: graph, source: m.tensors), context: Self.context)
            let refLogits = try reference.step(tokens: prefix, start: 0, logitRows: .last, observer: nil)
            let (g, n) = (c.greedyIDs[d], ids[d])
            let npuGap = npuLogits[g] - npuLogits[n], refGap = refLogits[g] - refLogits[n]
            print("  at \(d): golden picks \(g), NPU picks \(n); logit(golden) − logit(NPU pick): NPU decode \(npuGap), " +
                  "NPU multi-row step of the same prefix \(prefillLogits[g] - prefillLogits[n]), " +
                  "fp32 reference \(refGap), golden file \(c.greedyMargins[d]); KL \(klDivergence(expectedLogits: refLogits[...], actualLogits: npuLogits[...]))")
            XCTAssertEqual(Array(ids.prefix(d)), Array(c.greedyIDs.prefix(d)))
            XCTAssertLessThan(abs(npuGap), 0.25, "\(c.name): the NPU's own choice is a near-tie (bf16 activations)")
            XCTAssertLessThan(c.greedyMargins[d], 0.25, "\(c.name): the golden choice is a near-tie")
        }
    }
}
