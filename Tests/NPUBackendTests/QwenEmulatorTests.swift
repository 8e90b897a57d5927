// The tiny Qwen2.5- and Qwen3-style golden models on NPUBackend over the emulated NPU (issue 17): the biases / q-k norms run in the decode hub and (the golden prompts: one partial chunk each) the prefill's family core; every node teacher-forced within the table, greedy along the golden path.
import Foundation
import LlamaCore
import NPUBackend
import ReferenceBackend
import Scheduler
import XCTest

final class QwenEmulatorTests: XCTestCase {
    static let context = 128

    /// Verify mode on both golden prompts with every greedy step, as TinyGoldenTests does for tiny-llama32: every named
    /// node compared (Qcur_mm/Qcur/… for Qwen2, Qcur_normed/Kcur_normed for Qwen3), each teacher-forced and golden
    /// (prefill) check within its bound, greedy ids equal to the golden's up to a near-tie the bf16 logits cannot
    /// resolve, every check finite, and IRON's logit KL gate (both cases' 42 steps: mean, p90, max; every row: mean, max). Its margin on
    /// these random models is a draw (Kernels/decode/README "Qwen fp32 rows": tiny-llama32 misses it on 10 of 40 random
    /// prompts), so a numerics change that moves it is judged on `Tools/kl_gate_spread.py`'s population, not on p1.
    func verify(_ name: String, file: String) throws -> [LogitCheck] {
        let dir = Support.root.appendingPathComponent("Golden/\(name)").path
        let m = try LoadedModel.open(path: (dir as NSString).appendingPathComponent(file))
        let graph = Graph.llama(m.config)
        let weights = try FloatWeights(graph: graph, source: m.tensors)
        let set = try GoldenSet(directory: dir)
        var logits: [LogitCheck] = [], reports: [CaseReport] = []
        for c in set.cases {
            let (npu, _) = try Support.npuBackend(graph, m.tensors, context: Self.context)
            XCTAssertNil(graph.nodes.lazy.compactMap { npu.unsupportedReason($0) }.first)
            let verifier = Verifier(checked: npu, teacher: try Support.reference(graph, weights, context: Self.context),
                                    free: try Support.reference(graph, weights, context: Self.context))
            let report = try verifier.verifyCase(name: c.name, promptIDs: c.promptIDs, decodeSteps: c.greedyIDs.count,
                                                 golden: (set, c))
            XCTAssertEqual(Set(report.checks.map(\.node)).count, graph.nodes.count, "every named node is compared")
            let outside = report.checks.filter { $0.exceedsBound && $0.against != "fp32 reference" }
            XCTAssertTrue(outside.isEmpty, outside.prefix(5).map { "\($0.step) \($0.node) \($0.against): nmse \($0.nmse) bound \($0.bound)" }
                .joined(separator: "; "))
            XCTAssertTrue(report.checks.allSatisfy { $0.nonFinite == 0 })
            let fused = report.checks.filter { $0.against == "teacher-forced" && graph.node(named: $0.node).map {
                if case .bias = $0.op { return true }; if case .headNorm = $0.op { return true }; return false } ?? false }
            XCTAssertFalse(fused.isEmpty, "the fused ops are checked teacher-forced")
            let worstFused = fused.max { $0.nmse < $1.nmse }!
            print("[emulated NPU vs fp32 reference] \(name) \(c.name): worst teacher-forced fused op \(worstFused.step) " +
                  "\(worstFused.node) NMSE \(worstFused.nmse) (bound \(worstFused.bound))")
            let g = try XCTUnwrap(report.greedy)
            XCTAssertTrue(g.passed, "\(name) \(c.name): greedy \(g.matched)/\(g.compared)")
            for l in report.logits {
                print("[emulated NPU] \(name) \(c.name) logits vs \(l.against): KL mean \(l.klMean) p90 \(l.klP90) max \(l.klMax), " +
                      "top-1 \(l.top1Agreement) over \(l.positions) \(l.scope) — gate \(l.passed ? "ok" : "FAIL")")
                XCTAssertTrue(l.passed, "\(name) \(c.name) logits vs \(l.against), \(l.scope) (gate: \(l.gatedOn))")
            }
            logits += report.logits
            reports.append(report)
        }
        let run = VerifyReport(model: name, device: "emulated NPU", granularity: "nodes", cases: reports, table: .standard)
        let steps = try XCTUnwrap(run.steps)
        print("[emulated NPU] \(name) IRON's gate over \(steps.positions) steps: KL mean \(steps.klMean) p90 \(steps.klP90) max \(steps.klMax)")
        XCTAssertTrue(steps.passed, "\(name): IRON's gate over the golden's steps")
        return logits + [steps]
    }

    func testTinyQwen2OnTheEmulatedNPU() throws {
        _ = try verify("tiny-qwen2", file: "model")
    }

    func testTinyQwen3OnTheEmulatedNPU() throws {
        _ = try verify("tiny-qwen3", file: "tiny-qwen3.bf16.gguf")
    }
}
