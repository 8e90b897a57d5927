// gemv_q4_0 (decode projections), the Q4_0 LM head argmax and matmul_q4_0 (prefill) against the fp32 reference on GGUF-dequantized weights.
import LlamaCore
import NPUBackend
import NPUKernels
import ReferenceBackend
import XCTest

final class Q4_0KernelTests: KernelTestCase {
    let tm = TestPlans.tile("Qcur", "tm"), tk = TestPlans.tile("Qcur", "tk"), cores = TestPlans.tile("Qcur", "cores")

    /// (m, k, label): SmolLM2 and Llama 3.2 1B projection shapes (1B with modest row counts), and ragged edges.
    let shapes: [(Int, Int, String)] = [
        (576, 576, "smol attn_q"), (192, 576, "smol attn_k"), (1536, 576, "smol ffn_gate"),
        (576, 1536, "smol ffn_down"), (256, 2048, "1B attn_q rows 0..<256"), (512, 2048, "1B attn_k"),
        (128, 8192, "1B ffn_down rows 0..<128"), (64, 64, "one tile"), (192, 320, "3x5 tiles"),
    ]

    func testGemvQ4_0MatchesGGUFDequantization() {
        for (i, (m, k, label)) in shapes.enumerated() {
            let w = Q4_0Weights(rows: m, k: k, seed: UInt64(40 + i))
            let x = BF16Tensor(count: k, seed: UInt64(400 + i))
            var y = [UInt16](repeating: 0, count: m)
            XCTAssertOK(npuk_gemv_q4_0(w.bytes, x.bits, &y, Int32(m), Int32(k), tm, tk, cores), label)
            assertWithinTolerance(op: "gemv", dtype: "q4_0", shape: "\(label) \(m)x\(k)",
                                  expected: referenceGemv(weights: w.floats, x: x.floats, m: m, k: k), actual: y)
        }
    }

    func testGemvQ4_0WithLargerKSlices() {
        // tk = 128 and 512 (4 and 16 blocks per row slice) give the same sums in the same order per block.
        let (m, k) = (128, 1024)
        let w = Q4_0Weights(rows: m, k: k, seed: 7), x = BF16Tensor(count: k, seed: 8)
        let expected = referenceGemv(weights: w.floats, x: x.floats, m: m, k: k)
        for slice: Int32 in [128, 512] {
            var y = [UInt16](repeating: 0, count: m)
            XCTAssertOK(npuk_gemv_q4_0(w.bytes, x.bits, &y, Int32(m), Int32(k), tm, slice, 4), "tk \(slice)")
            assertWithinTolerance(op: "gemv", dtype: "q4_0", shape: "tk \(slice) \(m)x\(k)", expected: expected, actual: y)
        }
    }

    func testLMHeadArgmaxQ4_0AndTiesPickLowestIndex() {
        // Rows 70 and 200 (different cores and tiles) are identical and the largest: the lower wins.
        let (vocab, k) = (320, 128)
        var w = Q4_0Weights(rows: vocab, k: k, seed: 5)
        let rowBytes = k / 32 * 18
        let d = floatToF16(0.05)
        for b in 0..<rowBytes {
            // d = 0.05, every nibble 15 (w = 7d): far above any random row.
            let byte: UInt8 = switch b % 18 { case 0: UInt8(d & 0xFF); case 1: UInt8(d >> 8); default: 0xFF }
            w.bytes[70 * rowBytes + b] = byte
            w.bytes[200 * rowBytes + b] = byte
        }
        w.floats = w.bytes.withUnsafeBytes { dequantize($0, as: .q4_0) }
        let x = BF16Tensor(count: k, seed: 6, offset: 1)   // positive x: all-15 nibbles maximise the logit
        var token: Int32 = -1
        XCTAssertOK(npuk_lm_head_argmax_q4_0(w.bytes, x.bits, &token, Int32(vocab), Int32(k), tm, tk, cores), "ties")
        XCTAssertEqual(Sampler.argmax(referenceGemv(weights: w.floats, x: x.floats, m: vocab, k: k)), 70)
        XCTAssertEqual(token, 70)
    }

    func testLMHeadArgmaxQ4_0MatchesReference() {
        for (i, (vocab, k, label)) in [(49152, 576, "smol vocab"), (4096, 2048, "1B hidden, 4096 rows")].enumerated() {
            let w = Q4_0Weights(rows: vocab, k: k, seed: UInt64(50 + i))
            let x = BF16Tensor(count: k, seed: UInt64(500 + i))
            var token: Int32 = -1
            XCTAssertOK(npuk_lm_head_argmax_q4_0(w.bytes, x.bits, &token, Int32(vocab), Int32(k), tm, tk, cores), label)
            let logits = referenceGemv(weights: w.floats, x: x.floats, m: vocab, k: k)
            let best = Sampler.argmax(logits)
            let bound = ToleranceTable.bound(op: "lm_head", dtype: "q4_0").maxAbsRelative * Double(logits.map(abs).max()!)
            XCTAssert(token >= 0 && Int(token) < vocab, label)
            if Int(token) != best {
                XCTAssertLessThanOrEqual(Double(logits[best] - logits[Int(token)]), bound, "\(label): \(token) vs \(best)")
            }
            print("KERNEL-ERROR lm_head    q4_0  \(label) token \(token) reference \(best)")
        }
    }

