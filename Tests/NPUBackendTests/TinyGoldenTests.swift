// The tiny Llama 3.2-architecture golden model (headDim 16, kvDim 32) from safetensors and from GGUF on NPUBackend over the emulated NPU: verify vs reference and goldens, greedy, counters.
import Foundation
import LlamaCore
import NPUBackend
import ReferenceBackend
import Scheduler
import XCTest

final class TinyGoldenTests: XCTestCase {
    static let context = 128
    static let goldenDirectory = Support.root.appendingPathComponent("Golden/tiny-llama32").path

    /// The same BF16 weights as an HF folder (half-split RoPE) and as GGUF (adjacent pairs, q/k rows permuted).
    enum Source: String, CaseIterable {
        case safetensors = "model", gguf = "tiny-llama32.bf16.gguf"
        var path: String { (TinyGoldenTests.goldenDirectory as NSString).appendingPathComponent(rawValue) }
    }

    func model(_ source: Source) throws -> LoadedModel {
        let m = try LoadedModel.open(path: source.path)
        XCTAssertEqual(m.config.headDim, 16)
        XCTAssertEqual(m.config.kvDim, 32)
        XCTAssertEqual(m.config.ropePairing, source == .gguf ? .adjacent : .halfSplit)
        return m
    }

    func golden() throws -> GoldenSet { try GoldenSet(directory: Self.goldenDirectory) }

    /// The decode token's one tile height: tm 16 pads the fewest rows for headDim 16 (tm 64: 2880 per token, 32:
    /// 1344, 16: 320 — QKV 192 and O/D 128 rows per layer against 16 cores × tm); the LM head's own: tm 64 (vocab
    /// 1024 pads no row at any tm; ties → the larger).
    func testLayoutChoosesTheTileHeightWithTheFewestPaddedRows() throws {
        for source in Source.allCases {
            let m = try model(source)
            let (npu, _) = try Support.npuBackend(Graph.llama(m.config), m.tensors, context: Self.context)
            let l = npu.layout
            XCTAssertEqual(l.tm, 16)
            XCTAssertEqual(l.candidates.map(\.paddedRows), [4 * (832 + 896 + 256 + 896), 4 * (320 + 384 + 256 + 384), 4 * (64 + 128 + 0 + 128),
                                                         4 * (1856 + 1920 + 1280 + 1920)], "tm 128 (issue 17): rounds of 2048 rows")
            XCTAssertEqual(l.stages.map(\.paddedRows), [256, 256, 768, 256])
            XCTAssertEqual(l.lmHead.candidates.map(\.paddedRows), [0, 0, 0])
            XCTAssertEqual(npu.designs.all.map(\.kernelName).first, "decode_bf16_b1")
            XCTAssertEqual([l.lmHead.tm, l.lmHead.stage.paddedRows], [64, 1024], "vocab 1024 = 16 cores × 64: no zero row")
        }
    }

