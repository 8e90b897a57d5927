// gemv_bf16 and gemv_q4_1 (decode projections) and the LM head argmax against the fp32 reference.
import LlamaCore
import NPUKernels
import ReferenceBackend
import XCTest

final class GemvKernelTests: KernelTestCase {
    let tm = TestPlans.tile("Qcur", "tm"), tk = TestPlans.tile("Qcur", "tk"), cores = TestPlans.tile("Qcur", "cores")

    /// (m, k, label): SmolLM2 and Llama 3.2 1B projection shapes (1B with modest row counts), and ragged edges.
    let shapes: [(Int, Int, String)] = [
        (576, 576, "smol attn_q"), (192, 576, "smol attn_k"), (1536, 576, "smol ffn_gate"),
        (576, 1536, "smol ffn_down"), (256, 2048, "1B attn_q rows 0..<256"), (512, 2048, "1B attn_k"),
        (128, 8192, "1B ffn_down rows 0..<128"), (64, 64, "one tile"), (192, 320, "3x5 tiles"),
    ]

    func testGemvBF16MatchesReference() {
        for (i, (m, k, label)) in shapes.enumerated() {
            let w = BF16Tensor(count: m * k, seed: UInt64(10 + i), scale: 0.05)
            let x = BF16Tensor(count: k, seed: UInt64(100 + i))
            var y = [UInt16](repeating: 0, count: m)
            XCTAssertOK(npuk_gemv_bf16(w.bits, x.bits, &y, Int32(m), Int32(k), tm, tk, cores), label)
            assertWithinTolerance(op: "gemv", dtype: "bf16", shape: "\(label) \(m)x\(k)",
                                  expected: referenceGemv(weights: w.floats, x: x.floats, m: m, k: k), actual: y)
        }
    }

    func testGemvQ4_1MatchesGGUFDequantization() {
        for (i, (m, k, label)) in shapes.enumerated() {
            let w = Q4Weights(rows: m, k: k, seed: UInt64(20 + i))
            let x = BF16Tensor(count: k, seed: UInt64(200 + i))
            var y = [UInt16](repeating: 0, count: m)
            XCTAssertOK(npuk_gemv_q4_1(w.bytes, x.bits, &y, Int32(m), Int32(k), tm, tk, cores), label)
            assertWithinTolerance(op: "gemv", dtype: "q4_1", shape: "\(label) \(m)x\(k)",
                                  expected: referenceGemv(weights: w.floats, x: x.floats, m: m, k: k), actual: y)
        }
    }

    func testCoreCountDoesNotChangeResults() {
        let (m, k) = (320, 192)
        let w = BF16Tensor(count: m * k, seed: 3, scale: 0.1), x = BF16Tensor(count: k, seed: 4)
        var y1 = [UInt16](repeating: 0, count: m), y7 = y1
        XCTAssertOK(npuk_gemv_bf16(w.bits, x.bits, &y1, Int32(m), Int32(k), tm, tk, 1), "1 core")
        XCTAssertOK(npuk_gemv_bf16(w.bits, x.bits, &y7, Int32(m), Int32(k), tm, tk, 7), "7 cores")
        XCTAssertEqual(y1, y7)
    }

    func testLMHeadArgmaxMatchesReference() {
        for (i, (vocab, k, label)) in [(49152, 576, "smol vocab"), (4096, 2048, "1B hidden, 4096 rows"),
                                       (320, 64, "ragged")].enumerated() {
            let w = BF16Tensor(count: vocab * k, seed: UInt64(30 + i), scale: 0.05)
            let x = BF16Tensor(count: k, seed: UInt64(300 + i))
            var token: Int32 = -1
            XCTAssertOK(npuk_lm_head_argmax_bf16(w.bits, x.bits, &token, Int32(vocab), Int32(k), tm, tk, cores), label)
            let logits = referenceGemv(weights: w.floats, x: x.floats, m: vocab, k: k)
            let best = Sampler.argmax(logits)
            let bound = ToleranceTable.bound(op: "lm_head", dtype: "bf16").maxAbsRelative
                * Double(logits.map(abs).max()!)
            XCTAssert(token >= 0 && Int(token) < vocab, label)
            // Equal to the reference argmax unless the two are within the kernel's error of each other.
            if Int(token) != best {
                XCTAssertLessThanOrEqual(Double(logits[best] - logits[Int(token)]), bound, "\(label): \(token) vs \(best)")
            }
            print("KERNEL-ERROR lm_head    bf16  \(label) token \(token) reference \(best)")
        }
    }

