import LlamaCore
// What verify mode found: per-node checks, logit checks, the first failure; JSON-encodable.

/// A value that differs: its flat index, the expected (reference) and the actual (checked) value.
public struct MismatchSample: Codable, Sendable, Equatable {
    public var index: Int
    public var expected: Float
    public var actual: Float
}

/// One comparison of one node's output at one step.
public struct NodeCheck: Codable, Sendable {
    /// "prefill" or "decode N".
    public var step: String
    public var node: String
    public var layer: Int?
    public var op: String
    public var dtype: String
    /// "teacher-forced", "fp32 reference" (free-running) or "golden" (free-running).
    public var against: String
    public var nmse: Double
    public var maxAbs: Double
    public var cosine: Double
    public var nonFinite: Int
    public var bound: Double
    /// Above the table's bound. Where that bound gates (see `Tolerance.gates`) this fails the check;
    /// elsewhere it marks drift in the report.
    public var exceedsBound: Bool
    public var passed: Bool
    /// The largest differences (up to 5), for a failed check.
    public var samples: [MismatchSample]
}

/// Logit agreement: KL(reference ‖ checked) of the next-token distributions, in nats.
public struct LogitCheck: Codable, Sendable {
    /// Which rows a check covers. IRON's accuracy gate (amd/IRON iron/applications/llama_3_2_1b/harness.py
    /// `check_accuracy`, test.py `test_llama_3_2_1b_accuracy`) scores generation steps — step 0 the prompt's last
    /// row, then each decode step's row — 40 of them, bounded in mean, p90 (np.percentile) and max:
    /// - `allSteps`: every step of every case of a report, pooled (a golden's two cases of 20 greedy tokens give 42
    ///   steps, as IRON's 40); IRON's gate, mean, p90 and max gate.
    /// - `steps`: one case's steps (21 for a golden case), reported; its p90 is the 2nd–3rd largest value.
    /// - `rows`: every row of a case (each prompt row, then each step), which IRON does not score: its thresholds
    ///   were set on steps ("any one step's KL is as much the position's as the NPU's", test.py), so over rows the
    ///   mean (drift) and the max (one broken row) gate, and p90 is reported.
    public enum Scope: String, Codable, Sendable { case allSteps, steps, rows }
    public var against: String
    public var scope: Scope
    public var positions: Int
    public var klMean: Double
    public var klP90: Double
    public var klMax: Double
    public var top1Agreement: Double
    /// The statistics this check's pass depends on.
    public var gatedOn: String
    public var passed: Bool

    public init(kl: [Double], agree: [Bool], against: String, scope: Scope, gate: LogitGate) {
        self.against = against
        self.scope = scope
        positions = kl.count
        klMean = kl.isEmpty ? 0 : kl.reduce(0, +) / Double(kl.count)
        klP90 = percentile(kl, 90)
        klMax = kl.max() ?? 0
        top1Agreement = agree.isEmpty ? 1 : Double(agree.filter { $0 }.count) / Double(agree.count)
        let finite = kl.allSatisfy(\.isFinite)
        switch scope {
        case .allSteps:
            gatedOn = "mean, p90, max"
            passed = finite && klMean <= gate.klMean && klP90 <= gate.klP90 && klMax <= gate.klMax
        case .steps:
            gatedOn = "finite; IRON's bounds gate all cases' steps together"
            passed = finite
        case .rows:
            gatedOn = "mean, max"
            passed = finite && klMean <= gate.klMean && klMax <= gate.klMax
        }
    }
}

/// The q-th percentile as numpy's `np.percentile` computes it by default (method "linear"), which IRON's gate uses:
/// the sorted values' position q/100·(n − 1), interpolated between its two neighbours.
public func percentile(_ values: [Double], _ q: Double) -> Double {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    let position = q / 100 * Double(sorted.count - 1)
    let lower = Int(position.rounded(.down)), upper = min(lower + 1, sorted.count - 1)
    return sorted[lower] + (sorted[upper] - sorted[lower]) * (position - Double(lower))
}

/// The checked backend's greedy tokens against the golden continuation. A divergence passes only
/// where the golden's own top-1/top-2 margin at that step is within the checked backend's logit
/// resolution (a near-tie that its precision cannot resolve); every token before it must match.
public struct GreedyCheck: Codable, Sendable {
    /// Leading tokens equal to the golden's.
    public var matched: Int
    public var compared: Int
    /// The golden's top-1 − top-2 logit margin at the first divergence.
    public var goldenMargin: Double?
    /// The largest margin the checked backend may fail to resolve: 2 ulp of its logits' precision
    /// at that step's largest logit (0 for fp32 backends: they must match).
    public var resolution: Double
    public var passed: Bool { matched == compared || (goldenMargin.map { $0 <= resolution } ?? false) }
}

public struct CaseReport: Codable, Sendable {
    public var name: String
    public var promptIDs: [Int]
    /// Greedy ids chosen from the checked backend's logits.
    public var generatedIDs: [Int]
    public var goldenGreedyIDs: [Int]?
    public var checks: [NodeCheck]
    public var logits: [LogitCheck]
    public var greedy: GreedyCheck?
    /// KL(fp32 reference ‖ checked) per generation step (the prompt's last row, then each decode step), as IRON prints them.
    public var stepKL: [Double] = []
    /// Per step: both rank the same token first.
    public var stepTop1: [Bool] = []
    public var greedyMatchesGolden: Bool? { greedy.map { $0.matched == $0.compared } }
    public var passed: Bool {
        checks.allSatisfy(\.passed) && logits.allSatisfy(\.passed) && greedy?.passed != false
    }
}

public struct VerifyReport: Codable, Sendable {
    public var model: String
    /// What produced the checked outputs: "CPU reference", "emulated NPU" or "NPU hardware".
    public var device: String
    public var granularity: String
    public var cases: [CaseReport]
    public var tolerances: [ToleranceRow]
    /// IRON's gate over every case's steps together (nil without steps).
    public var steps: LogitCheck?
    /// Its bounds.
    public var gate: LogitGate
    public var passed: Bool { cases.allSatisfy(\.passed) && steps?.passed != false }

    public init(model: String, device: String, granularity: String, cases: [CaseReport], tolerances: [ToleranceRow],
                gate: LogitGate = LogitGate()) {
        self.model = model
        self.device = device
        self.granularity = granularity
        self.cases = cases
        self.tolerances = tolerances
        self.gate = gate
        let kl = cases.flatMap(\.stepKL)
        steps = kl.isEmpty ? nil : LogitCheck(kl: kl, agree: cases.flatMap(\.stepTop1), against: "fp32 reference",
                                               scope: .allSteps, gate: gate)
    }

    /// A report whose tolerance section lists `table`.
    public init(model: String, device: String, granularity: String, cases: [CaseReport], table: ToleranceTable) {
        self.init(model: model, device: device, granularity: granularity, cases: cases,
                  tolerances: table.entries.map {
                      ToleranceRow(op: $0.op, dtype: $0.dtype.rawValue, mode: $0.mode.rawValue, nmse: $0.nmse, gates: $0.gates, reason: $0.reason)
                  }, gate: table.logits)
    }

    /// The first failed node check in execution order (step, node, teacher-forced before free-running).
    public var firstFailure: (caseName: String, check: NodeCheck)? {
        for c in cases { if let f = c.checks.first(where: { !$0.passed }) { return (c.name, f) } }
        return nil
    }

    public struct ToleranceRow: Codable, Sendable {
        public var op: String
        public var dtype: String
        public var mode: String
        public var nmse: Double
        public var gates: Bool
        public var reason: String
    }
}
