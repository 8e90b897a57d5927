// The fused decode layer halves (attention half, MLP half) against the fp32 reference chain of the same ops, bf16, Q4_1 and Q4_0 weights.
import LlamaCore
import NPUKernels
import ReferenceBackend
import XCTest

final class LayerHalfTests: KernelTestCase {
    /// Weights as the kernels take them (bytes) and as the reference sees them (fp32).
    struct Weights {
        var raw: [UInt8]
        var floats: [Float]
        init(rows: Int, k: Int, seed: UInt64, q4: WeightFormat) {
            if q4 == .q4_1 {
                let w = Q4Weights(rows: rows, k: k, seed: seed)
                raw = w.bytes
                floats = w.floats
            } else if q4 == .q4_0 {
                let w = Q4_0Weights(rows: rows, k: k, seed: seed)
                raw = w.bytes
                floats = w.floats
            } else {
                let w = BF16Tensor(count: rows * k, seed: seed, scale: 0.06)
                raw = w.bits.withUnsafeBytes { Array($0) }
                floats = w.floats
            }
        }
    }

    func gemv(_ w: Weights, _ x: [Float], m: Int) -> [Float] { referenceGemv(weights: w.floats, x: x, m: m, k: x.count) }

    func testMLPHalf() {
        let c = TestPlans.smol
        let plan = TestPlans.smolPlan.instance("ffn_gate")!.values
        for q4 in WeightFormat.allCases {
            let (h, f) = (c.hiddenSize, c.intermediateSize)
            let x = BF16Tensor(count: h, seed: 1, scale: 2), nw = BF16Tensor(count: h, seed: 2, scale: 0.3, offset: 1)
            let wg = Weights(rows: f, k: h, seed: 3, q4: q4), wu = Weights(rows: f, k: h, seed: 4, q4: q4)
            let wd = Weights(rows: h, k: f, seed: 5, q4: q4)
            var out = [UInt16](repeating: 0, count: h)
            XCTAssertOK(npuk_layer_mlp_half(x.bits, nw.bits, c.rmsNormEps, q4.code, wg.raw, wu.raw, wd.raw, Int32(h),
                                            Int32(f), Int32(plan["tm"]!), Int32(plan["tk"]!), Int32(plan["cores"]!), &out),
                        "mlp half")
            var n = [Float](repeating: 0, count: h), act = [Float](repeating: 0, count: f), y = n
            ReferenceOps.rmsNorm(x.floats, rows: 1, dim: h, weight: nw.floats, eps: c.rmsNormEps, into: &n)
            ReferenceOps.swiglu(gemv(wg, n, m: f), gemv(wu, n, m: f), count: f, into: &act)
            ReferenceOps.add(gemv(wd, act, m: h), x.floats, count: h, into: &y)
            assertWithinTolerance(op: "block", dtype: q4.dtype, shape: "smol mlp half", expected: y, actual: out)
        }
    }

