// The decode token and LM head drivers (npuk_decode_token, then npuk_lm_head on its x_final) against the fp32 reference node by node, teacher-forced on the drivers' own inputs (ToleranceTable), bf16 / Q4_1 / Q4_0 and LM heads in another format than the projections; the KV append, the traffic against DecodeLayout, the per-core budgets at 1B shapes.
import LlamaCore
import NPUBackend
import NPUKernels
import ReferenceBackend
import XCTest

final class DecodeTokenTests: KernelTestCase {
    /// One token through the driver, with everything it read and wrote.
    struct TokenRun {
        let config: ModelConfig
        let layout: DecodeLayout
        let weights: RandomWeights
        let x: [Float]
        let kvBefore: [UInt16]
        var kv: [UInt16]
        var io: [UInt16]
        var traffic: npuk_decode_traffic
        var lmTraffic: npuk_decode_traffic
        let pos: Int, bucket: Int
        /// npuk_decode_token's status, and npuk_lm_head's (run only after the decode token succeeded).
        let status: Int32, lmStatus: Int32

        func values(_ at: Int, _ n: Int) -> [Float] { io[at..<at + n].map(bf16ToFloat) }
        func bits(_ at: Int, _ n: Int) -> [UInt16] { Array(io[at..<at + n]) }
    }

    /// Runs one token at `pos` with random weights (`RandomWeights`; the LM head in `lmHead`, default `dtype`), a
    /// random KV cache (every position, so masking is exercised) and a random embedding row: the decode token run,
    /// then the LM head run on the same io. The driver reads a copy of the KV BO and writes kv_row into the original:
    /// the attention sees the cache as it was (as on the device, where the row lands in the same run).
    func run(_ c: ModelConfig, _ dtype: DType, lmHead: DType? = nil, pos: Int, context: Int, execute: Bool = true) throws -> TokenRun {
        let layout = try DecodeLayout(manifest: TestPlans.manifest, config: c, projection: dtype, lmHead: lmHead ?? dtype, context: context)
        let w = RandomWeights(c, matrices: dtype, lmHead: lmHead, seed: 7)
        var weights = [UInt8](repeating: 0xEE, count: layout.weightsBytes)
        try weights.withUnsafeMutableBytes { try DecodeWeights.write(layout, tensors: w, into: $0) }
        var lmWeights = [UInt8](repeating: 0xEE, count: layout.lmHead.weightsBytes)
        try lmWeights.withUnsafeMutableBytes {
            try DecodeWeights.writeLMHead(layout, tensors: w, outputWeight: Graph.llama(c).outputWeightName, into: $0)
        }
        let kvBefore = BF16Tensor(count: layout.kvElements, seed: 8, scale: 2).bits
        var kv = kvBefore
        var io = [UInt16](repeating: 0x7FC1, count: layout.ioElements)   // NaN: a region the run must write
        let bucket = layout.bucket(forPosition: pos)
        let table = RopeTable(config: c, positions: pos + 1)
        let hd = c.headDim
        io.withUnsafeMutableBytes { raw in
            let p = 2 * layout.ioParams
            for i in 0..<layout.paramsValues { raw.storeBytes(of: UInt16(0), toByteOffset: p + 2 * i, as: UInt16.self) }
            for (i, v) in [pos, pos, 1, bucket].enumerated() { raw.storeBytes(of: Int32(v), toByteOffset: p + 4 * i, as: Int32.self) }
            for i in 0..<hd / 2 {
                raw.storeBytes(of: floatToBF16(table.cos[pos * hd / 2 + i]), toByteOffset: p + 32 + 2 * i, as: UInt16.self)
                raw.storeBytes(of: floatToBF16(table.sin[pos * hd / 2 + i]), toByteOffset: p + 32 + hd + 2 * i, as: UInt16.self)
            }
        }
        let x = BF16Tensor(count: c.hiddenSize, seed: UInt64(10 + pos), scale: 2)
        for i in 0..<c.hiddenSize { io[layout.ioX + i] = x.bits[i] }
        let driver = DecodeDriverLayout(layout, bucket: bucket, execute: execute)
        var raw = driver.raw
        var traffic = npuk_decode_traffic()
        let base = layout.kvRowBase(position: pos)
        let status = weights.withUnsafeBufferPointer { w in
            kvBefore.withUnsafeBufferPointer { kvIn in
                kv.withUnsafeMutableBufferPointer { kvOut in
                    io.withUnsafeMutableBufferPointer { io in
                        npuk_decode_token(&raw, w.baseAddress!, kvIn.baseAddress!, kvOut.baseAddress! + base, io.baseAddress!, &traffic)
                    }
                }
            }
        }
        var lmRaw = npuk_lm_layout(layout, execute: execute)
        var lmTraffic = npuk_decode_traffic()
        let lmStatus = status != 0 ? Int32(-1) : npuk_lm_head(&lmRaw, lmWeights, &io, &lmTraffic)
        return TokenRun(config: c, layout: layout, weights: w, x: x.floats, kvBefore: kvBefore, kv: kv, io: io, traffic: traffic,
                        lmTraffic: lmTraffic, pos: pos, bucket: bucket, status: status, lmStatus: lmStatus)
    }

