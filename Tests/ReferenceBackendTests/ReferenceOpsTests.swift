// Each reference op against a direct Double-precision evaluation of its definition.
import XCTest
import LlamaCore
@testable import ReferenceBackend

final class ReferenceOpsTests: XCTestCase {
    func random(_ n: Int, seed: UInt64) -> [Float] {
        var rng = SplitMix64(seed: seed)
        return (0..<n).map { _ in Float(rng.nextUnit() * 2 - 1) }
    }

    func testMatmulDecodeAndPrefillMatchDoubleDefinition() {
        for (rows, inDim, outDim) in [(1, 37, 19), (5, 64, 33), (1, 576, 1536), (7, 128, 1)] {
            let x = random(rows * inDim, seed: 1), w = random(outDim * inDim, seed: 2)
            var y = [Float](repeating: 0, count: rows * outDim)
            ReferenceOps.matmul(x, rows: rows, inDim: inDim, weight: w, outDim: outDim, into: &y)
            for r in 0..<rows {
                for o in 0..<outDim {
                    var s = 0.0
                    for i in 0..<inDim { s += Double(x[r * inDim + i]) * Double(w[o * inDim + i]) }
                    XCTAssertEqual(Double(y[r * outDim + o]), s, accuracy: 1e-5 * Double(inDim).squareRoot())
                }
            }
        }
    }

    func testRMSNorm() {
        let x: [Float] = [1, -2, 3, -4], w: [Float] = [1, 0.5, 2, 1]
        var y = [Float](repeating: 0, count: 4)
        ReferenceOps.rmsNorm(x, rows: 1, dim: 4, weight: w, eps: 1e-5, into: &y)
        let scale = 1 / (30.0 / 4 + 1e-5).squareRoot()
        for i in 0..<4 { XCTAssertEqual(Double(y[i]), Double(x[i]) * scale * Double(w[i]), accuracy: 1e-6) }
    }

    func testRopeRotatesPairsByPositionTimesFrequency() throws {
        let config = try ModelConfig(vocabSize: 8, hiddenSize: 8, intermediateSize: 8, layerCount: 1, headCount: 1,
                                     kvHeadCount: 1, headDim: 8, ropeTheta: 10000)
        let table = RopeTable(config: config, positions: 8)
        let inv = config.ropeInverseFrequencies()
        XCTAssertEqual(inv[1], 0.1, accuracy: 1e-7)   // 10000^(-2/8)
        for pairing in [RopePairing.halfSplit, .adjacent] {
            var v: [Float] = [1, 2, 3, 4, 5, 6, 7, 8]
            ReferenceOps.rope(&v, rows: 1, heads: 1, headDim: 8, start: 3, pairing: pairing, cos: table.cos, sin: table.sin)
            for i in 0..<4 {
                let (a, b): (Int, Int) = pairing == .halfSplit ? (i, i + 4) : (2 * i, 2 * i + 1)
                let x0 = Double(a + 1), x1 = Double(b + 1), t = 3 * Double(inv[i])
                XCTAssertEqual(Double(v[a]), x0 * cos(t) - x1 * sin(t), accuracy: 1e-5, "\(pairing) \(i)")
                XCTAssertEqual(Double(v[b]), x1 * cos(t) + x0 * sin(t), accuracy: 1e-5, "\(pairing) \(i)")
            }
        }
    }

    func testSwigluAndSoftmax() {
        var out = [Float](repeating: 0, count: 3)
        ReferenceOps.swiglu([0, 1, -2], [3, 2, 1], count: 3, into: &out)
        XCTAssertEqual(out[0], 0)
        XCTAssertEqual(Double(out[1]), 2 / (1 + exp(-1.0)), accuracy: 1e-6)
        XCTAssertEqual(Double(out[2]), -2 / (1 + exp(2.0)), accuracy: 1e-6)
        var s: [Float] = [1000, 1000, 999]
        ReferenceOps.softmax(&s, count: 3)
        let e = exp(-1.0)
        XCTAssertEqual(Double(s[0]), 1 / (2 + e), accuracy: 1e-6)
        XCTAssertEqual(Double(s[2]), e / (2 + e), accuracy: 1e-6)
    }

    /// Attention against its definition: for each head, softmax(q·kᵀ/√d) over visible positions · v.
    func testAttentionMatchesDefinitionInPrefillAndDecode() {
        let heads = 4, kvHeads = 2, hd = 8, capacity = 16
        for (rows, start) in [(5, 0), (1, 9), (3, 6)] {
            let total = start + rows
            let q = random(rows * heads * hd, seed: 21)
            var k = [Float](repeating: 0, count: kvHeads * capacity * hd)
            var v = k
            let kv = random(kvHeads * total * hd * 2, seed: 22)
            for h in 0..<kvHeads { for p in 0..<total { for d in 0..<hd {
                k[(h * capacity + p) * hd + d] = kv[((h * total + p) * hd + d) * 2]
                v[(h * capacity + p) * hd + d] = kv[((h * total + p) * hd + d) * 2 + 1]
            } } }
            var out = [Float](repeating: 0, count: rows * heads * hd)
            var scratch = [Float](repeating: 0, count: max(rows, heads / kvHeads) * total)
            ReferenceOps.attention(q: q, rows: rows, start: start, heads: heads, kvHeads: kvHeads, headDim: hd,
                                   kCache: k, vCache: v, capacity: capacity, out: &out, scratch: &scratch)
            for r in 0..<rows { for h in 0..<heads {
                let g = h / (heads / kvHeads)
                let visible = start + r + 1
                var scores = (0..<visible).map { p -> Double in
                    (0..<hd).reduce(0.0) { $0 + Double(q[(r * heads + h) * hd + $1]) * Double(k[(g * capacity + p) * hd + $1]) } / Double(hd).squareRoot()
                }
                let m = scores.max()!
                scores = scores.map { exp($0 - m) }
                let sum = scores.reduce(0, +)
                for d in 0..<hd {
                    let expected = (0..<visible).reduce(0.0) { $0 + scores[$1] / sum * Double(v[(g * capacity + $1) * hd + d]) }
                    XCTAssertEqual(Double(out[(r * heads + h) * hd + d]), expected, accuracy: 1e-5, "rows \(rows) start \(start) r \(r) h \(h) d \(d)")
                }
            } }
        }
    }
}