    /// The attention half at `pos`; with `tms` (Qcur, Kcur/Vcur, attn_out tile heights) through the _step entry the
    /// backend uses, with the step params buffer written here as the host writes it.
    func attentionHalf(_ c: ModelConfig, q4: WeightFormat, pos: Int, capacity: Int, splits: Int, label: String, tms: [Int32]? = nil) {
        let (h, qd, kvd, hd) = (c.hiddenSize, c.qDim, c.kvDim, c.headDim)
        let tiles = TestPlans.llama1BPlan.instance("Qcur")!.values
        let x = BF16Tensor(count: h, seed: UInt64(10 + pos), scale: 2), nw = BF16Tensor(count: h, seed: 11, scale: 0.3, offset: 1)
        let wq = Weights(rows: qd, k: h, seed: 12, q4: q4), wk = Weights(rows: kvd, k: h, seed: 13, q4: q4)
        let wv = Weights(rows: kvd, k: h, seed: 14, q4: q4), wo = Weights(rows: h, k: qd, seed: 15, q4: q4)
        var kCache = BF16Tensor(count: c.kvHeadCount * capacity * hd, seed: 16, scale: 2).bits
        var vCache = BF16Tensor(count: c.kvHeadCount * capacity * hd, seed: 17).bits
        var refK = kCache.map(bf16ToFloat), refV = vCache.map(bf16ToFloat)
        let table = RopeTable(config: c, positions: capacity)
        var out = [UInt16](repeating: 0, count: h)
        var rowsWritten = false
        if let tms {
            // int32[8] [pos, pos, 1, bucket, 0…] then cos[hd/2] ‖ sin[hd/2] in bf16
            let block = Int(TestPlans.tile("kqv_out", "block"))
            var bucket = 1
            while bucket * block < pos + 1 { bucket *= 2 }
            var params = [Int32](repeating: 0, count: 8 + hd / 2)
            params.withUnsafeMutableBytes { raw in
                for (i, v) in [pos, pos, 1, bucket].enumerated() { raw.storeBytes(of: Int32(v), toByteOffset: 4 * i, as: Int32.self) }
                for i in 0..<hd / 2 {
                    raw.storeBytes(of: floatToBF16(table.cos[pos * hd / 2 + i]), toByteOffset: 32 + 2 * i, as: UInt16.self)
                    raw.storeBytes(of: floatToBF16(table.sin[pos * hd / 2 + i]), toByteOffset: 32 + hd + 2 * i, as: UInt16.self)
                }
            }
            // the row arguments: views of the caches at row pos of KV head 0 (what the backend binds)
            let kIn = kCache, vIn = vCache
            kCache.withUnsafeMutableBufferPointer { kc in
                vCache.withUnsafeMutableBufferPointer { vc in
                    XCTAssertOK(npuk_layer_attention_half_step(
                        x.bits, nw.bits, c.rmsNormEps, q4.code, wq.raw, wk.raw, wv.raw, wo.raw, kIn, vIn,
                        kc.baseAddress! + pos * hd, vc.baseAddress! + pos * hd, Int32(capacity), params, Int32(h),
                        Int32(c.headCount), Int32(c.kvHeadCount), Int32(hd), c.ropePairing == .adjacent ? 1 : 0, tms,
                        Int32(tiles["tk"]!), Int32(tiles["cores"]!), Int32(block), Int32(splits), Int32(bucket), nil, &out), label)
                }
            }
            // only the new rows are written: every other cache value is the one read
            for (name, before, after) in [("K", kIn, kCache), ("V", vIn, vCache)] {
                let changed = (0..<before.count).filter { before[$0] != after[$0] && ($0 / hd) % capacity != pos }
                XCTAssertEqual(changed, [], "\(label) pos \(pos): \(name) cache values outside row \(pos) were written")
            }
            rowsWritten = true
        } else {
            XCTAssertOK(npuk_layer_attention_half(
                x.bits, nw.bits, c.rmsNormEps, q4.code, wq.raw, wk.raw, wv.raw, wo.raw, &kCache, &vCache, Int32(capacity),
                Int32(pos), Int32(h), Int32(c.headCount), Int32(c.kvHeadCount), Int32(hd), c.ropePairing == .adjacent ? 1 : 0,
                table.cos, table.sin, Int32(capacity), Int32(tiles["tm"]!), Int32(tiles["tk"]!), Int32(tiles["cores"]!),
                TestPlans.tile("kqv_out", "block"), Int32(splits), &out), label)
        }
        var n = [Float](repeating: 0, count: h)
        ReferenceOps.rmsNorm(x.floats, rows: 1, dim: h, weight: nw.floats, eps: c.rmsNormEps, into: &n)
        var q = gemv(wq, n, m: qd), k = gemv(wk, n, m: kvd)
        let v = gemv(wv, n, m: kvd)
        ReferenceOps.rope(&q, rows: 1, heads: c.headCount, headDim: hd, start: pos, pairing: c.ropePairing, cos: table.cos, sin: table.sin)
        ReferenceOps.rope(&k, rows: 1, heads: c.kvHeadCount, headDim: hd, start: pos, pairing: c.ropePairing, cos: table.cos, sin: table.sin)
        for kh in 0..<c.kvHeadCount {
            for d in 0..<hd {
                refK[(kh * capacity + pos) * hd + d] = k[kh * hd + d]
                refV[(kh * capacity + pos) * hd + d] = v[kh * hd + d]
            }
        }
        if rowsWritten {   // the rows the design appended: the reference's roped k and v
            let rows = (0..<c.kvHeadCount).flatMap { kh in (0..<hd).map { kCache[(kh * capacity + pos) * hd + $0] } }
            let vrows = (0..<c.kvHeadCount).flatMap { kh in (0..<hd).map { vCache[(kh * capacity + pos) * hd + $0] } }
            assertWithinTolerance(op: "block", dtype: q4.dtype, shape: "\(label) K row pos \(pos)", expected: k, actual: rows)
            assertWithinTolerance(op: "block", dtype: q4.dtype, shape: "\(label) V row pos \(pos)", expected: v, actual: vrows)
        }
        var attn = [Float](repeating: 0, count: qd), scratch = [Float](repeating: 0, count: c.groupSize * (pos + 1))
        ReferenceOps.attention(q: q, rows: 1, start: pos, heads: c.headCount, kvHeads: c.kvHeadCount, headDim: hd,
                               kCache: refK, vCache: refV, capacity: capacity, out: &attn, scratch: &scratch)
        var y = [Float](repeating: 0, count: h)
        ReferenceOps.add(gemv(wo, attn, m: h), x.floats, count: h, into: &y)
        assertWithinTolerance(op: "block", dtype: q4.dtype, shape: "\(label) attention half pos \(pos)",
                              expected: y, actual: out)
    }