    func gemv(_ w: RandomWeights, _ name: String, _ x: [Float], m: Int) throws -> [Float] {
        referenceGemv(weights: try w.floats(name), x: x, m: m, k: x.count)
    }

    /// Every node of every layer against the fp32 reference on the driver's own inputs (teacher-forced), the padded
    /// rows zero, the packs and the KV append exact, x_final the last layer's l_out; then the LM head run's
    /// result_norm and logits (in the LM head's format), the token the reference's argmax (up to a near-tie).
    func checkNodes(_ r: TokenRun, label: String, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertOK(r.status, "\(label): npuk_decode_token")
        XCTAssertOK(r.lmStatus, "\(label): npuk_lm_head")
        guard r.status == 0, r.lmStatus == 0 else { return }
        let c = r.config, l = r.layout, H = c.hiddenSize, hd = c.headDim, grp = c.groupSize, F = c.intermediateSize
        let w = r.weights, dtype = l.projectionDType.rawValue.lowercased(), pos = r.pos
        let table = RopeTable(config: c, positions: pos + 1)
        func check(_ op: String, _ node: String, _ expected: [Float], _ actual: [UInt16], dt: String = "bf16") {
            assertWithinTolerance(op: op, dtype: dt, shape: "\(label) \(node) pos \(pos)", expected: expected, actual: actual,
                                  file: file, line: line)
        }
        var x = r.x
        for (i, g) in l.layers.enumerated() {
            let b = "blk.\(i)."
            var n = [Float](repeating: 0, count: H)
            ReferenceOps.rmsNorm(x, rows: 1, dim: H, weight: try w.floats(b + "attn_norm.weight"), eps: c.rmsNormEps, into: &n)
            check("rmsnorm", "attn_norm-\(i)", n, r.bits(g.attnNorm, H))
            let norm = r.values(g.attnNorm, H)
            let q = try gemv(w, b + "attn_q.weight", norm, m: c.qDim), k = try gemv(w, b + "attn_k.weight", norm, m: c.kvDim)
            let v = try gemv(w, b + "attn_v.weight", norm, m: c.kvDim)
            check("gemv", "Qcur-\(i)", q, r.bits(g.qkv, c.qDim), dt: dtype)
            check("gemv", "Kcur-\(i)", k, r.bits(g.qkv + c.qDim, c.kvDim), dt: dtype)
            check("gemv", "Vcur-\(i)", v, r.bits(g.qkv + c.qDim + c.kvDim, c.kvDim), dt: dtype)
            let rows = c.qDim + 2 * c.kvDim
            XCTAssertEqual(Set(r.bits(g.qkv + rows, l.stages[0].paddedRows - rows)).subtracting([0, 0x8000]), [],
                           "\(label) layer \(i): padded QKV rows are zero weights", file: file, line: line)
            // RoPE on the driver's Q and K rows; the packs carry them, v and the params header
            var qr = r.values(g.qkv, c.qDim), kr = r.values(g.qkv + c.qDim, c.kvDim)
            ReferenceOps.rope(&qr, rows: 1, heads: c.headCount, headDim: hd, start: pos, pairing: c.ropePairing, cos: table.cos, sin: table.sin)
            ReferenceOps.rope(&kr, rows: 1, heads: c.kvHeadCount, headDim: hd, start: pos, pairing: c.ropePairing, cos: table.cos, sin: table.sin)
            var qPack: [UInt16] = [], kPack: [UInt16] = []
            for h in 0..<c.kvHeadCount {
                let p = g.packs + h * l.pack
                qPack += r.bits(p, grp * hd)
                kPack += r.bits(p + grp * hd, hd)
                XCTAssertEqual(r.bits(p + (grp + 1) * hd, hd), r.bits(g.qkv + c.qDim + c.kvDim + h * hd, hd), "\(label) pack \(h) v", file: file, line: line)
                XCTAssertEqual(r.bits(p + (grp + 2) * hd, 16), r.bits(l.ioParams, 16), "\(label) pack \(h) header", file: file, line: line)
            }
            check("rope", "Qrope-\(i)", qr, qPack)
            check("rope", "Krope-\(i)", kr, kPack)
            // the KV append: exactly the token's K (roped) and V rows, nothing else of the cache
            var refK = [Float](repeating: 0, count: c.kvHeadCount * (pos + 1) * hd), refV = refK
            for h in 0..<c.kvHeadCount {
                for d in 0..<hd {
                    let ke = l.kvElement(layer: i, kvHead: h, position: pos, value: false, dim: d)
                    let ve = l.kvElement(layer: i, kvHead: h, position: pos, value: true, dim: d)
                    XCTAssertEqual(r.kv[ke], kPack[h * hd + d], "\(label) layer \(i) K row head \(h)", file: file, line: line)
                    XCTAssertEqual(r.kv[ve], r.io[g.qkv + c.qDim + c.kvDim + h * hd + d], "\(label) layer \(i) V row head \(h)", file: file, line: line)
                }
                for p in 0..<pos + 1 {
                    for d in 0..<hd {
                        let at = (h * (pos + 1) + p) * hd + d
                        refK[at] = bf16ToFloat(r.kv[l.kvElement(layer: i, kvHead: h, position: p, value: false, dim: d)])
                        refV[at] = bf16ToFloat(r.kv[l.kvElement(layer: i, kvHead: h, position: p, value: true, dim: d)])
                    }
                }
            }
            var attn = [Float](repeating: 0, count: c.qDim), scratch = [Float](repeating: 0, count: grp * (pos + 1))
            ReferenceOps.attention(q: qPack.map(bf16ToFloat), rows: 1, start: pos, heads: c.headCount, kvHeads: c.kvHeadCount,
                                   headDim: hd, kCache: refK, vCache: refV, capacity: pos + 1, out: &attn, scratch: &scratch)
            check("attention", "kqv_out-\(i)", attn, r.bits(g.kqv, c.qDim))
            check("gemv", "attn_out-\(i)", try gemv(w, b + "attn_output.weight", r.values(g.kqv, c.qDim), m: H), r.bits(g.o, H), dt: dtype)
            var sum = [Float](repeating: 0, count: H)
            ReferenceOps.add(r.values(g.o, H), x, count: H, into: &sum)
            check("add", "ffn_inp-\(i)", sum, r.bits(g.ffnInp, H))
            ReferenceOps.rmsNorm(r.values(g.ffnInp, H), rows: 1, dim: H, weight: try w.floats(b + "ffn_norm.weight"), eps: c.rmsNormEps, into: &n)
            check("rmsnorm", "ffn_norm-\(i)", n, r.bits(g.ffnNorm, H))
            let fn = r.values(g.ffnNorm, H)
            let gate = try gemv(w, b + "ffn_gate.weight", fn, m: F), up = try gemv(w, b + "ffn_up.weight", fn, m: F)
            var gateBits: [UInt16] = [], upBits: [UInt16] = []
            for p in 0..<F / l.tm {
                gateBits += r.bits(g.gu + 2 * p * l.tm, l.tm)
                upBits += r.bits(g.gu + (2 * p + 1) * l.tm, l.tm)
            }
            check("gemv", "ffn_gate-\(i)", gate, gateBits, dt: dtype)
            check("gemv", "ffn_up-\(i)", up, upBits, dt: dtype)
            var act = [Float](repeating: 0, count: F)
            ReferenceOps.swiglu(gateBits.map(bf16ToFloat), upBits.map(bf16ToFloat), count: F, into: &act)
            check("swiglu", "ffn_act-\(i)", act, r.bits(g.act, F))
            check("gemv", "ffn_out-\(i)", try gemv(w, b + "ffn_down.weight", r.values(g.act, F), m: H), r.bits(g.d, H), dt: dtype)
            ReferenceOps.add(r.values(g.d, H), r.values(g.ffnInp, H), count: H, into: &sum)
            check("add", "l_out-\(i)", sum, r.bits(g.lOut, H))
            for (name, at, rows, padded) in [("O", g.o, H, l.stages[1].paddedRows), ("D", g.d, H, l.stages[3].paddedRows)] {
                XCTAssertEqual(Set(r.bits(at + rows, padded - rows)).subtracting([0, 0x8000]), [], "\(label) layer \(i): padded \(name) rows", file: file, line: line)
            }
            x = r.values(g.lOut, H)
        }
        XCTAssertEqual(r.bits(l.ioXFinal, H), r.bits(l.layers[c.layerCount - 1].lOut, H), "\(label): x_final is the last l_out", file: file, line: line)
        var n = [Float](repeating: 0, count: H)
        ReferenceOps.rmsNorm(r.values(l.ioXFinal, H), rows: 1, dim: H, weight: try w.floats("output_norm.weight"), eps: c.rmsNormEps, into: &n)
        check("rmsnorm", "result_norm", n, r.bits(l.ioResultNorm, H))
        let logits = try gemv(w, Graph.llama(c).outputWeightName, r.values(l.ioResultNorm, H), m: c.vocabSize)
        check("gemv", "result_output", logits, r.bits(l.ioLogits, c.vocabSize), dt: l.lmHeadDType.rawValue.lowercased())
        let padded = l.lmHead.stage.paddedRows - c.vocabSize
        XCTAssertEqual(Set(r.bits(l.ioLogits + c.vocabSize, padded)).subtracting([0, 0x8000]), [], "\(label): padded vocab rows are zero weights",
                       file: file, line: line)
        // the token: the argmax of the LM stage's fp32 accumulators, merged in core order (the lowest row on ties);
        // the reference's argmax over the same input, up to the gemv bound
        let token = Int(r.io.withUnsafeBytes { $0.load(fromByteOffset: 2 * l.ioToken, as: Int32.self) })
        let best = logits.max()!, maxAbs = logits.map(abs).max()!
        XCTAssertTrue((0..<c.vocabSize).contains(token), "\(label): token \(token)", file: file, line: line)
        if (0..<c.vocabSize).contains(token) {
            XCTAssertGreaterThanOrEqual(logits[token], best - 4e-3 * maxAbs, "\(label): token \(token) is not the argmax (\(logits.firstIndex(of: best)!))", file: file, line: line)
        }
    }