    /// Verify mode on both golden prompts with every greedy step: teacher-forced per node (gated), free-running
    /// against the fp32 reference and the goldens, logit KL gate, greedy ids against the golden's.
    func verify(_ source: Source) throws {
        let m = try model(source)
        let graph = Graph.llama(m.config)
        let weights = try FloatWeights(graph: graph, source: m.tensors)
        let set = try golden()
        var reports: [CaseReport] = []
        defer {
            // IRON's gate over both cases' 42 steps (the run's verdict, as `npu-llama verify` gives it)
            let run = VerifyReport(model: "tiny", device: "emulated NPU", granularity: "nodes", cases: reports, table: .standard)
            if let l = run.steps {
                print("tiny \(source) IRON's gate over \(l.positions) steps: KL mean \(l.klMean) p90 \(l.klP90) max \(l.klMax)")
                XCTAssertTrue(l.passed, "IRON's gate over the golden's steps")
            }
        }
        for c in set.cases {
            let (npu, _) = try Support.npuBackend(graph, m.tensors, context: Self.context)
            let verifier = Verifier(checked: npu, teacher: try Support.reference(graph, weights, context: Self.context),
                                    free: try Support.reference(graph, weights, context: Self.context))
            let report = try verifier.verifyCase(name: c.name, promptIDs: c.promptIDs, decodeSteps: c.greedyIDs.count,
                                                 golden: (set, c))
            let worst = Dictionary(grouping: report.checks, by: \.against)
                .mapValues { $0.max { $0.nmse < $1.nmse }! }
            for (against, w) in worst.sorted(by: { $0.key < $1.key }) {
                print("tiny \(source) \(c.name) worst NMSE \(against): \(w.nmse) (\(w.step) \(w.node), bound \(w.bound))")
            }
            for l in report.logits {
                print("tiny \(source) \(c.name) logits vs \(l.against) (\(l.scope)): KL mean \(l.klMean) p90 \(l.klP90) max \(l.klMax), top-1 \(l.top1Agreement) over \(l.positions)")
            }
            let g = try XCTUnwrap(report.greedy)
            print("tiny \(source) \(c.name) greedy (bf16 logits): \(g.matched)/\(g.compared) equal to the golden" +
                  (g.matched < g.compared ? ", then a golden margin of \(g.goldenMargin!) within the logits' resolution \(g.resolution)" : ""))
            XCTAssertTrue(report.passed, Support.failures(report))
            reports.append(report)
            XCTAssertEqual(Set(report.checks.map(\.node)).count, graph.nodes.count, "every named node is compared")
            XCTAssertEqual(report.logits.map { "\($0.against) \($0.scope)" },
                           ["fp32 reference rows", "fp32 reference steps", "golden rows"],
                           "KL against the fp32 reference (every row; IRON's steps) and the golden logits (prompt rows)")
            // stronger than the gates: teacher-forced (each op on the reference's inputs) and golden (prefill) checks
            // within their bounds at every node and step
            let outside = report.checks.filter { $0.exceedsBound && $0.against != "fp32 reference" }
            XCTAssertTrue(outside.isEmpty, outside.prefix(5).map { "\($0.step) \($0.node) \($0.against): nmse \($0.nmse) bound \($0.bound)" }
                .joined(separator: "\n"))
            // free-running drift is reported, not gated (ToleranceTable): here it must be what storing activations in
            // bf16 causes by itself, measured on the same tokens, times what aie2p's bf16-only exp2 adds (attention's
            // probabilities and correction factors, swiglu's sigmoid; Kernels/npu2_target.json aieApi.numerics.exp2):
            // twice storage alone, times 4 (attention's teacher-forced NMSE is 4.4× that of round-to-nearest
            // probabilities under the exp2 model). Measured worst: 5.2× storage alone (p1 decode 13 ffn_act-3); 5.5×
            // with a correctly rounded exp2, 3.0× with an exact invsqrt too (the row scale's 6.5e-4, aieApi.numerics.invsqrt);
            // within 2× before aie2p's exp2 and invsqrt were modelled.
            let storage = try bf16StorageDrift(graph, weights, tokens: c.promptIDs + report.generatedIDs, promptCount: c.promptIDs.count)
            var worstRatio = (ratio: 0.0, check: report.checks[0], storage: 0.0)
            for check in report.checks where check.against == "fp32 reference" {
                let s = try XCTUnwrap(storage[check.step]?[check.node], "\(check.step) \(check.node)")
                if check.exceedsBound, check.nmse / s > worstRatio.ratio { worstRatio = (check.nmse / s, check, s) }
                XCTAssertLessThanOrEqual(check.nmse, max(check.bound, 8 * s),
                                         "\(check.step) \(check.node): drift beyond 8× that of bf16 storage alone (\(s))")
            }
            let drifted = report.checks.filter { $0.exceedsBound && $0.against == "fp32 reference" }
            print("tiny \(source) \(c.name) free-running: \(drifted.count) checks above the drift mark" +
                  (drifted.isEmpty ? "" : "; worst against bf16 storage alone: \(worstRatio.check.step) \(worstRatio.check.node) " +
                   "NMSE \(worstRatio.check.nmse) vs \(worstRatio.storage)"))
        }
    }

