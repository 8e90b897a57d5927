// The prefill run's AIE kernels (issue 13) against the fp32 CPU reference: prefill_mm on decode's bf16 / Q4_1 / Q4_0 tiles with aie::mmul<8, 8, 8>, attn_chunk (causal inside the chunk, several blocks, a partial chunk), the row core's swiglu_tiles_bf16, qkv_rope_bf16 and the two-pass RMSNorm over streamed slices (issue 17).
import LlamaCore
import NPUKernels
import ReferenceBackend
import XCTest

final class PrefillChunkKernelTests: KernelTestCase {
    /// (tm, tk, k, valid rows, label): 1B's QKV/O/GU tiles (K 2048) and D (K 8192), the tiny model's tm 16; C = 64
    /// rows always move (rows past `valid` are the host's zeros and must come out 0).
    let shapes: [(Int, Int, Int, Int, String)] = [
        (64, 64, 2048, 64, "1B tile K 2048"), (64, 64, 8192, 64, "1B D tile K 8192"), (16, 64, 128, 64, "tiny tile tm 16"),
        (64, 64, 576, 22, "SmolLM2 tile, 22 rows"),
    ]
    let C = 64

    /// The weight rows (tm × k) as the k/tk tiles decode streams: bf16 rows' k-slices, or each row's k-slice of GGUF
    /// blocks (bytes per 32 values: 20 Q4_1, 18 Q4_0).
    func tiles(_ rowBytes: [UInt8], tm: Int, k: Int, tk: Int, bytesPer32: Int) -> [UInt8] {
        let row = k / 32 * bytesPer32, slice = tk / 32 * bytesPer32
        var out: [UInt8] = []
        for ks in 0..<k / tk { for n in 0..<tm { out += rowBytes[n * row + ks * slice..<n * row + (ks + 1) * slice] } }
        return out
    }

    func run(_ format: WeightFormat) {
        for (i, (tm, tk, k, valid, label)) in shapes.enumerated() {
            var x = BF16Tensor(count: C * k, seed: UInt64(300 + i))
            for e in valid * k..<C * k { x.bits[e] = 0; x.floats[e] = 0 }
            let w: (bytes: [UInt8], floats: [Float])
            switch format {
            case .bf16:
                let t = BF16Tensor(count: tm * k, seed: UInt64(310 + i), scale: 0.05)
                w = (tiles(t.bits.withUnsafeBytes { Array($0) }, tm: tm, k: k, tk: tk, bytesPer32: 64), t.floats)
            case .q4_1:
                let q = Q4Weights(rows: tm, k: k, seed: UInt64(320 + i))
                w = (tiles(q.bytes, tm: tm, k: k, tk: tk, bytesPer32: 20), q.floats)
            case .q4_0:
                let q = Q4_0Weights(rows: tm, k: k, seed: UInt64(330 + i))
                w = (tiles(q.bytes, tm: tm, k: k, tk: tk, bytesPer32: 18), q.floats)
            }
            var y = [UInt16](repeating: 0xFFFF, count: C * tm)
            XCTAssertOK(npuk_prefill_mm_tile(format.code, w.bytes, x.bits, &y, Int32(tm), Int32(tk), Int32(k), Int32(C)), label)
            var expected = [Float](repeating: 0, count: C * tm)
            ReferenceOps.matmul(x.floats, rows: C, inDim: k, weight: w.floats, outDim: tm, into: &expected)
            assertWithinTolerance(op: "matmul", dtype: format.dtype, shape: "prefill_mm \(label) \(C)x\(tm)x\(k)",
                                  expected: Array(expected[..<(valid * tm)]), actual: Array(y[..<(valid * tm)]))
            XCTAssertTrue(y[(valid * tm)...].allSatisfy { $0 == 0 }, "\(label): zero rows stay zero")
        }
    }

    func testPrefillMatmulBF16() { run(.bf16) }
    func testPrefillMatmulQ4_1() { run(.q4_1) }
    func testPrefillMatmulQ4_0() { run(.q4_0) }