    /// Every byte each driver moved, per argument and per shim channel, is what DecodeLayout says for its run.
    func checkTraffic(_ r: TokenRun, label: String, file: StaticString = #filePath, line: UInt = #line) {
        let l = r.layout
        let a = l.argumentBytes(bucket: r.bucket)
        let t = r.traffic
        XCTAssertEqual([Int(t.weights_read), Int(t.kv_read), Int(t.kv_row_written), Int(t.io_read), Int(t.io_written)],
                       [a.weights, a.kv, a.kvRow, a.ioRead, a.ioWritten], "\(label): bytes per argument", file: file, line: line)
        XCTAssertEqual(a.weights, l.weightsBytes - (l.streamsOffset - 4 * l.config.layerCount * l.config.hiddenSize
                                                    - 2 * l.config.layerCount * l.extraValues),
                       "\(label): the whole weights BO but the gap before the streams", file: file, line: line)
        let b = l.lmHeadArgumentBytes, m = r.lmTraffic
        XCTAssertEqual([Int(m.weights_read), Int(m.kv_read), Int(m.kv_row_written), Int(m.io_read), Int(m.io_written)],
                       [b.weights, 0, 0, b.ioRead, b.ioWritten], "\(label): LM head bytes per argument", file: file, line: line)
        XCTAssertEqual(b.weights, l.lmHead.weightsBytes - (l.lmHead.streamsOffset - 2 * l.config.hiddenSize),
                       "\(label): the whole lm_weights BO but the gap before the streams", file: file, line: line)
        for (run, totals, counted) in [("decode token", l.channelTotals(bucket: r.bucket), t.channels(l)),
                                       ("LM head", l.lmHeadChannelTotals, m.channels(l).filter { $0.value > 0 })] {
            for (ch, bytes) in counted { XCTAssertEqual(bytes, totals[ch] ?? 0, "\(label) \(run): \(ch)", file: file, line: line) }
            for (ch, bytes) in totals where ch.dram || ch.kind == .core {
                XCTAssertEqual(counted[ch], bytes, "\(label) \(run): \(ch) counted", file: file, line: line)
            }
        }
    }

