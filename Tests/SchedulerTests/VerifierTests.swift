// Verify mode: the reference against itself is exact; a planted fault is caught, named and located.
import XCTest
import Foundation
import LlamaCore
import ReferenceBackend
@testable import Scheduler

final class VerifierTests: XCTestCase {
    let config = try! ModelConfig(vocabSize: 71, hiddenSize: 32, intermediateSize: 48, layerCount: 3, headCount: 4,
                                  kvHeadCount: 2, headDim: 8, ropeTheta: 10000, maxContext: 64, tiedEmbeddings: true)
    lazy var graph = Graph.llama(config)
    lazy var weights = try! FloatWeights(graph: graph, source: TensorDictionary.randomLlama(config, seed: 17, scale: 0.3))
    let prompt = [5, 9, 14, 3, 27, 60, 2]

    func backend() -> ReferenceBackend {
        try! ReferenceBackend(graph: graph, weights: weights, contextLength: 32, maxBatch: 16)
    }

    func verifier(_ checked: Backend, granularity: VerifyGranularity = .nodes) -> Verifier {
        Verifier(checked: checked, teacher: backend(), free: backend(), granularity: granularity)
    }

    func testReferenceAgainstItselfIsExact() throws {
        let report = try verifier(backend()).verifyCase(name: "self", promptIDs: prompt, decodeSteps: 3)
        XCTAssertTrue(report.passed)
        XCTAssertEqual(report.generatedIDs.count, 3)
        // 3 layers × 15 nodes + 3 = 48 nodes, teacher-forced and free-running, 4 steps.
        XCTAssertEqual(report.checks.count, 48 * 2 * 4)
        for check in report.checks { XCTAssertEqual(check.nmse, 0, "\(check.step) \(check.node) \(check.against)") }
        XCTAssertEqual(report.logits.first?.klMax ?? 1, 0, accuracy: 1e-12)
        XCTAssertEqual(report.logits.first?.top1Agreement, 1)
    }

    /// A fault of +0.5 on one element of ffn_up-1: teacher forcing flags exactly that node; free
    /// running shows the drift from it onward and nothing before it.
    func testPlantedFaultIsCaughtNamedAndLocated() throws {
        let faulty = backend()
        faulty.faultInjection = { node, output in
            if node.name == "ffn_up-1" { output[3] += 0.5 }
        }
        let report = try verifier(faulty).verifyCase(name: "fault", promptIDs: prompt, decodeSteps: 2)
        XCTAssertFalse(report.passed)
        let teacherFailures = Set(report.checks.filter { !$0.passed && $0.against == "teacher-forced" }.map(\.node))
        XCTAssertEqual(teacherFailures, ["ffn_up-1"], "teacher forcing pinpoints the faulty op")
        let first = VerifyReport(model: "m", device: faulty.label, granularity: "nodes", cases: [report], tolerances: []).firstFailure
        XCTAssertEqual(first?.check.node, "ffn_up-1")
        XCTAssertEqual(first?.check.against, "teacher-forced")
        XCTAssertEqual(first?.check.samples.first?.index, 3, "the planted element is the largest mismatch")

        let prefillFree = report.checks.filter { $0.step == "prefill" && $0.against == "fp32 reference" }
        let faultIndex = graph.index(of: "ffn_up-1")!
        for check in prefillFree {
            let index = graph.index(of: check.node)!
            if index < faultIndex { XCTAssertEqual(check.nmse, 0, "\(check.node) is before the fault") }
            if ["ffn_up-1", "ffn_act-1", "ffn_out-1", "l_out-1", "l_out-2", "result_output"].contains(check.node) {
                XCTAssertFalse(check.passed, "free-running drift shows at \(check.node): NMSE \(check.nmse)")
            }
        }
        // The text report names the first failing node and prints its values.
        let text = ReportRendering.text(VerifyReport(model: "m", device: faulty.label, granularity: "nodes", cases: [report], tolerances: []))
        XCTAssertTrue(text.contains("FIRST FAILURE: ffn_up-1 (matmul, F32) at prefill"), text)
        XCTAssertTrue(text.contains("result: FAIL"))
    }