    /// Per step ("prefill", "decode k") and node: the NMSE against the fp32 reference that storing every node's
    /// output in bf16 causes by itself — the reference's own ops chained through `runNode` on `tokens`, one position
    /// at a time, each output rounded to bf16 (nearest even) as the NPU stores it, arithmetic in fp32.
    func bf16StorageDrift(_ graph: Graph, _ weights: FloatWeights, tokens: [Int], promptCount: Int) throws -> [String: [String: Double]] {
        let chains = [try Support.reference(graph, weights, context: Self.context), try Support.reference(graph, weights, context: Self.context)]
        var result: [String: [String: Double]] = [:]
        var step: [[String: [Float]]] = [[:], [:]]   // per chain: node → the step's rows so far
        for (pos, token) in tokens.enumerated() {
            for (i, chain) in chains.enumerated() {
                var outputs: [String: [Float]] = [:]
                for node in graph.nodes {
                    let output = try chain.runNode(node, inputs: node.inputs.filter { $0 != "tokens" }.map { outputs[$0]! },
                                                   tokens: [token], start: pos)
                    outputs[node.name] = i == 0 ? output : output.map(roundToBF16)
                    step[i][node.name, default: []] += outputs[node.name]!
                }
            }
            if pos >= promptCount - 1 {
                let name = pos < promptCount ? "prefill" : "decode \(pos - promptCount + 1)"
                result[name] = Dictionary(uniqueKeysWithValues: graph.nodes.map {
                    ($0.name, ErrorMetrics(expected: step[0][$0.name]!, actual: step[1][$0.name]!).nmse)
                })
                step = [[:], [:]]
            }
        }
        return result
    }

    /// The last position's logits of the bf16-storage chain above.
    func bf16StorageLogits(_ graph: Graph, _ weights: FloatWeights, tokens: [Int]) throws -> [Float] {
        let chain = try Support.reference(graph, weights, context: Self.context)
        var outputs: [String: [Float]] = [:]
        for (pos, token) in tokens.enumerated() {
            outputs = [:]
            for node in graph.nodes {
                outputs[node.name] = try chain.runNode(node, inputs: node.inputs.filter { $0 != "tokens" }.map { outputs[$0]! },
                                                       tokens: [token], start: pos).map(roundToBF16)
            }
        }
        return outputs["result_output"]!
    }

    func testVerifySafetensors() throws { try verify(.safetensors) }
    func testVerifyGGUF() throws { try verify(.gguf) }

    /// Greedy on the NPU (the prompt as decode steps, then the argmax merge: one int32 back per token) for every
    /// golden case, and the counters of every token.
    func greedy(_ source: Source) throws {
        let m = try model(source)
        let graph = Graph.llama(m.config)
        for c in try golden().cases {
            let (npu, device) = try Support.npuBackend(graph, m.tensors, context: Self.context)
            npu.promptsThroughPrefill = false   // the decode path's per-row counts (PrefillBackendTests: the prefill's)
            let ids = try npu.generateGreedy(prompt: c.promptIDs, count: c.greedyIDs.count)
            let firstDiff = zip(ids, c.greedyIDs).enumerated().first { $0.element.0 != $0.element.1 }?.offset
            print("tiny \(source) \(c.name): \(ids.count) greedy tokens on the NPU argmax, first difference from the golden: " +
                  (firstDiff.map { "\($0) (golden margin \(c.greedyMargins[$0]))" } ?? "none"))
            if let d = firstDiff { try explainDivergence(m, c, ids, at: d) }

            // every row one runlist (one driver command): the io inputs in, the token id out, and nothing else; the
            // prompt rows before the last run the decode token alone, every other row the decode token and the LM head
            let tokens = npu.counters.tokenCount
            XCTAssertEqual(tokens, c.promptIDs.count + c.greedyIDs.count - 1)
            XCTAssertEqual(npu.counters.tokens.submissions, tokens, "exactly one submission per token")
            XCTAssertEqual(npu.counters.tokens.runs, (c.promptIDs.count - 1) + 2 * c.greedyIDs.count)
            XCTAssertEqual(npu.counters.tokens.driverCommands, tokens)
            XCTAssertEqual(npu.counters.tokens.syncsToDevice, tokens, "the io inputs, once per token")
            XCTAssertEqual(npu.counters.tokens.syncsFromDevice, c.greedyIDs.count, "the token id of the last prompt row and each decode token: no sync between ops")
            XCTAssertEqual(npu.counters.tokens.bytesFromDevice, 4 * c.greedyIDs.count)
            XCTAssertEqual(npu.counters.tokens.buffersAllocated, 0)
            XCTAssertEqual(npu.counters.lastToken.bytesToDevice, npu.layout.hostInputBytes)
            XCTAssertEqual(device.counters.runs, npu.counters.tokens.runs, "no runs outside tokens")
        }
    }