    /// Issue 17: a Qwen2 / Qwen3 token (the tiny shapes with the family's biases or q/k norms, random weights) moves
    /// exactly the bytes DecodeChannels models per argument and channel — the QKV stage's fp32 rows (two objects per
    /// round, twice the drain) and the hub's fp32 read-back included — and leaves no io region unwritten.
    func testTinyQwenTrafficMatchesTheChannelModel() throws {
        for family in [ModelFamily.qwen2, .qwen3] {
            var c = TestPlans.tiny
            c.family = family
            let r = try run(c, .bf16, pos: 5, context: 256)
            XCTAssertOK(r.status, "\(family): npuk_decode_token")
            XCTAssertTrue(r.layout.qkvF32)
            checkTraffic(r, label: "tiny \(family)")
        }
    }

    func testTinyShapesEveryNodeEveryFormat() throws {
        for dtype in [DType.bf16, .q4_1, .q4_0] {
            for pos in [0, 5, 100] {
                let r = try run(TestPlans.tiny, dtype, pos: pos, context: 256)
                XCTAssertEqual(r.layout.tm, 16, "tiny: tm 16 pads the fewest rows (S = headDim 16)")
                try checkNodes(r, label: "tiny \(dtype.rawValue)")
                checkTraffic(r, label: "tiny \(dtype.rawValue) pos \(pos)")
            }
        }
    }

