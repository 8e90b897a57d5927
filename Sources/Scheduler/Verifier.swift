// Verify mode: runs a backend and checks its node outputs teacher-forced, free-running and against goldens.
import Foundation
import LlamaCore
import ReferenceBackend

/// Which outputs verify compares: every node, or only layer boundaries (`inp_embd`, `l_out-N`,
/// `result_norm`, `result_output`). At layer granularity teacher forcing feeds whole layers.
public enum VerifyGranularity: String, Sendable, Codable {
    case nodes, layers
}

/// Checks a backend against the fp32 CPU reference, node by node, over prompts and greedy decode.
///
/// - teacher-forced: a reference (`teacher`) runs each node (or layer) on the checked backend's
///   own inputs and KV cache contents; a failure pinpoints the faulty op.
/// - free-running: a second reference (`free`) runs the same tokens on its own; the comparison
///   measures accumulated drift. Golden files, when given, are compared the same way.
public final class Verifier {
    public let checked: Backend
    public let teacher: ReferenceBackend
    public let free: ReferenceBackend
    public let tolerances: ToleranceTable
    public let granularity: VerifyGranularity
    /// Extra node names (beyond what the granularity compares) to capture, e.g. for dumps.
    public var captureNames: Set<String> = []
    /// Called after each prefill with the checked backend's captured outputs (name → (rows, values)).
    public var onPrefillOutputs: ((String, [String: (rows: Int, values: [Float])]) -> Void)?

    private var graph: Graph { checked.graph }

    public init(checked: Backend, teacher: ReferenceBackend, free: ReferenceBackend,
                tolerances: ToleranceTable = .standard, granularity: VerifyGranularity = .nodes) {
        self.checked = checked
        self.teacher = teacher
        self.free = free
        self.tolerances = tolerances
        self.granularity = granularity
    }

    /// True for the names compared at this granularity.
    func isCompared(_ node: Node) -> Bool {
        switch granularity {
        case .nodes: return true
        case .layers: return node.layer == nil || node.slot == "l_out"
        }
    }

    /// Verifies one case: the prompt (prefill, all rows of logits), then `decodeSteps` greedy steps
    /// with tokens chosen from the checked backend's logits. Goldens are compared at prefill.
    public func verifyCase(name: String, promptIDs: [Int], decodeSteps: Int,
                           golden: (set: GoldenSet, case: GoldenSet.Case)? = nil) throws -> CaseReport {
        try checked.checkPlacement()
        if let golden { try checkGoldenShapes(golden.set, golden.case) }
        var report = CaseReport(name: name, promptIDs: promptIDs, generatedIDs: [],
                                goldenGreedyIDs: golden?.case.greedyIDs, checks: [], logits: [])
        var klFree: [Double] = [], agreeFree: [Bool] = []
        var klSteps: [Double] = [], agreeSteps: [Bool] = []   // IRON's steps: the prompt's last row, then each decode row
        var klGolden: [Double] = [], agreeGolden: [Bool] = []
        var tokens = promptIDs
        var start = 0
        var largestLogit: [Float] = []   // per generated token: max |logit| of the row that chose it
        for step in 0...decodeSteps {
            let stepName = step == 0 ? "prefill" : "decode \(step)"
            let (outputs, logits) = try runChecked(tokens: tokens, start: start)
            if step == 0 { onPrefillOutputs?(name, outputs) }
            try teacherForce(tokens: tokens, start: start, outputs: outputs, step: stepName, into: &report.checks)
            let freeOutputs = try runFree(tokens: tokens, start: start)
            for node in graph.nodes where isCompared(node) {
                guard let actual = outputs[node.name], let expected = freeOutputs[node.name] else { continue }
                report.checks.append(check(node, expected: expected.values, actual: actual.values, rows: tokens.count,
                                           mode: .freeRunning, against: "fp32 reference", step: stepName))
            }
            let vocab = graph.config.vocabSize
            let reference = freeOutputs["result_output"]!.values
            for row in 0..<tokens.count {
                let slice = row * vocab..<(row + 1) * vocab
                klFree.append(klDivergence(expectedLogits: reference[slice], actualLogits: logits[slice]))
                agreeFree.append(Sampler.argmax(Array(reference[slice])) == Sampler.argmax(Array(logits[slice])))
            }
            // Both backends ran the same tokens (the checked backend's greedy choice, which the golden greedy check
            // needs), so each step's KL is the checked backend's own error at that step — what IRON's teacher forcing
            // with the reference's token ensures.
            klSteps.append(klFree[klFree.count - 1])
            agreeSteps.append(agreeFree[agreeFree.count - 1])
            if step == 0, let golden {
                for node in graph.nodes where isCompared(node) && golden.case.tensorFiles[node.name] != nil {
                    guard let actual = outputs[node.name] else { continue }
                    let expected = try golden.set.tensor(node.name, of: golden.case)
                    report.checks.append(check(node, expected: expected.values, actual: actual.values, rows: tokens.count,
                                               mode: .freeRunning, against: "golden", step: stepName))
                    if node.name == "result_output", expected.values.count == logits.count {
                        for row in 0..<tokens.count {
                            let slice = row * vocab..<(row + 1) * vocab
                            klGolden.append(klDivergence(expectedLogits: expected.values[slice], actualLogits: logits[slice]))
                            agreeGolden.append(Sampler.argmax(Array(expected.values[slice])) == Sampler.argmax(Array(logits[slice])))
                        }
                    }
                }
            }
            let lastRow = Array(logits.suffix(vocab))
            let next = Sampler.argmax(lastRow)
            if step < decodeSteps {
                report.generatedIDs.append(next)
                largestLogit.append(lastRow.reduce(0) { max($0, abs($1)) })
            }
            start += tokens.count
            tokens = [next]
            if start + 1 > checked.contextLength { break }
        }
        if let golden {
            report.greedy = greedyCheck(ours: report.generatedIDs, golden: golden.case, largestLogit: largestLogit)
        }
        report.logits.append(logitCheck(klFree, agreeFree, against: "fp32 reference", scope: .rows))
        report.logits.append(logitCheck(klSteps, agreeSteps, against: "fp32 reference", scope: .steps))
        report.stepKL = klSteps
        report.stepTop1 = agreeSteps
        if !klGolden.isEmpty { report.logits.append(logitCheck(klGolden, agreeGolden, against: "golden", scope: .rows)) }
        return report
    }

