// The one table of error bounds: per op, dtype and comparison mode, each with its reason.

/// How a backend's output is compared: on the reference's inputs (teacher-forced: one op's own
/// error), or after running freely (accumulated drift, vs the fp32 reference or golden files).
public enum ComparisonMode: String, Sendable, Codable, CaseIterable {
    case teacherForced = "teacher-forced"
    case freeRunning = "free-running"
}

/// An error bound and why it is what it is.
public struct Tolerance: Sendable, Equatable {
    public var op: String          // Op.kind, or "*" for any op
    public var dtype: DType        // the precision the backend computes this op in
    public var mode: ComparisonMode
    /// Bound on NMSE = Σ(a−e)²/Σe².
    public var nmse: Double
    public var reason: String
}

/// Bounds on logits over a prompt, as IRON's Llama gate uses them (KL of softmax, nats).
public struct LogitGate: Sendable, Equatable {
    public var klMean: Double = 0.02
    public var klP90: Double = 0.04
    public var klMax: Double = 0.2
    public var reason = "IRON's Llama 3.2 1B accuracy gate (amd/IRON applications/llama_3_2_1b/test.py): per-token KL vs an fp32 CPU pass"
    public init() {}
}

public struct ToleranceTable: Sendable {
    public var entries: [Tolerance]
    public var logits = LogitGate()

    public init(entries: [Tolerance]) { self.entries = entries }

    /// The bound for an op computed in `dtype`, compared in `mode`: the most specific entry
    /// (exact op before "*"). Every (op, dtype, mode) a backend can produce must have one.
    public func bound(op: String, dtype: DType, mode: ComparisonMode) -> Tolerance? {
        entries.first { $0.op == op && $0.dtype == dtype && $0.mode == mode }
            ?? entries.first { $0.op == "*" && $0.dtype == dtype && $0.mode == mode }
    }

    public static let standard = ToleranceTable(entries: [
        // fp32 against fp32: the same arithmetic, only the summation order may differ.
        Tolerance(op: "*", dtype: .f32, mode: .teacherForced, nmse: 1e-10,
                  reason: "fp32 vs fp32 on identical inputs: summation order only (observed 0 for the reference against itself, ~1e-14 across BLAS paths)"),
        Tolerance(op: "*", dtype: .f32, mode: .freeRunning, nmse: 1e-8,
                  reason: "fp32 vs fp32 through every layer: rounding differences grow with depth; observed ≤ 1e-11 for SmolLM2's 30 layers vs PyTorch"),
        // bf16 activations with fp32 accumulation (the NPU kernels).
        Tolerance(op: "matmul", dtype: .bf16, mode: .teacherForced, nmse: 5e-4,
                  reason: "bf16 inputs, fp32 accumulation: relative error ~1e-3 independent of K (REFERENCE §8); llama.cpp test-backend-ops uses NMSE 5e-4 for matmul"),
        Tolerance(op: "attention", dtype: .bf16, mode: .teacherForced, nmse: 5e-4,
                  reason: "bf16 Q/K/V, fp32 scores and online softmax: llama.cpp's bound for attention"),
        Tolerance(op: "*", dtype: .bf16, mode: .teacherForced, nmse: 1e-4,
                  reason: "element-wise ops (norm, RoPE, SwiGLU, add) in fp32 on bf16 inputs: one bf16 rounding of the output (2⁻⁹ relative → NMSE ≤ ~4e-6), with margin for exp/invsqrt approximations"),
        Tolerance(op: "layer", dtype: .bf16, mode: .teacherForced, nmse: 2e-3,
                  reason: "a whole block on the reference's input (layer granularity): llama.cpp's whole-block bound"),
        Tolerance(op: "*", dtype: .bf16, mode: .freeRunning, nmse: 2e-3,
                  reason: "bf16 drift through the whole model: llama.cpp's whole-block bound (2e-3); the logit KL gate is the end-to-end check"),
        // 4-bit weights: the kernel dequantizes Q4_1 exactly as GGUF defines it, and the reference uses
        // the same dequantized weights, so only the bf16 activations differ.
        Tolerance(op: "matmul", dtype: .q4_1, mode: .teacherForced, nmse: 5e-4,
                  reason: "Q4_1 weights dequantized exactly in-kernel (the reference uses the same values); bf16 activations as for bf16 matmul"),
        Tolerance(op: "layer", dtype: .q4_1, mode: .teacherForced, nmse: 2e-3,
                  reason: "a whole block on the reference's input, as for bf16"),
        Tolerance(op: "*", dtype: .q4_1, mode: .freeRunning, nmse: 2e-3,
                  reason: "as bf16: the weights are bit-identical to the reference's, drift comes from bf16 activations"),
    ])
}