    /// The LM head in another format than the projections (its own run): Q4_1 or Q4_0 projections with a bf16 head
    /// (SmolLM2 ships Q4_1 with a Q8_0 embedding, uploaded as bf16), bf16 projections with a Q4_0 or Q4_1 head.
    func testTinyLMHeadInItsOwnFormat() throws {
        for (dtype, head) in [(DType.q4_1, DType.bf16), (.q4_0, .bf16), (.bf16, .q4_0), (.bf16, .q4_1)] {
            let r = try run(TestPlans.tiny, dtype, lmHead: head, pos: 37, context: 256)
            XCTAssertEqual([r.layout.projectionDType, r.layout.lmHeadDType], [dtype, head])
            XCTAssertEqual(r.layout.lmHead.stage.tileBytes, r.layout.lmHead.pairBytes / 2)
            try checkNodes(r, label: "tiny \(dtype.rawValue) + \(head.rawValue) LM head")
            checkTraffic(r, label: "tiny \(dtype.rawValue) + \(head.rawValue) LM head")
        }
    }

    /// One KV head (kvDim 16, adjacent pairing): one KV group of one head, one pack of one.
    func testTinyOneKVHead() throws {
        let r = try run(TestPlans.tinyMQA, .q4_1, pos: 70, context: 128)
        XCTAssertEqual([r.layout.kvGroups, r.layout.headsPerGroup], [1, 1])
        try checkNodes(r, label: "tiny 1 KV head")
        checkTraffic(r, label: "tiny 1 KV head")
    }