    func testLMHeadArgmaxQ4_1AndTiesPickLowestIndex() {
        // Rows 70 and 200 (different cores and tiles) are identical and the largest: the lower wins.
        let (vocab, k) = (320, 128)
        var w = Q4Weights(rows: vocab, k: k, seed: 5)
        let rowBytes = k / 32 * 20
        let d = floatToF16(0.05)
        for b in 0..<rowBytes {
            // d = 0.05, m = 0, every nibble 15: far above any random row.
            let byte: UInt8 = switch b % 20 { case 0: UInt8(d & 0xFF); case 1: UInt8(d >> 8); case 2, 3: 0; default: 0xFF }
            w.bytes[70 * rowBytes + b] = byte
            w.bytes[200 * rowBytes + b] = byte
        }
        w.floats = w.bytes.withUnsafeBytes { dequantize($0, as: .q4_1) }
        let x = BF16Tensor(count: k, seed: 6, offset: 1)   // positive x: all-15 nibbles maximise the logit
        var token: Int32 = -1
        XCTAssertOK(npuk_lm_head_argmax_q4_1(w.bytes, x.bits, &token, Int32(vocab), Int32(k), tm, tk, cores), "ties")
        XCTAssertEqual(Sampler.argmax(referenceGemv(weights: w.floats, x: x.floats, m: vocab, k: k)), 70)
        XCTAssertEqual(token, 70)
    }

    /// Row tiles of 32 and 16 (the tilings the plan picks for the tiny golden model's K/V rows, kvDim 32, and for
    /// one KV head of 16), with several tiles per core and fewer tiles than cores.
    func testSmallRowTilesMatchReference() {
        let tm32 = TestPlans.tile(TestPlans.tinyPlan, "Kcur", "tm"), tm16 = TestPlans.tile(TestPlans.tinyMQAPlan, "Kcur", "tm")
        XCTAssertEqual([tm32, tm16], [32, 16])
        let cases: [(Int, Int, Int32, Int32, String)] = [
            (32, 128, tm32, cores, "tiny attn_k"), (16, 128, tm16, cores, "1 KV head attn_k"),
            (96, 384, tm32, 2, "3 tiles on 2 cores"), (48, 192, tm16, 2, "3 tiles of 16 on 2 cores"),
        ]
        for (i, (m, k, rowTile, cores, label)) in cases.enumerated() {
            let x = BF16Tensor(count: k, seed: UInt64(500 + i))
            let w = BF16Tensor(count: m * k, seed: UInt64(510 + i), scale: 0.05)
            var y = [UInt16](repeating: 0, count: m)
            XCTAssertOK(npuk_gemv_bf16(w.bits, x.bits, &y, Int32(m), Int32(k), rowTile, tk, cores), label)
            assertWithinTolerance(op: "gemv", dtype: "bf16", shape: "\(label) \(m)x\(k) tm \(rowTile)",
                                  expected: referenceGemv(weights: w.floats, x: x.floats, m: m, k: k), actual: y)
            let q = Q4Weights(rows: m, k: k, seed: UInt64(520 + i))
            var yq = [UInt16](repeating: 0, count: m)
            XCTAssertOK(npuk_gemv_q4_1(q.bytes, x.bits, &yq, Int32(m), Int32(k), rowTile, tk, cores), label)
            assertWithinTolerance(op: "gemv", dtype: "q4_1", shape: "\(label) \(m)x\(k) tm \(rowTile)",
                                  expected: referenceGemv(weights: q.floats, x: x.floats, m: m, k: k), actual: yq)
        }
        // the LM head with 16-row tiles (a vocabulary that is a multiple of 16 only) keeps the reference's argmax
        let (vocab, k) = (1040, 128)
        let w = BF16Tensor(count: vocab * k, seed: 530, scale: 0.05), x = BF16Tensor(count: k, seed: 531)
        var token: Int32 = -1
        XCTAssertOK(npuk_lm_head_argmax_bf16(w.bits, x.bits, &token, Int32(vocab), Int32(k), tm16, tk, cores), "lm head tm 16")
        let logits = referenceGemv(weights: w.floats, x: x.floats, m: vocab, k: k)
        let best = Sampler.argmax(logits)
        if Int(token) != best {
            XCTAssertLessThanOrEqual(Double(logits[best] - logits[Int(token)]),
                                     ToleranceTable.bound(op: "lm_head", dtype: "bf16").maxAbsRelative * Double(logits.map(abs).max()!))
        }
        print("KERNEL-ERROR lm_head    bf16  vocab 1040 tm 16 token \(token) reference \(best)")
        // 16 rows cannot hold a tile of 8
        var y = [UInt16](repeating: 0, count: 8)
        XCTAssertEqual(Int(npuk_gemv_bf16(w.bits, x.bits, &y, 8, Int32(k), 8, tk, cores)), Int(NPUK_BAD_SHAPE))
    }

    func testDriverRejectsShapesItsTilingCannotServe() {
        var y = [UInt16](repeating: 0, count: 64)
        let w = [UInt16](repeating: 0, count: 64 * 96), x = [UInt16](repeating: 0, count: 96)
        XCTAssertEqual(Int(npuk_gemv_bf16(w, x, &y, 64, 96, tm, tk, cores)), Int(NPUK_BAD_SHAPE))
        XCTAssertEqual(Int(npuk_gemv_bf16(w, x, &y, 48, 64, tm, tk, cores)), Int(NPUK_BAD_SHAPE))
        // 64 x 512 bf16 tiles double-buffered are 128 KB: more than a core has.
        let big = [UInt16](repeating: 0, count: 64 * 512)
        XCTAssertEqual(Int(npuk_gemv_bf16(big, x, &y, 64, 512, 64, 512, 1)), Int(NPUK_CORE_MEMORY))
    }
}
