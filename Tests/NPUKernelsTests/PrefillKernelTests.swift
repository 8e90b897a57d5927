// Prefill kernels: mmul matmul (bf16 and Q4_1 weights, full and short chunks) and causal chunk attention with KV append.
import LlamaCore
import NPUKernels
import ReferenceBackend
import XCTest

final class PrefillKernelTests: KernelTestCase {
    let chunk = Int32(TestPlans.llama1BPlan.instance("prefill_Qcur")!.values["rows"]!)
    func tile(_ key: String) -> Int32 { TestPlans.tile("prefill_Qcur", key) }

    /// (rows, m, k, label): a full chunk and a short step, SmolLM2 and (modest) 1B shapes.
    let shapes: [(Int, Int, Int, String)] = [
        (64, 576, 576, "smol attn_q"), (13, 192, 576, "smol attn_k, 13 rows"), (64, 256, 1536, "smol ffn_down rows 0..<256"),
        (64, 128, 2048, "1B attn_q rows 0..<128"), (5, 64, 8192, "1B ffn_down rows 0..<64, 5 rows"),
    ]

    func testMatmulBF16() {
        for (i, (rows, m, k, label)) in shapes.enumerated() {
            let x = BF16Tensor(count: rows * k, seed: UInt64(90 + i)), w = BF16Tensor(count: m * k, seed: UInt64(900 + i), scale: 0.05)
            var y = [UInt16](repeating: 0xFFFF, count: rows * m)
            XCTAssertOK(npuk_matmul_bf16(x.bits, w.bits, &y, Int32(rows), chunk, Int32(m), Int32(k), tile("tr"), tile("tk"),
                                         tile("tn"), tile("cores")), label)
            var expected = [Float](repeating: 0, count: rows * m)
            ReferenceOps.matmul(x.floats, rows: rows, inDim: k, weight: w.floats, outDim: m, into: &expected)
            assertWithinTolerance(op: "matmul", dtype: "bf16", shape: "\(label) \(rows)x\(m)x\(k)", expected: expected, actual: y)
        }
    }

    func testMatmulQ4_1AgainstGGUFDequantization() {
        for (i, (rows, m, k, label)) in shapes.enumerated() {
            let x = BF16Tensor(count: rows * k, seed: UInt64(91 + i)), w = Q4Weights(rows: m, k: k, seed: UInt64(910 + i))
            var y = [UInt16](repeating: 0xFFFF, count: rows * m)
            XCTAssertOK(npuk_matmul_q4_1(x.bits, w.bytes, &y, Int32(rows), chunk, Int32(m), Int32(k), tile("tr"), tile("tk"),
                                         tile("tn"), tile("cores")), label)
            var expected = [Float](repeating: 0, count: rows * m)
            ReferenceOps.matmul(x.floats, rows: rows, inDim: k, weight: w.floats, outDim: m, into: &expected)
            assertWithinTolerance(op: "matmul", dtype: "q4_1", shape: "\(label) \(rows)x\(m)x\(k)", expected: expected, actual: y)
        }
    }

    /// Output tiles of 32 and 16 columns (the plan's tn for the tiny golden model's K/V rows and for one KV head of 16).
    func testMatmulSmallColumnTiles() {
        let tn32 = TestPlans.tile(TestPlans.tinyPlan, "prefill_Kcur", "tn"), tn16 = TestPlans.tile(TestPlans.tinyMQAPlan, "prefill_Kcur", "tn")
        XCTAssertEqual([tn32, tn16], [32, 16])
        for (i, (rows, m, k, tn, label)) in [(64, 32, 128, tn32, "tiny attn_k"), (13, 16, 128, tn16, "1 KV head attn_k, 13 rows"),
                                             (40, 48, 384, tn16, "3 column tiles")].enumerated() {
            let x = BF16Tensor(count: rows * k, seed: UInt64(95 + i))
            let w = BF16Tensor(count: m * k, seed: UInt64(950 + i), scale: 0.05), q = Q4Weights(rows: m, k: k, seed: UInt64(960 + i))
            var y = [UInt16](repeating: 0xFFFF, count: rows * m), yq = y
            XCTAssertOK(npuk_matmul_bf16(x.bits, w.bits, &y, Int32(rows), chunk, Int32(m), Int32(k), tile("tr"), tile("tk"), tn,
                                         tile("cores")), label)
            XCTAssertOK(npuk_matmul_q4_1(x.bits, q.bytes, &yq, Int32(rows), chunk, Int32(m), Int32(k), tile("tr"), tile("tk"), tn,
                                         tile("cores")), label)
            var expected = [Float](repeating: 0, count: rows * m), expectedQ = expected
            ReferenceOps.matmul(x.floats, rows: rows, inDim: k, weight: w.floats, outDim: m, into: &expected)
            ReferenceOps.matmul(x.floats, rows: rows, inDim: k, weight: q.floats, outDim: m, into: &expectedQ)
            assertWithinTolerance(op: "matmul", dtype: "bf16", shape: "\(label) \(rows)x\(m)x\(k) tn \(tn)", expected: expected, actual: y)
            assertWithinTolerance(op: "matmul", dtype: "q4_1", shape: "\(label) \(rows)x\(m)x\(k) tn \(tn)", expected: expectedQ, actual: yq)
        }
    }