    /// SmolLM2's shapes: Q4_1 with a bf16 LM head (as shipped: its Q8_0 embedding uploaded as bf16), Q4_0, bf16.
    func testSmolLM2Shapes() throws {
        for (dtype, head, pos) in [(DType.q4_1, DType.bf16, 300), (.q4_0, .q4_0, 1), (.bf16, .bf16, 64)] {
            let r = try run(TestPlans.smol, dtype, lmHead: head, pos: pos, context: 512)
            XCTAssertEqual([r.layout.tm, r.layout.kvGroups, r.layout.headsPerGroup, r.layout.lmHead.tm], [64, 3, 1, 64])
            try checkNodes(r, label: "smol \(dtype.rawValue) + \(head.rawValue) LM head")
            checkTraffic(r, label: "smol \(dtype.rawValue) + \(head.rawValue) LM head")
        }
    }

    /// Llama 3.2 1B's shapes (one layer, a short vocabulary: the per-core buffers do not depend on either): every
    /// gemv, hub and attention core fits its 63 KB, every memory tile its 512 KB, with bf16 and Q4_0 weights.
    func testLlama1BShapesFitTheirCores() throws {
        var c = TestPlans.llama1B
        c.layerCount = 1
        c.vocabSize = 2048
        for dtype in [DType.bf16, .q4_0] {
            let r = try run(c, dtype, pos: 777, context: 1024)
            XCTAssertEqual([r.layout.tm, r.layout.tk, r.layout.kvGroups, r.layout.headsPerGroup], [64, 64, 4, 2])
            try checkNodes(r, label: "1B \(dtype.rawValue)")
            checkTraffic(r, label: "1B \(dtype.rawValue)")
            let b = r.layout.coreBytes, h = r.layout.lmHead.coreBytes(config: c)
            print("1B \(dtype.rawValue) core buffers: gemv \(b.gemv) B, hub \(b.hub) B, attention \(b.attention) B; LM head gemv \(h.gemv) B, hub \(h.hub) B")
        }
    }