    func testGreedyAndCountersSafetensors() throws { try greedy(.safetensors) }
    func testGreedyAndCountersGGUF() throws { try greedy(.gguf) }

    /// A greedy divergence must be a near-tie the NPU's bf16 logits cannot resolve (the Verifier's rule: within 2 ulp
    /// of bf16 at the largest logit), measured on the golden prefix: the NPU's logits of both candidates (decode
    /// path and the prompt as one multi-row step), the fp32 reference's, the golden's margin, and the fp32 reference with every node's
    /// output stored in bf16.
    func explainDivergence(_ m: LoadedModel, _ c: GoldenSet.Case, _ ids: [Int], at d: Int) throws {
        let graph = Graph.llama(m.config)
        let weights = try FloatWeights(graph: graph, source: m.tensors)
        let prefix = c.promptIDs + c.greedyIDs.prefix(d)
        let (fresh, _) = try Support.npuBackend(graph, m.tensors, context: Self.context)
        _ = try fresh.generateGreedy(prompt: c.promptIDs, count: d)
        let npuLogits = try fresh.step(tokens: [c.greedyIDs[d - 1]], start: prefix.count - 1, logitRows: .last, observer: nil)
        let (prefilled, _) = try Support.npuBackend(graph, m.tensors, context: Self.context)
        let prefillLogits = try prefilled.step(tokens: prefix, start: 0, logitRows: .last, observer: nil)
        let refLogits = try Support.reference(graph, weights, context: Self.context)
            .step(tokens: prefix, start: 0, logitRows: .last, observer: nil)
        let storageLogits = try bf16StorageLogits(graph, weights, tokens: prefix)
        let (g, n) = (c.greedyIDs[d], ids[d])
        let npuGap = npuLogits[g] - npuLogits[n]
        let largest = npuLogits.map(abs).max()!
        let resolution = 2 * Float(pow(2, floor(log2(Double(largest))) - 7))
        print("  at \(d): golden picks \(g), NPU picks \(n); logit(golden) − logit(NPU pick): NPU decode \(npuGap), " +
              "NPU multi-row step \(prefillLogits[g] - prefillLogits[n]), fp32 reference \(refLogits[g] - refLogits[n]), " +
              "golden file \(c.greedyMargins[d]), fp32 reference storing every node in bf16 \(storageLogits[g] - storageLogits[n]); " +
              "largest logit \(largest), bf16 resolution there (2 ulp) \(resolution)")
        XCTAssertEqual(Array(ids.prefix(d)), Array(c.greedyIDs.prefix(d)))
        XCTAssertLessThanOrEqual(abs(npuGap), resolution, "\(c.name): the NPU's own choice is a near-tie at its logits' resolution")
        XCTAssertLessThanOrEqual(Float(c.greedyMargins[d]), resolution, "\(c.name): the golden choice is a near-tie at that resolution")
    }
}
