// SmolLM2-135M converted at load (to GGUF Q4_0, or to bf16: every matrix, the tied embedding / LM head too) on NPUBackend over the emulated NPU, against the CPU reference on the same converted weights.
import Foundation
import LlamaCore
import NPUBackend
import ReferenceBackend
import Scheduler
import XCTest

final class ConvertedSmolLM2Tests: XCTestCase {
    static let context = 128

    /// The model, its converted view and the reference's fp32 copy of that view: converted once per run and format.
    nonisolated(unsafe) private static var cached: [DType: (model: LoadedModel, weights: FloatWeights)] = [:]

    func converted(_ format: DType = .q4_0) throws -> (model: LoadedModel, graph: Graph, weights: FloatWeights) {
        if let c = Self.cached[format] { return (c.model, Graph.llama(c.model.config), c.weights) }
        let path = ModelCache.smolLM2GGUF
        guard FileManager.default.fileExists(atPath: path) else {
            throw XCTSkip("SmolLM2 GGUF not found at \(path): \(ModelCache.fetchHint)")
        }
        let model = try LoadedModel.open(path: path).convertingMatrices(to: format)
        let graph = Graph.llama(model.config)
        let weights = try FloatWeights(graph: graph, source: model.tensors)
        Self.cached[format] = (model, weights)
        return (model, graph, weights)
    }

    func golden() throws -> GoldenSet {
        try GoldenSet(directory: Support.root.appendingPathComponent("Golden/smollm2-135m-instruct-q4_1").path)
    }

    func testEveryMatrixIsQ4_0OnBothSides() throws {
        let (m, graph, weights) = try converted()
        for name in ["blk.0.attn_q.weight", "blk.29.ffn_down.weight", "token_embd.weight"] {
            XCTAssertEqual(m.tensors.info(name)?.dtype, .q4_0, name)
            // the reference holds exactly the dequantized Q4_0 blocks the NPU is given
            let raw = try m.tensors.rawBytes(name)
            let rows = min(64, m.tensors.info(name)!.shape[0]) * m.tensors.info(name)!.shape[1]
            XCTAssertEqual(Array(weights[name]!.prefix(rows)), dequantize(UnsafeRawBufferPointer(rebasing: raw[0..<rows / 32 * 18]), as: .q4_0), name)
        }
        XCTAssertEqual(m.tensors.info("blk.0.attn_norm.weight")?.dtype, .f32, "norm weights stay as stored")
        let (npu, _) = try Support.npuBackend(graph, m.tensors, context: Self.context)
        XCTAssertEqual(npu.designs.projectionDType, .q4_0)
        XCTAssertEqual(npu.designs.lmHeadDType, .q4_0)
        XCTAssertEqual(npu.dtype(of: graph.node(named: "Qcur-0")!), .q4_0)
        XCTAssertEqual(npu.dtype(of: graph.node(named: "result_output")!), .q4_0)
        XCTAssertEqual([npu.designs.all.first?.kernelName, npu.designs.lmHead.kernelName, npu.designs.all.last?.kernelName],
                       ["decode_q4_0_b1", "lm_head_q4_0", "prefill_q4_0_b2"])
    }

    func testVerifyAgainstTheReferenceOnTheSameQ4_0Weights() throws { try verify(.q4_0) }
    func testVerifyAgainstTheReferenceOnTheSameBF16Weights() throws { try verify(.bf16) }

    /// Teacher-forced per node within ToleranceTable (gemv/lm_head of the format, the bf16 ops), the
    /// KL gate on the logits, on both golden prompts with a few decode steps.
    func verify(_ format: DType) throws {
        let (m, graph, weights) = try converted(format)
        for c in try golden().cases {
            let (npu, _) = try Support.npuBackend(graph, m.tensors, context: Self.context)
            let verifier = Verifier(checked: npu, teacher: try Support.reference(graph, weights, context: Self.context),
                                    free: try Support.reference(graph, weights, context: Self.context))
            let report = try verifier.verifyCase(name: c.name, promptIDs: c.promptIDs, decodeSteps: 3)
            let teacher = report.checks.filter { $0.against == "teacher-forced" }
            let worst = Dictionary(grouping: teacher, by: { "\($0.op)/\($0.dtype)" }).mapValues { $0.map(\.nmse).max() ?? 0 }
            print("SmolLM2 \(format.rawValue) \(c.name) verify (emulated NPU vs CPU reference on the same \(format.rawValue) weights):\n" + Support.failures(report))
            print("  worst teacher-forced NMSE per op/dtype: \(worst.sorted { $0.key < $1.key })")
            XCTAssertTrue(report.passed, Support.failures(report))
            XCTAssertFalse(teacher.isEmpty)
            let dtype = format == .q4_0 ? "Q4_0" : "BF16"
            XCTAssertTrue(teacher.contains { $0.dtype == dtype && $0.op == "gemv" }, "\(Set(teacher.map(\.dtype)))")
            XCTAssertTrue(teacher.contains { $0.dtype == dtype && $0.op == "lm_head" })
            XCTAssertTrue(report.logits.allSatisfy(\.passed), "KL gate")
        }
    }