    /// Issue 17: Llama 3.2 3B's shapes (one layer, a short vocabulary) with half-head hub objects: S = 64 lets tm 64,
    /// which pads no row (tm 128 padded QKV 5120 → 6144, O and D 3072 → 4096 rows), every node agrees with the
    /// reference and every byte moved is the channel model's. Llama 3.1 8B keeps tm 128 and whole-head objects (no
    /// padding at either tm: ties go to the larger).
    func testLlama32_3BShapesTakeHalfHeadHubObjects() throws {
        var c = TestPlans.llama3B
        c.layerCount = 1
        c.vocabSize = 2048
        for dtype in [DType.q4_0, .bf16] {
            let r = try run(c, dtype, pos: 777, context: 1024)
            let l = r.layout
            XCTAssertEqual([l.tm, l.tk, l.hubSlice, l.block], [64, 64, 64, 32])
            XCTAssertEqual(l.stages.map(\.paddedRows), l.stages.map(\.rows), "3B: no padded rows at tm 64")
            XCTAssertEqual([l.pack, l.paramsValues], [768, 256], "io's packs and params stay padded to whole heads")
            try checkNodes(r, label: "3B \(dtype.rawValue)")
            checkTraffic(r, label: "3B \(dtype.rawValue)")
            let b = l.coreBytes
            print("3B \(dtype.rawValue) (tm 64, S 64) core buffers: gemv \(b.gemv) B, hub \(b.hub) B, attention \(b.attention) B")
        }
        var e = TestPlans.llama8B
        e.layerCount = 1
        let l8 = try DecodeLayout(manifest: TestPlans.manifest, config: e, projection: .q4_0, lmHead: .q4_0, context: 1024)
        XCTAssertEqual([l8.tm, l8.hubSlice], [128, 128], "8B: tm 128 pads nothing, so its design is unchanged")
    }

    /// Llama 3.2 1B's LM head at its real vocabulary (128256 rows; the layers do not matter to it): tm 16 pads no row
    /// (128256 = 501 · 16 · 16; tm 64 would stream 768 zero rows), every core fits, and the LM head run on a random
    /// x_final gives the logits and token of the fp32 reference (Q4_0: 148 MB of weights; the reference dequantizes
    /// 4096 rows at a time).
    func testLlama1BLMHeadAtItsVocabulary() throws {
        var c = TestPlans.llama1B
        c.layerCount = 1
        for dtype in [DType.q4_0] {
            let layout = try DecodeLayout(manifest: TestPlans.manifest, config: c, projection: dtype, lmHead: dtype, context: 64)
            let lm = layout.lmHead
            XCTAssertEqual([lm.tm, lm.tk, lm.stage.paddedRows, lm.stage.rounds], [16, 64, 128256, 501])
            XCTAssertEqual(lm.candidates.map(\.paddedRows), [768, 256, 0])
            let w = RandomWeights(c, matrices: dtype, seed: 9)
            var lmWeights = [UInt8](repeating: 0xEE, count: lm.weightsBytes)
            try lmWeights.withUnsafeMutableBytes { try DecodeWeights.writeLMHead(layout, tensors: w, outputWeight: "token_embd.weight", into: $0) }
            var io = [UInt16](repeating: 0x7FC1, count: layout.ioElements)
            let x = BF16Tensor(count: c.hiddenSize, seed: 3, scale: 2)
            for i in 0..<c.hiddenSize { io[layout.ioXFinal + i] = x.bits[i] }
            var raw = npuk_lm_layout(layout)
            var traffic = npuk_decode_traffic()
            XCTAssertOK(npuk_lm_head(&raw, lmWeights, &io, &traffic), "1B LM head \(dtype.rawValue)")
            var n = [Float](repeating: 0, count: c.hiddenSize)
            ReferenceOps.rmsNorm(x.floats, rows: 1, dim: c.hiddenSize, weight: try w.floats("output_norm.weight"), eps: c.rmsNormEps, into: &n)
            assertWithinTolerance(op: "rmsnorm", dtype: "bf16", shape: "1B result_norm", expected: n, actual: Array(io[layout.ioResultNorm..<layout.ioResultNorm + c.hiddenSize]))
            let y = io[layout.ioResultNorm..<layout.ioResultNorm + c.hiddenSize].map(bf16ToFloat)
            var logits: [Float] = []
            for from in stride(from: 0, to: c.vocabSize, by: 4096) {
                let rows = from..<min(from + 4096, c.vocabSize)
                logits += referenceGemv(weights: try w.floats("token_embd.weight", rows: rows), x: y, m: rows.count, k: c.hiddenSize)
            }
            assertWithinTolerance(op: "gemv", dtype: dtype.rawValue.lowercased(), shape: "1B result_output", expected: logits,
                                  actual: Array(io[layout.ioLogits..<layout.ioLogits + c.vocabSize]))
            let token = Int(io.withUnsafeBytes { $0.load(fromByteOffset: 2 * layout.ioToken, as: Int32.self) })
            let best = logits.max()!, maxAbs = logits.map(abs).max()!
            XCTAssertGreaterThanOrEqual(logits[token], best - 4e-3 * maxAbs, "1B \(dtype.rawValue): token \(token)")
            XCTAssertEqual(Int(traffic.weights_read), layout.lmHeadArgumentBytes.weights)
            print("1B LM head \(dtype.rawValue): core buffers gemv \(lm.coreBytes(config: c).gemv) B, hub \(lm.coreBytes(config: c).hub) B")
        }
    }

