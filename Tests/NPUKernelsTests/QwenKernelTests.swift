// Issue 17's hub kernels on the emulated NPU against the fp32 reference: Qwen3's per-head Q/K RMSNorm and Qwen2's q/k/v bias add,
// on bf16 rows and (the decode hub since single rounding) on the QKV stage's fp32 rows, rounded once.
import LlamaCore
import NPUKernels
import ReferenceBackend
import XCTest

final class QwenKernelTests: KernelTestCase {
    /// (heads, head_dim) of a token's Q or K row: Qwen3-0.6B's q (16 × 128) and k (8 × 128), the tiny golden model's
    /// (4 × 64, 2 × 64), and the narrow heads the hub also serves (32, 16).
    func testHeadRMSNorm() {
        for (i, (heads, hd, rows)) in [(16, 128, 1), (8, 128, 2), (4, 64, 3), (2, 64, 1), (8, 32, 1), (4, 16, 2)].enumerated() {
            let n = heads * hd
            for outlier in [false, true] {
                var x = BF16Tensor(count: rows * n, seed: UInt64(700 + i), scale: 3)
                if outlier {   // one channel per head dominates its row (real q/k rows have such channels)
                    var bits = x.bits
                    for r in 0..<rows * heads { bits[r * hd + 5] = floatToBF16(60) }
                    x = BF16Tensor(bits: bits)
                }
                let w = BF16Tensor(count: hd, seed: UInt64(800 + i), scale: 0.4, offset: 1.5)
                var y = [UInt16](repeating: 0, count: rows * n)
                XCTAssertOK(npuk_head_rmsnorm_bf16(x.bits, w.bits, &y, Int32(rows), Int32(heads), Int32(hd), 1e-6),
                            "head_rmsnorm \(heads)x\(hd)")
                var expected = [Float](repeating: 0, count: rows * n)
                ReferenceOps.rmsNorm(x.floats, rows: rows * heads, dim: hd, weight: w.floats, eps: 1e-6, into: &expected)
                assertWithinTolerance(op: "headnorm", dtype: "bf16",
                                      shape: "\(rows)x\(heads)x\(hd)\(outlier ? " outlier" : "")", expected: expected, actual: y)
            }
        }
        var y = [UInt16](repeating: 0, count: 24)
        XCTAssertEqual(Int(npuk_head_rmsnorm_bf16([UInt16](repeating: 0, count: 24), [UInt16](repeating: 0, count: 12),
                                                  &y, 1, 2, 12, 1e-6)), Int(NPUK_BAD_SHAPE), "head_dim 12 is refused")
    }

    /// A q/k/v row plus its bias: Qwen2.5-0.5B (896 + 2·128), 1.5B (1536 + 2·256), the tiny golden model (128 + 2·64);
    /// biases as large as the products (Qwen2.5's k biases are) and a bias that dominates its element.
    func testBiasAdd() {
        for (i, (n, rows)) in [(1152, 1), (2048, 2), (256, 3), (272, 1)].enumerated() {
            for dominated in [false, true] {
                let x = BF16Tensor(count: rows * n, seed: UInt64(900 + i), scale: 2)
                var b = BF16Tensor(count: n, seed: UInt64(950 + i), scale: 2)
                if dominated {
                    var bits = b.bits
                    bits[7] = floatToBF16(-90)
                    b = BF16Tensor(bits: bits)
                }
                var y = [UInt16](repeating: 0, count: rows * n)
                XCTAssertOK(npuk_bias_add_bf16(x.bits, b.bits, &y, Int32(rows), Int32(n)), "bias_add \(n)")
                var expected = [Float](repeating: 0, count: rows * n)
                ReferenceOps.addBias(x.floats, rows: rows, width: n, bias: b.floats, into: &expected)
                assertWithinTolerance(op: "bias", dtype: "bf16", shape: "\(rows)x\(n)\(dominated ? " dominated" : "")",
                                      expected: expected, actual: y)
            }
        }
        var y = [UInt16](repeating: 0, count: 24)
        XCTAssertEqual(Int(npuk_bias_add_bf16([UInt16](repeating: 0, count: 24), [UInt16](repeating: 0, count: 24), &y, 1, 24)),
                       Int(NPUK_BAD_SHAPE), "n = 24 is refused")
    }