    /// One query head's chunk over `blocks` K||V blocks: (start, valid rows, blocks, head dim, label). Keys past the
    /// chunk's rows hold random values the causal mask must hide.
    func testAttentionChunkIsCausalOverSeveralBlocksAndAPartialChunk() {
        let block = 64
        for (i, (start, valid, blocks, hd, label)) in [(0, 64, 1, 64, "first chunk"), (128, 64, 3, 64, "third chunk, 3 blocks"),
                                                       (64, 22, 2, 64, "partial chunk of 22 rows"), (192, 40, 4, 16, "headDim 16, 40 rows"),
                                                       (0, 1, 1, 64, "one row")].enumerated() {
            let C = self.C
            var q = BF16Tensor(count: C * hd, seed: UInt64(400 + i))
            for e in valid * hd..<C * hd { q.bits[e] = 0; q.floats[e] = 0 }
            // the cache: K and V rows of positions 0 ..< blocks·block (block-major: K block ‖ V block per block)
            let k = BF16Tensor(count: blocks * block * hd, seed: UInt64(410 + i)), v = BF16Tensor(count: blocks * block * hd, seed: UInt64(420 + i))
            var kv: [UInt16] = []
            let blockValues = block * hd
            for b in 0..<blocks {
                let from = b * blockValues, to = from + blockValues
                kv.append(contentsOf: k.bits[from..<to])
                kv.append(contentsOf: v.bits[from..<to])
            }
            var header = [UInt16](repeating: 0, count: hd)
            for (f, value) in [Int32(start), Int32(valid), 1, Int32(blocks)].enumerated() {
                header[2 * f] = UInt16(truncatingIfNeeded: UInt32(bitPattern: value))
                header[2 * f + 1] = UInt16(truncatingIfNeeded: UInt32(bitPattern: value) >> 16)
            }
            let pack = q.bits + header
            var out = [UInt16](repeating: 0xFFFF, count: C * hd)
            XCTAssertOK(npuk_attn_chunk_head(pack, kv, &out, Int32(blocks), Int32(block), Int32(C), Int32(hd)), label)
            var expected = [Float](repeating: 0, count: valid * hd), scratch = [Float](repeating: 0, count: start + valid)
            ReferenceOps.attention(q: q.floats, rows: valid, start: start, heads: 1, kvHeads: 1, headDim: hd, kCache: k.floats,
                                   vCache: v.floats, capacity: blocks * block, out: &expected, scratch: &scratch)
            assertWithinTolerance(op: "attention", dtype: "bf16", shape: "attn_chunk \(label)", expected: expected,
                                  actual: Array(out[..<(valid * hd)]))
            XCTAssertTrue(out[(valid * hd)...].allSatisfy { $0 == 0 }, "\(label): rows past the prompt are 0")
        }
    }

    /// swiglu_tiles_bf16 over two objects of (gate, up) tile pairs equals silu(gate)·up per pair.
    func testSwigluTiles() {
        for (i, (tm, n)) in [(64, 1024), (16, 64), (64, 192)].enumerated() {
            let g0 = BF16Tensor(count: n, seed: UInt64(500 + i), scale: 4), g1 = BF16Tensor(count: n, seed: UInt64(510 + i), scale: 4)
            var act = [UInt16](repeating: 0xFFFF, count: n)
            XCTAssertOK(npuk_swiglu_tiles(g0.bits, g1.bits, &act, Int32(tm), Int32(n)), "tm \(tm) n \(n)")
            let gu = g0.floats + g1.floats
            var gate: [Float] = [], up: [Float] = []
            for p in 0..<n / tm {
                gate += gu[2 * p * tm..<(2 * p + 1) * tm]
                up += gu[(2 * p + 1) * tm..<(2 * p + 2) * tm]
            }
            var expected = [Float](repeating: 0, count: n)
            ReferenceOps.swiglu(gate, up, count: n, into: &expected)
            assertWithinTolerance(op: "swiglu", dtype: "bf16", shape: "swiglu_tiles tm \(tm) n \(n)", expected: expected, actual: act)
        }
    }

