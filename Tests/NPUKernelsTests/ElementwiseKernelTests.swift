// rmsnorm, rope (both pairings, llama3 frequencies), swiglu and residual add kernels against the fp32 reference.
import LlamaCore
import NPUKernels
import ReferenceBackend
import XCTest

final class ElementwiseKernelTests: KernelTestCase {
    func testRMSNorm() {
        for (i, (rows, n)) in [(1, 576), (3, 2048), (1, 64), (2, 1536)].enumerated() {
            let x = BF16Tensor(count: rows * n, seed: UInt64(40 + i), scale: 3)
            let w = BF16Tensor(count: n, seed: UInt64(400 + i), scale: 0.5, offset: 1)
            var y = [UInt16](repeating: 0, count: rows * n)
            XCTAssertOK(npuk_rmsnorm_bf16(x.bits, w.bits, &y, Int32(rows), Int32(n), 1e-5), "rmsnorm \(n)")
            var expected = [Float](repeating: 0, count: rows * n)
            ReferenceOps.rmsNorm(x.floats, rows: rows, dim: n, weight: w.floats, eps: 1e-5, into: &expected)
            assertWithinTolerance(op: "rmsnorm", dtype: "bf16", shape: "\(rows)x\(n)", expected: expected, actual: y)
        }
    }


    func testRopeBothPairingsAtFirstAndLastPositions() {
        for (name, config) in [("1B", TestPlans.llama1B), ("smol", TestPlans.smol)] {
            let table = RopeTable(config: config, positions: config.maxContext)
            for pairing in [RopePairing.halfSplit, .adjacent] {
                for (heads, rows, start) in [(config.headCount, 1, 0), (config.kvHeadCount, 1, 1),
                                             (config.headCount, 3, config.maxContext - 3), (config.kvHeadCount, 2, 4097)] {
                    let width = heads * config.headDim
                    let x = BF16Tensor(count: rows * width, seed: UInt64(50 + start + heads), scale: 2)
                    var y = [UInt16](repeating: 0, count: rows * width)
                    XCTAssertOK(npuk_rope_bf16(x.bits, &y, Int32(rows), Int32(heads), Int32(config.headDim), Int32(start),
                                               pairing == .adjacent ? 1 : 0, table.cos, table.sin, Int32(table.positions)),
                                "rope")
                    var expected = x.floats
                    ReferenceOps.rope(&expected, rows: rows, heads: heads, headDim: config.headDim, start: start,
                                      pairing: pairing, cos: table.cos, sin: table.sin)
                    assertWithinTolerance(op: "rope", dtype: "bf16",
                                          shape: "\(name) \(pairing.rawValue) h\(heads) pos \(start)+\(rows)",
                                          expected: expected, actual: y)
                }
            }
        }
    }

    /// headDim 16 (the tiny golden model): two heads per 32-lane vector, an odd last head alone; both pairings.
    func testRopeHeadDim16BothPairings() {
        let config = TestPlans.tiny
        let positions = 8192
        let table = RopeTable(config: config, positions: positions)
        for pairing in [RopePairing.halfSplit, .adjacent] {
            for (heads, rows, start) in [(8, 1, 0), (2, 1, 1), (8, 3, 61), (3, 2, 4097), (1, 1, 500), (2, 64, positions - 64)] {
                let width = heads * 16
                let x = BF16Tensor(count: rows * width, seed: UInt64(80 + start + heads), scale: 2)
                var y = [UInt16](repeating: 0, count: rows * width)
                XCTAssertOK(npuk_rope_bf16(x.bits, &y, Int32(rows), Int32(heads), 16, Int32(start), pairing == .adjacent ? 1 : 0,
                                           table.cos, table.sin, Int32(table.positions)), "rope hd 16")
                var expected = x.floats
                ReferenceOps.rope(&expected, rows: rows, heads: heads, headDim: 16, start: start, pairing: pairing,
                                  cos: table.cos, sin: table.sin)
                assertWithinTolerance(op: "rope", dtype: "bf16", shape: "tiny hd16 \(pairing.rawValue) h\(heads) pos \(start)+\(rows)",
                                      expected: expected, actual: y)
            }
        }
        // head_dim 8 has no path: the driver refuses it as the plan does
        let x = [UInt16](repeating: 0, count: 16)
        var y = x
        XCTAssertEqual(Int(npuk_rope_bf16(x, &y, 1, 2, 8, 0, 0, table.cos, table.sin, 16)), Int(NPUK_BAD_SHAPE))
    }