    /// The checked backend's step with every compared (and captured) node output kept.
    private func runChecked(tokens: [Int], start: Int) throws -> ([String: (rows: Int, values: [Float])], [Float]) {
        var outputs: [String: (rows: Int, values: [Float])] = [:]
        let wanted = Set(graph.nodes.filter { isCompared($0) || captureNames.contains($0.name) || granularity == .nodes }.map(\.name))
        let logits = try checked.step(tokens: tokens, start: start, logitRows: .all) { node, output, rows in
            if wanted.contains(node.name) { outputs[node.name] = (rows, Array(output)) }
        }
        return (outputs, logits)
    }

    private func runFree(tokens: [Int], start: Int) throws -> [String: (rows: Int, values: [Float])] {
        var outputs: [String: (rows: Int, values: [Float])] = [:]
        _ = try free.step(tokens: tokens, start: start, logitRows: .all) { node, output, rows in
            if self.isCompared(node) { outputs[node.name] = (rows, Array(output)) }
        }
        return outputs
    }

    /// Runs the teacher on the checked backend's inputs: per node, or per layer (inputs crossing a
    /// layer boundary come from the checked backend, the rest from the teacher's own outputs).
    private func teacherForce(tokens: [Int], start: Int, outputs: [String: (rows: Int, values: [Float])],
                              step: String, into checks: inout [NodeCheck]) throws {
        var own: [String: [Float]] = [:]
        for node in graph.nodes {
            let inputs: [[Float]] = node.inputs.compactMap { name in
                if name == "tokens" { return nil }
                let producer = graph.node(named: name)
                let fromChecked = granularity == .nodes || producer?.layer != node.layer || node.layer == nil
                return fromChecked ? outputs[name]?.values : own[name]
            }
            guard inputs.count == node.inputs.filter({ $0 != "tokens" }).count else {
                throw StepError.unsupportedNode(name: node.name, reason: "verify could not capture its inputs")
            }
            let result = try teacher.runNode(node, inputs: inputs, tokens: tokens, start: start)
            own[node.name] = result
            if isCompared(node), let actual = outputs[node.name] {
                checks.append(check(node, expected: result, actual: actual.values, rows: tokens.count,
                                    mode: .teacherForced, against: "teacher-forced", step: step))
            }
        }
    }