    /// qkv_rope_bf16 on a row's U-value objects (issue 17: the row core streams q ‖ k ‖ v): the q and k heads bit for
    /// bit what decode's rope kernel makes of the whole row (and within the rope tolerance of the CPU reference), the v
    /// values copied exactly, the K‖V objects of a row at or past the prompt's rows zeros (its Q objects roped as usual).
    /// Shapes: 1B-like (hd 64, an object holding K ‖ V) and 8B-like (hd 128, K and V objects apart).
    func testQKVRopeObjects() {
        for (hd, nh, nkv, U) in [(64, 4, 2, 256), (128, 4, 1, 128), (128, 8, 2, 256)] {
            let Q = nh * hd, KV = nkv * hd, n = Q + 2 * KV, half = hd / 2, pos = 1000
            for pairing in [RopePairing.halfSplit, .adjacent] {
                let adjacent: Int32 = pairing == .adjacent ? 1 : 0
                // a table whose row `pos` is this position's cos/sin (the host writes the cs row from it)
                var cosT = [Float](repeating: 0, count: (pos + 1) * half), sinT = cosT
                for i in 0..<half {
                    let a = Float(pos) * pow(500000, -Float(2 * i) / Float(hd))
                    cosT[pos * half + i] = cos(a)
                    sinT[pos * half + i] = sin(a)
                }
                let cs = (0..<half).map { floatToBF16(cosT[pos * half + $0]) } + (0..<half).map { floatToBF16(sinT[pos * half + $0]) }
                let row = BF16Tensor(count: n, seed: UInt64(700 + hd + nh), scale: 2)
                var whole = [UInt16](repeating: 0, count: Q + KV)
                XCTAssertOK(npuk_rope_bf16(Array(row.bits[0..<Q + KV]), &whole, 1, Int32(nh + nkv), Int32(hd), Int32(pos), adjacent,
                                           cosT, sinT, Int32(pos + 1)), "whole-row rope")
                var expected = Array(row.floats[0..<Q + KV])
                ReferenceOps.rope(&expected, rows: 1, heads: nh + nkv, headDim: hd, start: pos, pairing: pairing, cos: cosT, sin: sinT)
                for (r, valid) in [(3, 22), (22, 22)] {
                    var out = [UInt16](repeating: 0xFFFF, count: n)
                    for at in stride(from: 0, to: n, by: U) {
                        var obj = [UInt16](repeating: 0, count: U)
                        XCTAssertOK(npuk_qkv_rope(Array(row.bits[at..<at + U]), cs, &obj, Int32(r), Int32(valid), Int32(at), Int32(U),
                                                  Int32(Q + KV), Int32(Q), Int32(hd), adjacent), "object at \(at)")
                        out.replaceSubrange(at..<at + U, with: obj)
                    }
                    let label = "hd \(hd) \(nh)/\(nkv) U \(U) \(pairing.rawValue) row \(r) of \(valid)"
                    XCTAssertEqual(Array(out[0..<Q]), Array(whole[0..<Q]), "\(label): q heads as decode's rope")
                    if r < valid {
                        XCTAssertEqual(Array(out[Q..<Q + KV]), Array(whole[Q..<Q + KV]), "\(label): k heads as decode's rope")
                        XCTAssertEqual(Array(out[Q + KV..<n]), Array(row.bits[Q + KV..<n]), "\(label): v copied")
                        assertWithinTolerance(op: "rope", dtype: "bf16", shape: "qkv_rope \(label)", expected: expected,
                                              actual: Array(out[0..<Q + KV]))
                    } else {
                        XCTAssertTrue(out[Q..<n].allSatisfy { $0 == 0 }, "\(label): a padding row's K and V are zeros")
                    }
                }
            }
        }
    }

    /// rmsnorm_sum_bf16 then rmsnorm_scale_bf16 over a row given in U-value slices (the row core's two passes) are bit
    /// for bit decode's whole-row rmsnorm_bf16 (the fp32 lanes carry across slices), and within the rmsnorm
    /// tolerance of the CPU reference: 8B's width (4096 in slices of 1024), 3B's (3072), SmolLM2's (576 in 192).
    func testRMSNormOverSlicesIsTheWholeRowKernel() {
        for (i, (n, slice)) in [(4096, 1024), (3072, 1024), (576, 192), (256, 64)].enumerated() {
            let x = BF16Tensor(count: n, seed: UInt64(800 + i), scale: 3), w = BF16Tensor(count: n, seed: UInt64(900 + i), scale: 0.5, offset: 1)
            var sliced = [UInt16](repeating: 0, count: n), whole = sliced
            XCTAssertOK(npuk_rmsnorm_slices(x.bits, w.bits, &sliced, Int32(n), Int32(slice), 1e-5), "slices \(n)/\(slice)")
            XCTAssertOK(npuk_rmsnorm_bf16(x.bits, w.bits, &whole, 1, Int32(n), 1e-5), "whole \(n)")
            XCTAssertEqual(sliced, whole, "\(n) in slices of \(slice)")
            var expected = [Float](repeating: 0, count: n)
            ReferenceOps.rmsNorm(x.floats, rows: 1, dim: n, weight: w.floats, eps: 1e-5, into: &expected)
            assertWithinTolerance(op: "rmsnorm", dtype: "bf16", shape: "sliced \(n)/\(slice)", expected: expected, actual: sliced)
        }
    }
}