    func testLayerGranularityLocatesTheLayer() throws {
        let faulty = backend()
        faulty.faultInjection = { node, output in if node.name == "Vcur-2" { output[0] += 0.5 } }
        let report = try verifier(faulty, granularity: .layers).verifyCase(name: "layers", promptIDs: prompt, decodeSteps: 1)
        let teacherFailures = Set(report.checks.filter { !$0.passed && $0.against == "teacher-forced" }.map(\.node))
        XCTAssertEqual(teacherFailures, ["l_out-2"])
        XCTAssertTrue(report.checks.allSatisfy { ["inp_embd", "result_norm", "result_output"].contains($0.node) || $0.node.hasPrefix("l_out-") })
    }

    func testNaNAnywhereFails() throws {
        let faulty = backend()
        faulty.faultInjection = { node, output in if node.name == "attn_norm-0" { output[1] = .nan } }
        let report = try verifier(faulty).verifyCase(name: "nan", promptIDs: prompt, decodeSteps: 0)
        let check = report.checks.first { $0.node == "attn_norm-0" && $0.against == "teacher-forced" }!
        XCTAssertFalse(check.passed)
        XCTAssertEqual(check.nonFinite, 1)
        XCTAssertFalse(report.logits.allSatisfy(\.passed), "NaN logits fail the KL gate")
    }

    func testToleranceTableCoversWhatBackendsProduceAndGivesReasons() {
        let table = ToleranceTable.standard
        // A backend reports its activation dtype per node, and q4_1 / q4_0 for matmuls on 4-bit weights.
        for dtype in [DType.f32, .bf16, .q4_1, .q4_0] {
            for mode in ComparisonMode.allCases {
                let ops = dtype == .q4_1 && mode == .teacherForced ? ["gemv", "matmul", "block"]
                    : dtype == .q4_0 && mode == .teacherForced ? ["gemv", "matmul", "lm_head", "block"]
                    : ["embed", "rmsnorm", "gemv", "matmul", "rope", "attention", "add", "swiglu", "lm_head", "block"]
                for op in ops { XCTAssertNotNil(table.bound(op: op, dtype: dtype, mode: mode), "\(op) \(dtype) \(mode)") }
            }
        }
        // Every node of the graph maps to a kernel op the table knows.
        for node in graph.nodes {
            for rows in [1, 7] {
                XCTAssertNotNil(table.bound(op: ToleranceTable.kernelOp(for: node, rows: rows), dtype: .bf16, mode: .teacherForced), node.name)
            }
        }
        XCTAssertEqual(ToleranceTable.kernelOp(for: graph.node(named: "Qcur-0")!, rows: 1), "gemv")
        XCTAssertEqual(ToleranceTable.kernelOp(for: graph.node(named: "Qcur-0")!, rows: 5), "matmul")
        XCTAssertEqual(ToleranceTable.kernelOp(for: graph.node(named: "result_output")!, rows: 1), "lm_head")
        XCTAssertTrue(table.entries.allSatisfy { $0.reason.count > 20 })
        XCTAssertEqual(table.bound(op: "matmul", dtype: .bf16, mode: .teacherForced)?.nmse, 2e-5)
        XCTAssertEqual(table.bound(op: "rope", dtype: .bf16, mode: .teacherForced)?.nmse, 2e-5)
        XCTAssertEqual(table.bound(op: "attention", dtype: .bf16, mode: .teacherForced)?.maxAbsRelative, 1.6e-2)
        XCTAssertEqual(table.logits.klMean, 0.02)
        XCTAssertEqual(table.logits.klP90, 0.04)
        XCTAssertEqual(table.logits.klMax, 0.2)
        // Bounds are applied as stated: just under passes, just over fails.
        let v = Verifier(checked: backend(), teacher: backend(), free: backend())
        let node = graph.node(named: "Qcur-0")!
        let expected = (0..<1000).map { Float($0 % 17) - 8 }
        let small = zip(expected, 0..<1000).map { e, i in e * (1 + (i % 2 == 0 ? 5e-6 : -5e-6)) }      // NMSE 2.5e-11
        let large = zip(expected, 0..<1000).map { e, i in e * (1 + (i % 2 == 0 ? 2e-5 : -2e-5)) }      // NMSE 4e-10
        XCTAssertTrue(v.check(node, expected: expected, actual: small, rows: 7, mode: .teacherForced, against: "t", step: "s").passed)
        XCTAssertFalse(v.check(node, expected: expected, actual: large, rows: 7, mode: .teacherForced, against: "t", step: "s").passed)
        XCTAssertTrue(v.check(node, expected: expected, actual: large, rows: 7, mode: .freeRunning, against: "t", step: "s").passed)
        // The KL gate's edges.
        for scope in [LogitCheck.Scope.allSteps, .rows] {
            XCTAssertTrue(v.logitCheck([0.01, 0.02, 0.03], [true, true, true], against: "r", scope: scope).passed)
            XCTAssertFalse(v.logitCheck([0.01, 0.01, 0.25], [true, true, true], against: "r", scope: scope).passed, "max")
            XCTAssertFalse(v.logitCheck([0.03, 0.03, 0.01], [true, true, true], against: "r", scope: scope).passed, "mean")
        }
        // p90 gates the steps of a run (IRON scores steps) and is reported over rows: mean 0.018, p90 0.05, max 0.05.
        let tail = [Double](repeating: 0.01, count: 8) + [0.05, 0.05]
        XCTAssertFalse(v.logitCheck(tail, tail.map { _ in true }, against: "r", scope: .allSteps).passed)
        XCTAssertTrue(v.logitCheck(tail, tail.map { _ in true }, against: "r", scope: .rows).passed)
        XCTAssertEqual(v.logitCheck(tail, tail.map { _ in true }, against: "r", scope: .rows).klP90, 0.05, accuracy: 1e-15)
        // One case's steps are reported; IRON's bounds gate every case's steps together (only a non-finite KL fails).
        XCTAssertTrue(v.logitCheck(tail, tail.map { _ in true }, against: "r", scope: .steps).passed)
        XCTAssertFalse(v.logitCheck([0.01, .nan], [true, true], against: "r", scope: .steps).passed)
        XCTAssertEqual(percentile((1...10).map(Double.init), 90), 9.1, accuracy: 1e-12)
        XCTAssertEqual(percentile((0..<24).map(Double.init).reversed(), 90), 20.7, accuracy: 1e-12)
        XCTAssertEqual(percentile([0.3], 90), 0.3)
        XCTAssertEqual(percentile([], 90), 0)
    }

