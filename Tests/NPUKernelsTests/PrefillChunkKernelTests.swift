// The prefill run's AIE kernels (issue 13) against the fp32 CPU reference: prefill_mm on decode's bf16 / Q4_1 / Q4_0 tiles with aie::mmul<8, 8, 8>, attn_chunk (causal inside the chunk, several blocks, a partial chunk), the row core's swiglu_tiles_bf16 and kv_rows_bf16.
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

    /// kv_rows_bf16: head h's roped K (rope's output after the Q columns) ‖ its V (the qkv row's) — exact moves — and
    /// zeros for a row at or past the chunk's prompt rows.
    func testKVRows() {
        let heads = 3, hd = 64, qdim = 9 * 64, n = qdim + 2 * heads * hd
        let y = BF16Tensor(count: n, seed: 600), t = BF16Tensor(count: n, seed: 601)
        var kv = [UInt16](repeating: 0xFFFF, count: 2 * heads * hd)
        XCTAssertOK(npuk_kv_rows(y.bits, t.bits, &kv, 5, 22, Int32(heads), Int32(qdim), Int32(hd)), "row 5 of 22")
        var expected: [UInt16] = []
        for h in 0..<heads {
            let kAt: Int = qdim + h * hd, vAt: Int = qdim + heads * hd + h * hd
            expected.append(contentsOf: y.bits[kAt..<kAt + hd])
            expected.append(contentsOf: t.bits[vAt..<vAt + hd])
        }
        XCTAssertEqual(kv, expected)
        XCTAssertOK(npuk_kv_rows(y.bits, t.bits, &kv, 22, 22, Int32(heads), Int32(qdim), Int32(hd)), "row 22 of 22")
        XCTAssertTrue(kv.allSatisfy { $0 == 0 }, "a padding row's K and V are written as zeros")
    }
}