    /// Without the kernels the driver moves and counts the same bytes (how the benchmark counts 1B tokens).
    func testCountingRunMovesTheSameBytes() throws {
        let counted = try run(TestPlans.smol, .q4_0, pos: 200, context: 512, execute: false)
        let executed = try run(TestPlans.smol, .q4_0, pos: 200, context: 512)
        XCTAssertOK(counted.status, "counting run")
        XCTAssertOK(counted.lmStatus, "counting LM head run")
        XCTAssertEqual(counted.traffic.channels(counted.layout), executed.traffic.channels(executed.layout))
        XCTAssertEqual(counted.lmTraffic.channels(counted.layout), executed.lmTraffic.channels(executed.layout))
        checkTraffic(counted, label: "counting run")
    }

    /// A position past the kernel's bucket, or past the context, is refused.
    func testRefusesAPositionOutsideTheBucket() throws {
        let c = TestPlans.tiny
        let layout = try DecodeLayout(manifest: TestPlans.manifest, config: c, projection: .bf16, lmHead: .bf16, context: 256)
        let driver = DecodeDriverLayout(layout, bucket: 1, execute: false)
        var raw = driver.raw
        let weights = [UInt8](repeating: 0, count: layout.weightsBytes), kv = [UInt16](repeating: 0, count: layout.kvElements)
        var row = kv, io = [UInt16](repeating: 0, count: layout.ioElements)
        io.withUnsafeMutableBytes { $0.storeBytes(of: Int32(64), toByteOffset: 2 * layout.ioParams, as: Int32.self) }   // bucket 1 covers 0..<64
        XCTAssertEqual(Int(npuk_decode_token(&raw, weights, kv, &row, &io, nil)), Int(NPUK_BAD_SHAPE))
    }

    /// An LM head layout whose vocabulary leaves a gemv core without rows in its first round, or whose stage is not
    /// over hidden, is refused; a stream one pair short is not consumed exactly.
    func testLMHeadRefusesWhatItsDesignCannotServe() throws {
        let layout = try DecodeLayout(manifest: TestPlans.manifest, config: TestPlans.tiny, projection: .bf16, lmHead: .bf16, context: 256)
        let lmWeights = [UInt8](repeating: 0, count: layout.lmHead.weightsBytes)
        var io = [UInt16](repeating: 0, count: layout.ioElements)
        var raw = npuk_lm_layout(layout, execute: false)
        XCTAssertEqual(Int(npuk_lm_head(&raw, lmWeights, &io, nil)), Int(NPUK_OK))
        var small = raw
        small.vocab = 15 * raw.tm
        small.stage.rows = Int64(small.vocab)
        XCTAssertEqual(Int(npuk_lm_head(&small, lmWeights, &io, nil)), Int(NPUK_BAD_SHAPE))
        var short = raw
        short.pairs -= 1
        XCTAssertEqual(Int(npuk_lm_head(&short, lmWeights, &io, nil)), Int(NPUK_BAD_LAYOUT))
    }
}
