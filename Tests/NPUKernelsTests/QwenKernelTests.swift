// Issue 17's hub kernels on the emulated NPU against the fp32 reference: Qwen3's per-head Q/K RMSNorm and Qwen2's q/k/v bias add.
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
}