    /// Greedy on every golden prompt, as long as the golden's continuation: along the CPU reference's
    /// continuation on the same converted weights (its tokens fed to the NPU), every NPU argmax agrees with
    /// the reference's or both are near-ties. The NPU's own greedy run (chunked prefill, argmax LM head
    /// on the NPU; its first `free` tokens, to keep the test's time down) agrees too, or parts at such a
    /// near-tie.
    func testGreedyAgreesWithTheReferenceOnTheGoldenPromptsQ4_0() throws { try greedy(.q4_0) }
    func testGreedyAgreesWithTheReferenceOnTheGoldenPromptsBF16() throws { try greedy(.bf16) }

    func greedy(_ format: DType) throws {
        let (m, graph, weights) = try converted(format)
        let free = 8
        for c in try golden().cases {
            let count = c.greedyIDs.count
            let (npu, _) = try Support.npuBackend(graph, m.tensors, context: Self.context)
            let ids = try npu.generateGreedy(prompt: c.promptIDs, count: free)
            let (refIDs, margins) = try Support.referenceGreedy(try Support.reference(graph, weights, context: Self.context),
                                                                  prompt: c.promptIDs, count: count)
            let d = zip(ids, refIDs).enumerated().first { $0.element.0 != $0.element.1 }?.offset
            print("SmolLM2 \(format.rawValue) \(c.name): \(ids.count) greedy tokens of the emulated NPU's own run, first difference from the CPU reference: " +
                  "\(d.map(String.init) ?? "none")" + (d.map { ", reference margin there \(margins[$0])" } ?? ""))
            // Along the reference's path: the NPU's logits (decode, logits LM head) at every step.
            let (forced, _) = try Support.npuBackend(graph, m.tensors, context: Self.context)
            var logits = try forced.step(tokens: c.promptIDs, start: 0, logitRows: .last, observer: nil)
            var agreed = 0
            // Near-tie on the NPU's side: a gap of at most 0.25 (inclusive). Measured: with aie2p's exp2 modelled at
            // its worst (one bf16 ulp per probability, Kernels/npu2_target.json aieApi.numerics.exp2) the Q4_0 "capital"
            // prompt parts at step 0 with the NPU's gap exactly 0.25 where the reference's margin is 0.089; with a
            // correctly rounded exp2 the NPU agrees there.
            for i in 0..<count {
                if i == d {   // the free run's divergence, on the same prefix: a near-tie on both sides
                    let gap = logits[refIDs[i]] - logits[ids[i]]
                    print("  free run at \(i): reference picks \(refIDs[i]), NPU argmax head \(ids[i]); logit(ref) − logit(NPU pick) " +
                          "on the NPU \(gap), reference margin \(margins[i])")
                    XCTAssertLessThan(margins[i], 0.25, "\(c.name) step \(i): the reference's choice is a near-tie")
                    XCTAssertLessThanOrEqual(abs(gap), 0.25, "\(c.name) step \(i): the NPU's choice is a near-tie")
                }
                let pick = Sampler.argmax(logits)
                if pick == refIDs[i] {
                    agreed += 1
                } else {
                    let gap = logits[refIDs[i]] - logits[pick]
                    print("  step \(i): reference picks \(refIDs[i]) (margin \(margins[i])), NPU picks \(pick): " +
                          "logit(ref) − logit(NPU pick) on the NPU \(gap)")
                    XCTAssertLessThan(margins[i], 0.25, "\(c.name) step \(i): the reference's choice is a near-tie")
                    XCTAssertLessThanOrEqual(abs(gap), 0.25, "\(c.name) step \(i): the NPU's choice is a near-tie (bf16 activations)")
                }
                if i + 1 < count {
                    logits = try forced.step(tokens: [refIDs[i]], start: c.promptIDs.count + i, logitRows: .last, observer: nil)
                }
            }
            print("  along the reference's continuation the NPU's argmax agrees at \(agreed) of \(count) steps")
            XCTAssertEqual(Array(ids.prefix(d ?? free)), Array(refIDs.prefix(d ?? free)))
        }
    }
}
