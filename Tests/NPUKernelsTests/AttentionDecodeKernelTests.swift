// Decode attention (KV append + GQA online softmax over the cache) at the first, second and last positions of the context.
import LlamaCore
import NPUKernels
import ReferenceBackend
import XCTest

final class AttentionDecodeKernelTests: KernelTestCase {
    /// Runs one decode step at `pos` with a random cache and checks output and append.
    func check(heads: Int, kvHeads: Int, headDim: Int, capacity: Int, pos: Int, splits: Int, label: String,
               file: StaticString = #filePath, line: UInt = #line) {
        let seed = UInt64(heads * 1000 + pos)
        let q = BF16Tensor(count: heads * headDim, seed: seed, scale: 2)
        let kNew = BF16Tensor(count: kvHeads * headDim, seed: seed + 1, scale: 2)
        let vNew = BF16Tensor(count: kvHeads * headDim, seed: seed + 2)
        var kCache = BF16Tensor(count: kvHeads * capacity * headDim, seed: seed + 3, scale: 2).bits
        var vCache = BF16Tensor(count: kvHeads * capacity * headDim, seed: seed + 4).bits
        var out = [UInt16](repeating: 0, count: heads * headDim)
        XCTAssertOK(npuk_attn_decode_bf16(q.bits, kNew.bits, vNew.bits, &kCache, &vCache, Int32(capacity), Int32(pos),
                                          Int32(heads), Int32(kvHeads), Int32(headDim), TestPlans.tile("kqv_out", "block"),
                                          Int32(splits), &out),
                    label, file: file, line: line)
        for h in 0..<kvHeads {   // the append landed in row pos of every KV head
            let row = (h * capacity + pos) * headDim
            XCTAssertEqual(Array(kCache[row..<row + headDim]), Array(kNew.bits[h * headDim..<(h + 1) * headDim]),
                           file: file, line: line)
            XCTAssertEqual(Array(vCache[row..<row + headDim]), Array(vNew.bits[h * headDim..<(h + 1) * headDim]),
                           file: file, line: line)
        }
        var expected = [Float](repeating: 0, count: heads * headDim)
        var scratch = [Float](repeating: 0, count: max(1, heads / kvHeads) * (pos + 1))
        ReferenceOps.attention(q: q.floats, rows: 1, start: pos, heads: heads, kvHeads: kvHeads, headDim: headDim,
                               kCache: kCache.map(bf16ToFloat), vCache: vCache.map(bf16ToFloat), capacity: capacity,
                               out: &expected, scratch: &scratch)
        assertWithinTolerance(op: "attention", dtype: "bf16", shape: "\(label) pos \(pos) splits \(splits)",
                              expected: expected, actual: out, file: file, line: line)
    }

    func testLlama1BShapesAtPositions0_1_AndNearContextLimit() {
        for pos in [0, 1, 63, 64, 1000, 8191] {
            check(heads: 32, kvHeads: 8, headDim: 64, capacity: 8192, pos: pos, splits: Int(TestPlans.tile("kqv_out", "splits")),
                  label: "1B ctx 8192")
        }
    }

    func testSmolLM2ShapesAndSplitCounts() {
        for pos in [0, 1, 130, 2047] {
            for splits in [1, 3, 4] {
                check(heads: 9, kvHeads: 3, headDim: 64, capacity: 2048, pos: pos, splits: splits, label: "smol ctx 2048")
            }
        }
    }

    /// headDim 16 (the tiny golden model): scores and P·V on one 16-lane vector per position, at the first
    /// positions, across a block boundary and at the end of the cache, with 4 splits and 1, and one KV head.
    func testHeadDim16AtSeveralPositions() {
        for pos in [0, 1, 63, 64, 200, 255] {
            for splits in [Int(TestPlans.tile(TestPlans.tinyPlan, "kqv_out", "splits")), 1] {
                check(heads: 8, kvHeads: 2, headDim: 16, capacity: 256, pos: pos, splits: splits, label: "tiny ctx 256")
            }
        }
        check(heads: 8, kvHeads: 1, headDim: 16, capacity: 256, pos: 130, splits: 3, label: "tiny 1 KV head")
    }

    func testSplitsDoNotChangeMuch() {
        // Merging partial states reorders fp32 sums only.
        check(heads: 4, kvHeads: 1, headDim: 64, capacity: 512, pos: 511, splits: 8, label: "1 kv head")
    }

    func testRejectsPositionsOutsideTheCache() {
        let z = [UInt16](repeating: 0, count: 64)
        var cache = [UInt16](repeating: 0, count: 64 * 64)
        var cache2 = cache
        var out = z
        XCTAssertEqual(Int(npuk_attn_decode_bf16(z, z, z, &cache, &cache2, 64, 64, 1, 1, 64, 64, 1, &out)),
                       Int(NPUK_BAD_SHAPE))
        XCTAssertEqual(Int(npuk_attn_decode_bf16(z, z, z, &cache, &cache2, 64, -1, 1, 1, 64, 64, 1, &out)),
                       Int(NPUK_BAD_SHAPE))
    }
}