    /// The 16-value tails of swiglu and add (a 16-row gemv tile's epilogue in the fused layer halves).
    func testSixteenValueTails() {
        let n = 96
        let gate = BF16Tensor(count: n, seed: 90, scale: 6), up = BF16Tensor(count: n, seed: 91, scale: 2)
        var out = [UInt16](repeating: 0, count: n)
        XCTAssertOK(npuk_swiglu_bf16(gate.bits, up.bits, &out, Int32(n), 48, 2), "swiglu tile 48")
        var expected = [Float](repeating: 0, count: n)
        ReferenceOps.swiglu(gate.floats, up.floats, count: n, into: &expected)
        assertWithinTolerance(op: "swiglu", dtype: "bf16", shape: "n 96 tile 48", expected: expected, actual: out)
        XCTAssertOK(npuk_add_bf16(gate.bits, up.bits, &out, Int32(n), 16, 3), "add tile 16")
        ReferenceOps.add(gate.floats, up.floats, count: n, into: &expected)
        assertWithinTolerance(op: "add", dtype: "bf16", shape: "n 96 tile 16", expected: expected, actual: out)
        XCTAssertEqual(out, bf16Bits(expected))
    }

    func testRopeInPlace() {
        let config = TestPlans.smol
        let table = RopeTable(config: config, positions: 16)
        let x = BF16Tensor(count: 3 * 64, seed: 7)
        var inPlace = x.bits, separate = [UInt16](repeating: 0, count: 3 * 64)
        XCTAssertOK(npuk_rope_bf16(inPlace, &inPlace, 1, 3, 64, 5, 1, table.cos, table.sin, 16), "in place")
        XCTAssertOK(npuk_rope_bf16(x.bits, &separate, 1, 3, 64, 5, 1, table.cos, table.sin, 16), "separate")
        XCTAssertEqual(inPlace, separate)
    }

    func testSwiGLU() {
        let tile = Int(TestPlans.tile("ffn_act", "tile"))
        for (i, n) in [1536, 8192, 512].enumerated() {
            let gate = BF16Tensor(count: n, seed: UInt64(60 + i), scale: 6)
            let up = BF16Tensor(count: n, seed: UInt64(600 + i), scale: 2)
            var out = [UInt16](repeating: 0, count: n)
            XCTAssertOK(npuk_swiglu_bf16(gate.bits, up.bits, &out, Int32(n), Int32(tile), TestPlans.tile("ffn_act", "cores")), "swiglu")
            var expected = [Float](repeating: 0, count: n)
            ReferenceOps.swiglu(gate.floats, up.floats, count: n, into: &expected)
            assertWithinTolerance(op: "swiglu", dtype: "bf16", shape: "n \(n)", expected: expected, actual: out)
        }
        // Saturated inputs: silu(-100) is -0 (no NaN), silu(100) is 100.
        let g = bf16Bits([-100, 100] + [Float](repeating: 0, count: 30)), u = bf16Bits([Float](repeating: 1, count: 32))
        var out = [UInt16](repeating: 0, count: 32)
        XCTAssertOK(npuk_swiglu_bf16(g, u, &out, 32, 32, 1), "saturated")
        XCTAssertEqual(bf16ToFloat(out[0]), 0)
        XCTAssertEqual(bf16ToFloat(out[1]), 100)
    }

    /// Gates all negative (silu's minimum is the row's largest output): there sigmoid ≈ 2^-g·log2e carries the whole
    /// error of aie2p's bf16 exp2, the worst case of the swiglu row of ToleranceTable.
    func testSwiGLUNegativeGates() {
        for (i, (scale, offset)) in [(Float(3), Float(-3)), (1, -1.5), (10, -10)].enumerated() {
            let n = 2048
            let gate = BF16Tensor(count: n, seed: UInt64(95 + i), scale: scale, offset: offset)
            let up = BF16Tensor(count: n, seed: UInt64(950 + i), scale: 0.5, offset: 1)
            var out = [UInt16](repeating: 0, count: n)
            XCTAssertOK(npuk_swiglu_bf16(gate.bits, up.bits, &out, Int32(n), 512, 2), "swiglu negative gates")
            var expected = [Float](repeating: 0, count: n)
            ReferenceOps.swiglu(gate.floats, up.floats, count: n, into: &expected)
            assertWithinTolerance(op: "swiglu", dtype: "bf16", shape: "n \(n) gates \(offset - scale)..\(offset + scale)",
                                  expected: expected, actual: out)
        }
    }

    func testResidualAdd() {
        for (i, n) in [576, 2048, 64].enumerated() {
            let a = BF16Tensor(count: n, seed: UInt64(70 + i), scale: 4), b = BF16Tensor(count: n, seed: UInt64(700 + i))
            var out = [UInt16](repeating: 0, count: n)
            XCTAssertOK(npuk_add_bf16(a.bits, b.bits, &out, Int32(n), TestPlans.tile("l_out", "tile"),
                                      TestPlans.tile("l_out", "cores")), "add")
            var expected = [Float](repeating: 0, count: n)
            ReferenceOps.add(a.floats, b.floats, count: n, into: &expected)
            assertWithinTolerance(op: "add", dtype: "bf16", shape: "n \(n)", expected: expected, actual: out)
            // One rounding of an exact sum: bit-identical to round-to-nearest-even of the fp32 sum.
            XCTAssertEqual(out, bf16Bits(expected))
        }
    }
}