    func testDumpLoadsAsGoldenAndVerifiesExactly() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dump-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let dump = TensorDump(directory: dir, pattern: NodePattern("l_out-*, Qcur-1,result_output"), model: "test", device: "CPU reference")
        let v = verifier(backend())
        v.captureNames = Set(graph.nodes.map(\.name).filter(dump.pattern.matches))
        var captured: [String: (rows: Int, values: [Float])] = [:]
        v.onPrefillOutputs = { _, outputs in captured = outputs }
        let report = try v.verifyCase(name: "p0", promptIDs: prompt, decodeSteps: 4)
        try dump.add(caseName: "p0", promptIDs: prompt, greedyIDs: report.generatedIDs, outputs: captured)

        let golden = try GoldenSet(directory: dir)
        XCTAssertEqual(golden.cases.first?.tensorFiles.keys.sorted(), ["Qcur-1", "l_out-0", "l_out-1", "l_out-2", "result_output"])
        let q = try golden.tensor("Qcur-1", of: golden.cases[0])
        XCTAssertEqual(q.shape, [prompt.count, config.qDim])
        XCTAssertEqual(q.values, captured["Qcur-1"]!.values)

        let again = try verifier(backend()).verifyCase(name: "p0", promptIDs: prompt, decodeSteps: 0, golden: (golden, golden.cases[0]))
        let goldenChecks = again.checks.filter { $0.against == "golden" }
        XCTAssertEqual(goldenChecks.count, 5)
        XCTAssertTrue(goldenChecks.allSatisfy { $0.nmse == 0 })
        XCTAssertEqual(again.greedyMatchesGolden, true)
    }

    func testGlobPatterns() {
        let p = NodePattern("l_out-*,Qcur-3")
        XCTAssertTrue(p.matches("l_out-12"))
        XCTAssertTrue(p.matches("Qcur-3"))
        XCTAssertFalse(p.matches("Qcur-31"))
        XCTAssertFalse(p.matches("attn_norm-3"))
        XCTAssertTrue(NodePattern("*").matches("anything"))
        XCTAssertTrue(NodePattern("*_out-*").matches("kqv_out-0"))
    }

    func testHTMLReportIsSelfContainedAndNamesTheFailure() throws {
        let faulty = backend()
        faulty.faultInjection = { node, output in if node.name == "kqv_out-0" { output[0] += 1 } }
        let report = VerifyReport(model: "tiny", device: faulty.label, granularity: "nodes",
                                  cases: [try verifier(faulty).verifyCase(name: "c", promptIDs: prompt, decodeSteps: 1)],
                                  tolerances: [])
        let html = ReportRendering.html(report)
        XCTAssertTrue(html.contains("<svg"))
        XCTAssertTrue(html.contains("First failing node: kqv_out-0"))
        XCTAssertFalse(html.contains("src=\"http"))
        XCTAssertFalse(html.contains("href=\"http"))
        XCTAssertEqual(html.components(separatedBy: "<polyline").count - 1, 2, "teacher-forced and free-running lines")
        // Drift explained; tables and plot use the page width (no max-width on the body).
        XCTAssertTrue(html.contains("Rows shaded <span class=\"drift-key\">yellow (drift)</span> are reported, not failures"), html)
        XCTAssertTrue(html.contains("table{border-collapse:collapse;margin:1em 0;width:100%}"))
        XCTAssertTrue(html.contains("svg{width:100%;height:auto}") && html.contains("viewBox=\"0 0 900 330\""))
        XCTAssertFalse(html.contains("max-width"))
        let text = ReportRendering.text(report)
        XCTAssertEqual(text.components(separatedBy: "\n").filter { $0.hasPrefix("status: ok = within its bound; drift = ") }.count, 1,
                       "one line of the terminal report says what drift means: \(text)")
    }

    /// A golden whose tensors do not have this model's shapes is a golden-file error naming the file and both shapes,
    /// raised before anything runs, not a node failure with NMSE inf.
    func testGoldenOfAnotherShapeIsAGoldenFileError() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("golden-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir + "/c", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let manifest = ["format_version": 1, "cases": [["name": "c", "prompt_ids": prompt, "greedy_ids": [1],
                                                       "tensors": ["l_out-0": ["file": "c/l_out-0.npy"]]]]] as [String: Any]
        try JSONSerialization.data(withJSONObject: manifest).write(to: URL(fileURLWithPath: dir + "/manifest.json"))
        let width = backend().graph.node(named: "l_out-0")!.width
        try NPY.write(NPYArray(shape: [prompt.count, width + 3], values: [Float](repeating: 0, count: prompt.count * (width + 3))),
                      to: dir + "/c/l_out-0.npy")
        let set = try GoldenSet(directory: dir)
        XCTAssertThrowsError(try verifier(backend()).verifyCase(name: "c", promptIDs: prompt, decodeSteps: 0, golden: (set, set.cases[0]))) { error in
            guard let e = error as? ModelFileError else { return XCTFail("\(error)") }
            XCTAssertTrue(e.file.hasSuffix("c/l_out-0.npy"), e.file)
            XCTAssertTrue("\(e)".contains("has shape (\(self.prompt.count), \(width + 3)); this model's l_out-0 for the case's \(self.prompt.count) prompt tokens is (\(self.prompt.count), \(width))"), "\(e)")
        }
    }

    /// A reference that reports bf16, as an NPU backend does (test-only).
    final class BF16Labelled: Backend {
        let inner: ReferenceBackend
        init(_ inner: ReferenceBackend) { self.inner = inner }
        var graph: Graph { inner.graph }
        var contextLength: Int { inner.contextLength }
        var maxBatch: Int { inner.maxBatch }
        var label: String { "bf16-labelled reference" }
        func dtype(of node: Node) -> DType { .bf16 }
        func unsupportedReason(_ node: Node) -> String? { nil }
        func step(tokens: [Int], start: Int, logitRows: LogitRows, observer: NodeObserver?) throws -> [Float] {
            try inner.step(tokens: tokens, start: start, logitRows: logitRows, observer: observer)
        }
    }

    func testFreeRunningDriftIsReportedButDoesNotGateForBF16() {
        let v = Verifier(checked: BF16Labelled(backend()), teacher: backend(), free: backend())
        let node = graph.node(named: "l_out-1")!
        let expected = (0..<1000).map { Float($0 % 17) - 8 }
        let drifted = zip(expected, 0..<1000).map { e, i in e * (1 + (i % 2 == 0 ? 0.1 : -0.1)) }   // NMSE 1e-2
        let free = v.check(node, expected: expected, actual: drifted, rows: 1, mode: .freeRunning, against: "r", step: "s")
        XCTAssertTrue(free.exceedsBound)
        XCTAssertTrue(free.passed, "bf16 free-running drift is a guide, not a gate")
        var nan = drifted
        nan[5] = .nan
        XCTAssertFalse(v.check(node, expected: expected, actual: nan, rows: 1, mode: .freeRunning, against: "r", step: "s").passed,
                       "NaN fails everywhere")
        XCTAssertFalse(v.check(node, expected: expected, actual: drifted, rows: 1, mode: .teacherForced, against: "t", step: "s").passed,
                       "teacher-forced bounds gate")
    }

    func testGreedyDivergenceAllowedOnlyWithinLogitResolution() {
        var golden = GoldenSet.Case(name: "g", prompt: nil, promptIDs: [1], greedyIDs: [5, 6, 7, 8],
                                    greedyMargins: [1.0, 0.9, 0.05, 0.7], tensorFiles: [:])
        let bf16 = Verifier(checked: BF16Labelled(backend()), teacher: backend(), free: backend())
        // Largest logit 20 → bf16 ulp 2^(4−7) = 0.125 → resolution 0.25.
        let nearTie = bf16.greedyCheck(ours: [5, 6, 9, 1], golden: golden, largestLogit: [20, 20, 20, 20])
        XCTAssertEqual(nearTie.matched, 2)
        XCTAssertEqual(nearTie.resolution, 0.25)
        XCTAssertTrue(nearTie.passed)
        golden.greedyMargins[2] = 0.5
        XCTAssertFalse(bf16.greedyCheck(ours: [5, 6, 9, 1], golden: golden, largestLogit: [20, 20, 20, 20]).passed,
                       "a margin the precision resolves must be matched")
        let fp32 = Verifier(checked: backend(), teacher: backend(), free: backend())
        golden.greedyMargins[2] = 1e-6
        XCTAssertFalse(fp32.greedyCheck(ours: [5, 6, 9, 1], golden: golden, largestLogit: [20, 20, 20, 20]).passed,
                       "fp32 backends must match the fp32 golden exactly")
        XCTAssertTrue(fp32.greedyCheck(ours: [5, 6, 7, 8], golden: golden, largestLogit: []).passed)
    }

    /// IRON's gate over a run: every case's steps pooled (the prompt's last row, then each decode step), as IRON scores
    /// its 40 steps; a case whose own steps would miss the p90 passes when the run's steps do, and the reverse.
    func testIRONGatePoolsTheStepsOfEveryCase() throws {
        let report = try verifier(backend()).verifyCase(name: "self", promptIDs: prompt, decodeSteps: 3)
        XCTAssertEqual(report.stepKL.count, 4, "the prompt's last row and 3 decode steps")
        XCTAssertEqual(report.logits.map(\.scope), [.rows, .steps])
        func run(_ steps: [[Double]]) -> VerifyReport {
            let cases = steps.enumerated().map { i, kl -> CaseReport in
                var c = report
                c.name = "c\(i)"
                c.stepKL = kl
                c.stepTop1 = kl.map { _ in true }
                return c
            }
            return VerifyReport(model: "m", device: "d", granularity: "nodes", cases: cases, table: .standard)
        }
        let quiet = [Double](repeating: 0.005, count: 21), loud = [Double](repeating: 0.005, count: 18) + [0.05, 0.05, 0.05]
        XCTAssertFalse(LogitCheck(kl: loud, agree: [], against: "r", scope: .allSteps, gate: LogitGate()).passed, "p90 of one case alone")
        let pooled = run([quiet, loud])
        XCTAssertEqual(pooled.steps?.positions, 42)
        XCTAssertEqual(pooled.steps?.klP90 ?? 0, percentile(quiet + loud, 90), accuracy: 1e-15)
        XCTAssertTrue(pooled.passed, "42 steps: p90 \(pooled.steps!.klP90)")
        XCTAssertFalse(run([loud, loud]).passed)
        XCTAssertFalse(run([quiet, quiet + [0.25]]).passed, "max")
        XCTAssertTrue(ReportRendering.text(pooled).contains("IRON's gate, logits vs fp32 reference over the 42 steps of 2 case(s)"))
    }
}