    func testAttentionHalfSmolLM2() {
        for q4 in WeightFormat.allCases {
            for pos in [0, 1, 300] {
                attentionHalf(TestPlans.smol, q4: q4, pos: pos, capacity: 512, splits: 3, label: "smol")
            }
        }
    }

    /// The tiny golden model's shapes (headDim 16, kvDim 32) and one KV head (kvDim 16, adjacent pairing): each gemv
    /// stage with its plan instance's tile height, both weight types, positions in the first and second block.
    func testAttentionHalfTinyShapesWithPerStageTiles() {
        for (config, plan, label) in [(TestPlans.tiny, TestPlans.tinyPlan, "tiny"), (TestPlans.tinyMQA, TestPlans.tinyMQAPlan, "tiny 1 KV head")] {
            let tms = ["Qcur", "Kcur", "attn_out"].map { TestPlans.tile(plan, $0, "tm") }
            XCTAssertEqual(tms, [64, label == "tiny" ? 32 : 16, 64])
            for q4 in WeightFormat.allCases {
                for pos in [0, 5, 100] {
                    attentionHalf(config, q4: q4, pos: pos, capacity: 256, splits: 4, label: label, tms: tms)
                }
            }
        }
    }

    /// The MLP half with different tile heights for gate/up and down (64 and 16), the tiny golden model's shapes.
    func testMLPHalfPerStageTiles() {
        let c = TestPlans.tiny
        let (h, f) = (c.hiddenSize, c.intermediateSize)
        for q4 in WeightFormat.allCases {
            let x = BF16Tensor(count: h, seed: 21, scale: 2), nw = BF16Tensor(count: h, seed: 22, scale: 0.3, offset: 1)
            let wg = Weights(rows: f, k: h, seed: 23, q4: q4), wu = Weights(rows: f, k: h, seed: 24, q4: q4)
            let wd = Weights(rows: h, k: f, seed: 25, q4: q4)
            var out = [UInt16](repeating: 0, count: h), taps = [UInt16](repeating: 0, count: 3 * h + 3 * f)
            XCTAssertOK(npuk_layer_mlp_half_taps(x.bits, nw.bits, c.rmsNormEps, q4.code, wg.raw, wu.raw, wd.raw, Int32(h),
                                                 Int32(f), [64, 16], 64, 32, &taps, &out), "mlp half")
            var n = [Float](repeating: 0, count: h), act = [Float](repeating: 0, count: f), y = n
            ReferenceOps.rmsNorm(x.floats, rows: 1, dim: h, weight: nw.floats, eps: c.rmsNormEps, into: &n)
            ReferenceOps.swiglu(gemv(wg, n, m: f), gemv(wu, n, m: f), count: f, into: &act)
            ReferenceOps.add(gemv(wd, act, m: h), x.floats, count: h, into: &y)
            assertWithinTolerance(op: "block", dtype: q4.dtype, shape: "tiny mlp half tm 64/16", expected: y, actual: out)
            XCTAssertEqual(Array(taps[(h + 3 * f + h)...]), out, "l_out tap")
        }
    }

