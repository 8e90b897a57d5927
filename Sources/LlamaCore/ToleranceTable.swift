// The one table of error bounds kernel tests apply: per op and dtype, an NMSE and a max-abs bound, each with its reason.

/// How far a kernel's output may be from the fp32 reference fed the same (bf16-rounded) inputs.
public struct Tolerance: Sendable, Equatable {
    /// Op name as the manifest names kernels (`gemv`, `matmul`, `rmsnorm`, `rope`, `attention`, ...).
    public var op: String
    /// Weight or activation type the bound is for (`bf16`, `q4_1`).
    public var dtype: String
    /// Bound on Σ(a−e)²/Σe² (llama.cpp test-backend-ops' NMSE).
    public var nmse: Double
    /// Bound on max|a−e| relative to max|e| (a per-element check that NMSE cannot hide).
    public var maxAbsRelative: Double
    public var reason: String
}

/// Bounds for every kernel. Sources: REFERENCE.md §7–8 — bf16 inputs with fp32 accumulation give
/// ≈1e-3 relative error independent of K; llama.cpp bounds matmul/attention NMSE at 5e-4 and a
/// whole block at 2e-3. Where a kernel's only rounding is its bf16 output (≤ 2⁻⁹ relative per
/// element with round-to-nearest-even, NMSE ≈ 2⁻¹⁸/3 ≈ 1.3e-6), the bound is tighter than
/// llama.cpp's so that a real defect cannot hide under it.
public enum ToleranceTable {
    static let outputRounding = "inputs are bf16 on both sides; fp32 accumulation; one bf16 rounding (nearest even, " +
        "≤ 2⁻⁹ relative, NMSE ≈ 1.3e-6) of the output"

    public static let entries: [Tolerance] = [
        Tolerance(op: "gemv", dtype: "bf16", nmse: 1e-5, maxAbsRelative: 4e-3,
                  reason: outputRounding + "; fp32 sums in another order (≈1e-7·√K). Tighter than llama.cpp's 5e-4 (§8)"),
        Tolerance(op: "gemv", dtype: "q4_1", nmse: 1e-5, maxAbsRelative: 4e-3,
                  reason: "d·Σq·x + m·Σx in fp32 equals the GGUF dequantization (LlamaCore.dequantize) up to fp32 " +
                      "rounding; then " + outputRounding),
        Tolerance(op: "matmul", dtype: "bf16", nmse: 1e-5, maxAbsRelative: 4e-3,
                  reason: outputRounding + "; mmul sums 8 products per step in fp32"),
        Tolerance(op: "matmul", dtype: "q4_1", nmse: 3e-5, maxAbsRelative: 8e-3,
                  reason: "weights dequantized in the core to bf16 (≤ 2⁻⁹ relative each, uncorrelated) for mmul, " +
                      "then " + outputRounding),
        Tolerance(op: "rmsnorm", dtype: "bf16", nmse: 1e-5, maxAbsRelative: 4e-3,
                  reason: "mean of squares in fp32 (reference: Double); x·s·w in fp32; " + outputRounding),
        Tolerance(op: "rope", dtype: "bf16", nmse: 2e-5, maxAbsRelative: 8e-3,
                  reason: "cos/sin rows are bf16 in the step params (2⁻⁹ each) on top of " + outputRounding),
        Tolerance(op: "attention", dtype: "bf16", nmse: 1e-4, maxAbsRelative: 1.6e-2,
                  reason: "probabilities rounded to bf16 before P·V (normaliser sums the same values), fp32 online " +
                      "softmax, bf16 output; within llama.cpp's attention NMSE 5e-4 (§8)"),
        Tolerance(op: "swiglu", dtype: "bf16", nmse: 1e-5, maxAbsRelative: 4e-3,
                  reason: "silu in fp32 via exp2 (exact in the emulation); " + outputRounding),
        Tolerance(op: "add", dtype: "bf16", nmse: 1e-5, maxAbsRelative: 4e-3,
                  reason: "exact fp32 sum of two bf16 values, " + outputRounding),
        Tolerance(op: "lm_head", dtype: "bf16", nmse: 1e-5, maxAbsRelative: 4e-3,
                  reason: "the logits are gemv's; argmax runs on fp32 accumulators, so the chosen token's reference " +
                      "logit is within gemv's error of the reference maximum"),
        Tolerance(op: "block", dtype: "bf16", nmse: 2e-3, maxAbsRelative: 5e-2,
                  reason: "a fused layer half chains several bf16 roundings; llama.cpp's whole-block bound (§8)"),
        Tolerance(op: "block", dtype: "q4_1", nmse: 2e-3, maxAbsRelative: 5e-2,
                  reason: "as block/bf16: the Q4_1 weights are exact (GGUF dequantization on both sides)"),
    ]

    /// The bound for `op` and `dtype`. A missing entry is a programming error in a test.
    public static func bound(op: String, dtype: String) -> Tolerance {
        guard let t = entries.first(where: { $0.op == op && $0.dtype == dtype }) else {
            preconditionFailure("ToleranceTable has no entry for \(op)/\(dtype)")
        }
        return t
    }
}
