// The tiny TinyLlama/Mistral-style golden (vocab 32000, one KV head, untied LM head) on NPUBackend over the emulated NPU: layout, verify, greedy.
import Foundation
import LlamaCore
import NPUBackend
import ReferenceBackend
import Scheduler
import XCTest

final class TinyLlamaSPMNPUTests: XCTestCase {
    static let context = 128
    static let directory = Support.root.appendingPathComponent("Golden/tiny-llama-spm").path
    static let sources = ["model", "tiny-llama-spm.bf16.gguf"].map { (directory as NSString).appendingPathComponent($0) }

    /// hidden 64 / heads 4 / KV heads 1 / head dim 16 / ffn 192: tm 16 pads the fewest rows, each stage to a multiple
    /// of 16 cores × 16 rows (QKV 96 → 256, O 64 → 256, GU 2 × 192 → 512, D 64 → 256 per layer); the untied
    /// 32000-row LM head is 2000 tiles of 16 rows, no zero row.
    func testLayoutOfTheSmallHiddenAndTheFullVocabulary() throws {
        for path in Self.sources {
            let m = try LoadedModel.open(path: path)
            let (npu, _) = try Support.npuBackend(Graph.llama(m.config), m.tensors, context: Self.context)
            let l = npu.layout
            XCTAssertEqual(l.tm, 16, path)
            XCTAssertEqual(l.stages.map(\.paddedRows), [256, 256, 512, 256], path)
            XCTAssertEqual(l.kvGroups, 1, "one KV head: one KV group")
            XCTAssertEqual([l.lmHead.tm, l.lmHead.stage.paddedRows], [16, 32000], path)
        }
    }

    /// verify on both golden cases from both sources: every node compared, the gates pass, teacher-forced and golden
    /// (prefill) checks within their bounds, greedy equal to HF's golden or diverging only at a near-tie the NPU's
    /// bf16 logits cannot resolve (the Verifier's rule).
    func testVerifyBothSourcesOnTheEmulatedNPU() throws {
        let set = try GoldenSet(directory: Self.directory)
        for path in Self.sources {
            let m = try LoadedModel.open(path: path)
            let graph = Graph.llama(m.config)
            let weights = try FloatWeights(graph: graph, source: m.tensors)
            for c in set.cases {
                let (npu, _) = try Support.npuBackend(graph, m.tensors, context: Self.context)
                let verifier = Verifier(checked: npu, teacher: try Support.reference(graph, weights, context: Self.context),
                                        free: try Support.reference(graph, weights, context: Self.context))
                let report = try verifier.verifyCase(name: c.name, promptIDs: c.promptIDs, decodeSteps: c.greedyIDs.count,
                                                     golden: (set, c))
                XCTAssertTrue(report.passed, Support.failures(report))
                XCTAssertEqual(Set(report.checks.map(\.node)).count, graph.nodes.count, "every named node is compared")
                let outside = report.checks.filter { $0.exceedsBound && $0.against != "fp32 reference" }
                XCTAssertTrue(outside.isEmpty, outside.prefix(5).map { "\($0.step) \($0.node) \($0.against): \($0.nmse) > \($0.bound)" }
                    .joined(separator: "\n"))
                let g = try XCTUnwrap(report.greedy)
                XCTAssertTrue(g.passed)
                for l in report.logits {
                    print("tiny-llama-spm \((path as NSString).lastPathComponent) \(c.name) [emulated NPU] logits vs \(l.against): KL mean \(l.klMean) max \(l.klMax), top-1 \(l.top1Agreement)")
                }
                print("tiny-llama-spm \((path as NSString).lastPathComponent) \(c.name) [emulated NPU] greedy: \(g.matched)/\(g.compared) equal to HF's" +
                      (g.matched < g.compared ? ", then a golden margin of \(g.goldenMargin!) within the bf16 logits' resolution \(g.resolution)" : ""))
            }
        }
    }

    /// Greedy on the NPU's argmax (one int32 back per token) along HF's golden: equal up to the first divergence, and
    /// that one a near-tie: the golden's margin and the NPU's own gap between the two candidates both within 2 ulp of
    /// bf16 at the largest logit.
    func testGreedyOnTheNPUArgmaxFollowsTheGoldenUpToNearTies() throws {
        let set = try GoldenSet(directory: Self.directory)
        for path in Self.sources {
            let m = try LoadedModel.open(path: path)
            let graph = Graph.llama(m.config)
            for c in set.cases {
                let (npu, _) = try Support.npuBackend(graph, m.tensors, context: Self.context)
                let ids = try npu.generateGreedy(prompt: c.promptIDs, count: c.greedyIDs.count)
                guard let d = zip(ids, c.greedyIDs).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset else {
                    print("tiny-llama-spm \(c.name) [emulated NPU argmax]: all \(ids.count) equal to HF's golden")
                    continue
                }
                let (fresh, _) = try Support.npuBackend(graph, m.tensors, context: Self.context)
                let logits = try fresh.step(tokens: c.promptIDs + c.greedyIDs.prefix(d), start: 0, logitRows: .last, observer: nil)
                let largest = logits.map(abs).max()!
                let resolution = 2 * Float(pow(2, floor(log2(Double(largest))) - 7))
                let gap = logits[c.greedyIDs[d]] - logits[ids[d]]
                print("tiny-llama-spm \(c.name) [emulated NPU argmax]: equal for \(d), then NPU \(ids[d]) vs golden \(c.greedyIDs[d]): " +
                      "golden margin \(c.greedyMargins[d]), NPU gap \(gap), resolution \(resolution)")
                XCTAssertLessThanOrEqual(Float(c.greedyMargins[d]), resolution, "\(c.name) step \(d)")
                XCTAssertLessThanOrEqual(abs(gap), resolution, "\(c.name) step \(d)")
            }
        }
    }
}