    func testAttentionHalfLlama1BFitsItsCores() {
        // 24 attention cores (8 KV heads x 3 splits) and core 0 with norm + rope + gemv: README's budget.
        attentionHalf(TestPlans.llama1B, q4: .bf16, pos: 777, capacity: 1024, splits: 3, label: "1B")
    }

    func testAttentionHalfLlama1BQ4_0FitsItsCores() {
        // Q4_0 weight tiles (2 × 64 × 36 B) replace the bf16 ones (2 × 8 KB) on every gemv core.
        attentionHalf(TestPlans.llama1B, q4: .q4_0, pos: 777, capacity: 1024, splits: 3, label: "1B")
    }

    func testMLPHalfLlama1BQ4_0() {
        // 1B MLP half with Q4_0 weights (ffn 8192 rows of gate and up, down with K = 8192) on 32 cores.
        let c = TestPlans.llama1B
        let plan = TestPlans.llama1BPlan.instance("ffn_gate")!.values
        let (h, f) = (c.hiddenSize, c.intermediateSize)
        let x = BF16Tensor(count: h, seed: 21, scale: 2), nw = BF16Tensor(count: h, seed: 22, scale: 0.3, offset: 1)
        let wg = Weights(rows: f, k: h, seed: 23, q4: .q4_0), wu = Weights(rows: f, k: h, seed: 24, q4: .q4_0)
        let wd = Weights(rows: h, k: f, seed: 25, q4: .q4_0)
        var out = [UInt16](repeating: 0, count: h)
        XCTAssertOK(npuk_layer_mlp_half(x.bits, nw.bits, c.rmsNormEps, WeightFormat.q4_0.code, wg.raw, wu.raw, wd.raw, Int32(h),
                                        Int32(f), Int32(plan["tm"]!), Int32(plan["tk"]!), Int32(plan["cores"]!), &out),
                    "1B mlp half")
        var n = [Float](repeating: 0, count: h), act = [Float](repeating: 0, count: f), y = n
        ReferenceOps.rmsNorm(x.floats, rows: 1, dim: h, weight: nw.floats, eps: c.rmsNormEps, into: &n)
        ReferenceOps.swiglu(gemv(wg, n, m: f), gemv(wu, n, m: f), count: f, into: &act)
        ReferenceOps.add(gemv(wd, act, m: h), x.floats, count: h, into: &y)
        assertWithinTolerance(op: "block", dtype: "q4_0", shape: "1B mlp half", expected: y, actual: out)
    }

    func testHalvesRejectUnknownFormatsAndOddQ4_0Slices() {
        let c = TestPlans.smol
        let (h, f) = (c.hiddenSize, c.intermediateSize)
        let x = [UInt16](repeating: 0, count: h), w = [UInt8](repeating: 0, count: f * h)
        var out = [UInt16](repeating: 0, count: h)
        XCTAssertEqual(Int(npuk_layer_mlp_half(x, x, 1e-5, 3, w, w, w, Int32(h), Int32(f), 64, 64, 32, &out)), Int(NPUK_BAD_SHAPE))
        // tk = 32: one 18-byte block per row slice, not whole 4-byte words for the DMA
        XCTAssertEqual(Int(npuk_layer_mlp_half(x, x, 1e-5, WeightFormat.q4_0.code, w, w, w, Int32(h), Int32(f), 64, 32, 32, &out)),
                       Int(NPUK_BAD_SHAPE))
    }
}