    /// The decode hub's Qwen step on one token's fp32 q ‖ k ‖ v row (Kernels/decode/README.md "Qwen fp32 rows"), head
    /// by head: Qwen2.5-0.5B (14 + 2·2 heads of 64), the tiny golden models (4 + 2·2 of 64), Qwen3-0.6B (16 + 2·8 of
    /// 128). Qwen2's biased row must be the fp32 sum rounded ONCE (bit-exact: the accumulator adds exactly, then one
    /// nearest-even rounding), and the same data through the old double rounding (bf16 product, then the sum rounded)
    /// must differ somewhere, so the check can tell them apart. Qwen3: q/k within the headnorm tolerance of the fp32
    /// norm of the fp32 row, v the fp32 row rounded once (bit-exact).
    func testQwenHubOnFP32Rows() {
        for (i, (qh, kvh, hd)) in [(14, 2, 64), (4, 2, 64), (16, 8, 128)].enumerated() {
            let heads = qh + 2 * kvh, n = heads * hd, qk = (qh + kvh) * hd
            var state = UInt64(1000 + i)
            func next() -> Float {   // full-mantissa fp32 values in (−4, 4): what a gemv accumulator holds
                state = state &* 6364136223846793005 &+ 1442695040888963407
                return Float(Double(state >> 11) / Double(1 << 53) * 8 - 4)
            }
            let x = (0..<n).map { _ in next() }
            // Qwen2: the biases, some as large as the products
            let b = BF16Tensor(count: n, seed: UInt64(1100 + i), scale: 2)
            var y = [UInt16](repeating: 0, count: n)
            XCTAssertOK(npuk_qwen_hub_f32(x, b.bits, &y, 1, Int32(qh), Int32(kvh), Int32(hd), 1e-6), "qwen2 hub \(qh)/\(kvh)x\(hd)")
            var expected = [Float](repeating: 0, count: n)
            ReferenceOps.addBias(x, rows: 1, width: n, bias: b.floats, into: &expected)
            assertWithinTolerance(op: "bias", dtype: "bf16", shape: "fp32 row \(qh)/\(kvh)x\(hd)", expected: expected, actual: y)
            XCTAssertEqual(y, expected.map(floatToBF16), "qwen2 \(qh)/\(kvh)x\(hd): the fp32 sum rounded once")
            let twice = (0..<n).map { floatToBF16(bf16ToFloat(floatToBF16(x[$0])) + b.floats[$0]) }
            XCTAssertNotEqual(twice, y, "double rounding would give the same bits: the check cannot tell them apart")
            // Qwen3: q_norm ‖ k_norm
            let w = BF16Tensor(count: 2 * hd, seed: UInt64(1200 + i), scale: 0.4, offset: 1.5)
            XCTAssertOK(npuk_qwen_hub_f32(x, w.bits, &y, 2, Int32(qh), Int32(kvh), Int32(hd), 1e-6), "qwen3 hub \(qh)/\(kvh)x\(hd)")
            var normed = [Float](repeating: 0, count: qk)
            let wf = w.floats
            x.withUnsafeBufferPointer { xp in
                normed.withUnsafeMutableBufferPointer { yp in
                    ReferenceOps.rmsNorm(xp.baseAddress!, rows: qh, dim: hd, weight: Array(wf[0..<hd]), eps: 1e-6, into: yp.baseAddress!)
                    ReferenceOps.rmsNorm(xp.baseAddress! + qh * hd, rows: kvh, dim: hd, weight: Array(wf[hd...]), eps: 1e-6,
                                         into: yp.baseAddress! + qh * hd)
                }
            }
            assertWithinTolerance(op: "headnorm", dtype: "bf16", shape: "fp32 row \(qh)/\(kvh)x\(hd)", expected: normed,
                                  actual: Array(y[0..<qk]))
            XCTAssertEqual(Array(y[qk...]), x[qk...].map(floatToBF16), "qwen3 \(qh)/\(kvh)x\(hd): v rounded once")
        }
        var y = [UInt16](repeating: 0, count: 96)
        XCTAssertEqual(Int(npuk_qwen_hub_f32([Float](repeating: 0, count: 96), [UInt16](repeating: 0, count: 96), &y, 3, 2, 2, 16, 1e-6)),
                       Int(NPUK_BAD_SHAPE), "family 3 is refused")
    }
}