    func testMatmulQ4_0AgainstGGUFDequantization() {
        let chunk = Int32(TestPlans.llama1BPlan.instance("prefill_Qcur")!.values["rows"]!)
        func tile(_ key: String) -> Int32 { TestPlans.tile("prefill_Qcur", key) }
        let shapes: [(Int, Int, Int, String)] = [
            (64, 576, 576, "smol attn_q"), (13, 192, 576, "smol attn_k, 13 rows"), (64, 256, 1536, "smol ffn_down rows 0..<256"),
            (64, 128, 2048, "1B attn_q rows 0..<128"), (5, 64, 8192, "1B ffn_down rows 0..<64, 5 rows"),
        ]
        for (i, (rows, m, k, label)) in shapes.enumerated() {
            let x = BF16Tensor(count: rows * k, seed: UInt64(92 + i)), w = Q4_0Weights(rows: m, k: k, seed: UInt64(920 + i))
            var y = [UInt16](repeating: 0xFFFF, count: rows * m)
            XCTAssertOK(npuk_matmul_q4_0(x.bits, w.bytes, &y, Int32(rows), chunk, Int32(m), Int32(k), tile("tr"), tile("tk"),
                                         tile("tn"), tile("cores")), label)
            var expected = [Float](repeating: 0, count: rows * m)
            ReferenceOps.matmul(x.floats, rows: rows, inDim: k, weight: w.floats, outDim: m, into: &expected)
            assertWithinTolerance(op: "matmul", dtype: "q4_0", shape: "\(label) \(rows)x\(m)x\(k)", expected: expected, actual: y)
        }
    }

    func testDriversRejectOddBlockSlices() {
        // tk = 32 is one 18-byte block per row slice: not whole 4-byte words, which the DMA moves.
        let w = [UInt8](repeating: 0, count: 64 * 2 * 18), x = [UInt16](repeating: 0, count: 64)
        var y = [UInt16](repeating: 0, count: 64), token: Int32 = 0
        XCTAssertEqual(Int(npuk_gemv_q4_0(w, x, &y, 64, 64, 64, 32, 1)), Int(NPUK_BAD_SHAPE))
        XCTAssertEqual(Int(npuk_lm_head_argmax_q4_0(w, x, &token, 64, 64, 64, 32, 1)), Int(NPUK_BAD_SHAPE))
        var big = [UInt16](repeating: 0, count: 64 * 64)
        XCTAssertEqual(Int(npuk_matmul_q4_0(x, w, &big, 1, 64, 64, 64, 32, 32, 64, 1)), Int(NPUK_BAD_SHAPE))
        XCTAssertEqual(Int(npuk_gemv_q4_0(w, x, &y, 64, 64, 64, 64, 1)), Int(NPUK_OK))
    }

    func testQ4_0PlansForBothModelsFitTheirCores() throws {
        let device = TestPlans.manifest.device
        for (name, config) in [("Llama 3.2 1B", TestPlans.llama1B), ("SmolLM2", TestPlans.smol)] {
            let plan = try KernelPlan(manifest: TestPlans.manifest, config: config, projectionWeights: .q4_0,
                                      lmHeadWeights: .q4_0, context: 8192, chunk: 64)
            XCTAssertEqual(plan.instance("Qcur")!.kernel, "gemv_q4_0")
            XCTAssertEqual(plan.instance("result_output")!.kernel, "lm_head_argmax_q4_0")
            XCTAssertEqual(plan.instance("result_logits")!.kernel, "gemv_q4_0")
            XCTAssertEqual(plan.instance("prefill_ffn_out")!.kernel, "matmul_q4_0")
            for i in plan.instances {
                XCTAssertLessThanOrEqual(i.coreBytes, device.coreBytes - device.coreStackBytes, "\(name) \(i.use)")
                XCTAssertLessThanOrEqual(i.memTileBytes, device.memTileBytes, "\(name) \(i.use)")
            }
            // Q4_0 weight tiles: 2 × 64 rows × 2 blocks × 18 B; x 2 × 128 B; acc 256 B; y 2 × 128 B.
            XCTAssertEqual(plan.instance("Qcur")!.coreBytes, 2 * 64 * 2 * 18 + 2 * 128 + 256 + 2 * 128)
            // the argument is the GGUF bytes: 18 per 32 weights
            let weights = config.intermediateSize * config.hiddenSize
            let arg = plan.instance("ffn_gate")!.args[0]
            XCTAssertEqual(arg.dtype, .q4_0)
            XCTAssertEqual(arg.dtype.bytes(weights), weights / 32 * 18)
        }
    }
}