    func checkAttention(heads: Int, kvHeads: Int, capacity: Int, start: Int, rows: Int, label: String, headDim: Int = 64) {
        let seed = UInt64(start * 7 + rows)
        let q = BF16Tensor(count: rows * heads * headDim, seed: seed, scale: 2)
        let kNew = BF16Tensor(count: rows * kvHeads * headDim, seed: seed + 1, scale: 2)
        let vNew = BF16Tensor(count: rows * kvHeads * headDim, seed: seed + 2)
        var kCache = BF16Tensor(count: kvHeads * capacity * headDim, seed: seed + 3, scale: 2).bits
        var vCache = BF16Tensor(count: kvHeads * capacity * headDim, seed: seed + 4).bits
        var out = [UInt16](repeating: 0, count: rows * heads * headDim)
        let plan = TestPlans.llama1BPlan.instance("prefill_kqv_out")!
        XCTAssertOK(npuk_attn_prefill_bf16(q.bits, kNew.bits, vNew.bits, &kCache, &vCache, Int32(capacity), Int32(start),
                                           Int32(rows), Int32(heads), Int32(kvHeads), Int32(headDim),
                                           Int32(plan.values["block"]!), Int32(plan.values["qrows"]!), &out), label)
        for r in 0..<rows { // appended rows
            for h in 0..<kvHeads {
                let c = (h * capacity + start + r) * headDim, n = (r * kvHeads + h) * headDim
                XCTAssertEqual(Array(kCache[c..<c + headDim]), Array(kNew.bits[n..<n + headDim]))
                XCTAssertEqual(Array(vCache[c..<c + headDim]), Array(vNew.bits[n..<n + headDim]))
            }
        }
        var expected = [Float](repeating: 0, count: rows * heads * headDim)
        var scratch = [Float](repeating: 0, count: max(rows, heads / kvHeads) * (start + rows))
        ReferenceOps.attention(q: q.floats, rows: rows, start: start, heads: heads, kvHeads: kvHeads, headDim: headDim,
                               kCache: kCache.map(bf16ToFloat), vCache: vCache.map(bf16ToFloat), capacity: capacity,
                               out: &expected, scratch: &scratch)
        assertWithinTolerance(op: "attention", dtype: "bf16", shape: "prefill \(label) hd \(headDim) start \(start) rows \(rows)",
                              expected: expected, actual: out)
    }

    func testCausalPrefillAttention() {
        checkAttention(heads: 32, kvHeads: 8, capacity: 1024, start: 0, rows: 64, label: "1B")
        checkAttention(heads: 9, kvHeads: 3, capacity: 512, start: 1, rows: 13, label: "smol")
        checkAttention(heads: 9, kvHeads: 3, capacity: 512, start: 100, rows: 64, label: "smol")
        checkAttention(heads: 32, kvHeads: 8, capacity: 2048, start: 2048 - 20, rows: 20, label: "1B near ctx")
    }

    /// headDim 16 (the tiny golden model: 8 heads on 2 KV heads, and one KV head): one 16-lane vector per row.
    func testCausalPrefillAttentionHeadDim16() {
        checkAttention(heads: 8, kvHeads: 2, capacity: 256, start: 0, rows: 8, label: "tiny", headDim: 16)
        checkAttention(heads: 8, kvHeads: 2, capacity: 256, start: 1, rows: 13, label: "tiny", headDim: 16)
        checkAttention(heads: 8, kvHeads: 2, capacity: 256, start: 100, rows: 64, label: "tiny", headDim: 16)
        checkAttention(heads: 8, kvHeads: 1, capacity: 256, start: 256 - 20, rows: 20, label: "tiny 1 KV head near ctx", headDim: 16)
    }

    func testPrefillThenDecodeAgreeWithOneLongPrefill() {
        // Positions 0..<40 by prefill, 40 by decode == the same 41 rows by one prefill (last row).
        let (heads, kvHeads, headDim, capacity) = (4, 2, 64, 128)
        let q = BF16Tensor(count: 41 * heads * headDim, seed: 1), k = BF16Tensor(count: 41 * kvHeads * headDim, seed: 2)
        let v = BF16Tensor(count: 41 * kvHeads * headDim, seed: 3)
        let zero = [UInt16](repeating: 0, count: kvHeads * capacity * headDim)
        var (k1, v1, k2, v2) = (zero, zero, zero, zero)
        var outA = [UInt16](repeating: 0, count: 41 * heads * headDim), outB = outA
        XCTAssertOK(npuk_attn_prefill_bf16(q.bits, k.bits, v.bits, &k1, &v1, Int32(capacity), 0, 41, Int32(heads),
                                           Int32(kvHeads), Int32(headDim), 64, 32, &outA), "one prefill")
        XCTAssertOK(npuk_attn_prefill_bf16(q.bits, k.bits, v.bits, &k2, &v2, Int32(capacity), 0, 40, Int32(heads),
                                           Int32(kvHeads), Int32(headDim), 64, 32, &outB), "prefill 40")
        let qo = 40 * heads * headDim, ko = 40 * kvHeads * headDim
        var last = [UInt16](repeating: 0, count: heads * headDim)
        XCTAssertOK(npuk_attn_decode_bf16(Array(q.bits[qo...]), Array(k.bits[ko...]), Array(v.bits[ko...]), &k2, &v2,
                                          Int32(capacity), 40, Int32(heads), Int32(kvHeads), Int32(headDim), 64, 1, &last),
                    "decode 40")
        XCTAssertEqual(k1, k2)
        XCTAssertEqual(v1, v2)
        XCTAssertEqual(Array(outA[..<qo]), Array(outB[..<qo]))
        XCTAssertEqual(Array(outA[qo...]), last)   // same blocks, same order, same arithmetic
    }
}