    /// Every golden tensor of a case must have the shape this model gives that node for the case's prompt:
    /// (prompt tokens, node width), optionally with a leading 1. Otherwise the golden belongs to another model or
    /// prompt, and that is a golden-file error (the file and both shapes), not a model failure.
    public func checkGoldenShapes(_ set: GoldenSet, _ goldenCase: GoldenSet.Case) throws {
        let rows = goldenCase.promptIDs.count
        for node in graph.nodes {
            guard let file = goldenCase.tensorFiles[node.name] else { continue }
            let tensor = try set.tensor(node.name, of: goldenCase)
            var shape = tensor.shape
            if shape.count == 3 && shape[0] == 1 { shape.removeFirst() }
            guard shape == [rows, node.width] else {
                let path = (set.directory as NSString).appendingPathComponent(file)
                throw ModelFileError(.badValue, file: path,
                    "golden tensor \(node.name) of case \(goldenCase.name) has shape (\(tensor.shape.map(String.init).joined(separator: ", "))); "
                    + "this model's \(node.name) for the case's \(rows) prompt tokens is (\(rows), \(node.width)): the golden was made for another model")
            }
        }
    }

    /// Compares one node's output; the bound comes from the tolerance table for the kernel op
    /// that computes the node (a whole layer is a "block" at layer granularity).
    func check(_ node: Node, expected: [Float], actual: [Float], rows: Int, mode: ComparisonMode,
               against: String, step: String) -> NodeCheck {
        let dtype = checked.dtype(of: node)
        let kind = granularity == .layers && node.layer != nil ? "block" : ToleranceTable.kernelOp(for: node, rows: rows)
        let tolerance = tolerances.bound(op: kind, dtype: dtype, mode: mode)
        let bound = tolerance?.nmse ?? 0
        guard expected.count == actual.count else {
            return NodeCheck(step: step, node: node.name, layer: node.layer, op: kind, dtype: dtype.rawValue,
                             against: against, nmse: .infinity, maxAbs: .infinity, cosine: 0, nonFinite: 0,
                             bound: bound, exceedsBound: true, passed: false, samples: [])
        }
        let m = ErrorMetrics(expected: expected, actual: actual)
        let largest = expected.reduce(Float(0)) { max($0, abs($1)) }
        let maxAbsBound = (tolerance?.maxAbsRelative ?? .infinity) * Double(largest)
        let exceeds = !(m.nmse <= bound && (m.maxAbs <= maxAbsBound || maxAbsBound.isNaN))
        let passed = m.nonFinite == 0 && !(exceeds && (tolerance?.gates ?? true))
        var samples: [MismatchSample] = []
        if exceeds || !passed {
            let order = expected.indices.sorted { abs(actual[$0] - expected[$0]) > abs(actual[$1] - expected[$1]) || actual[$0].isNaN }
            samples = order.prefix(5).map { MismatchSample(index: $0, expected: expected[$0], actual: actual[$0]) }
        }
        return NodeCheck(step: step, node: node.name, layer: node.layer, op: kind, dtype: dtype.rawValue,
                         against: against, nmse: m.nmse, maxAbs: m.maxAbs, cosine: m.cosine,
                         nonFinite: m.nonFinite, bound: bound, exceedsBound: exceeds, passed: passed, samples: samples)
    }

    /// Greedy ids against the golden's, allowing a divergence only at a near-tie the checked
    /// backend's logit precision cannot resolve.
    func greedyCheck(ours: [Int], golden: GoldenSet.Case, largestLogit: [Float]) -> GreedyCheck {
        let compared = min(ours.count, golden.greedyIDs.count)
        let matched = zip(ours, golden.greedyIDs).prefix { $0 == $1 }.count
        guard matched < compared else { return GreedyCheck(matched: matched, compared: compared, goldenMargin: nil, resolution: 0) }
        let node = graph.node(named: "result_output")!
        let dtype = checked.dtype(of: node)
        var resolution = 0.0
        if dtype != .f32, matched < largestLogit.count, largestLogit[matched] > 0 {
            // bf16 logits: 8 significant bits; an ulp at magnitude x is 2^(floor(log2 x) − 7).
            resolution = 2 * pow(2, floor(log2(Double(largestLogit[matched]))) - 7)
        }
        let margin = matched < golden.greedyMargins.count ? golden.greedyMargins[matched] : nil
        return GreedyCheck(matched: matched, compared: compared, goldenMargin: margin, resolution: resolution)
    }

    func logitCheck(_ kl: [Double], _ agree: [Bool], against: String, scope: LogitCheck.Scope) -> LogitCheck {
        LogitCheck(kl: kl, agree: agree, against: against, scope: scope, gate: tolerances.logits)
    }
}
