// Decode's dispatch (sibling GEMVs bound as one group, each in contiguous per-thread shares; KV heads spread over the
// pool) computes every value exactly as the one-op-at-a-time path does: bit for bit, not within a tolerance.
import XCTest
import LlamaCore
@testable import ReferenceBackend

final class DecodeDispatchTests: XCTestCase {
    private func values(_ n: Int, seed: UInt64) -> [Float] {
        var rng = SplitMix64(seed: seed)
        return (0..<n).map { _ in Float(Double(rng.next() % 2_000_001) / 1_000_000 - 1) }
    }

    /// Several GEMVs of one input equal each run alone, for sizes under and over the hand-off threshold and row
    /// counts that are not multiples of the grain a thread's share is cut at.
    func testSiblingGEMVsEqualEachAloneBitForBit() {
        for (cols, rowsList) in [(576, [576, 192, 192]), (7, [1, 15]), (100, [17, 1000, 16]), (2048, [700]), (64, [33, 31, 9, 1])] {
            let x = values(cols, seed: UInt64(cols))
            let weights = rowsList.enumerated().map { values($1 * cols, seed: UInt64(100 + $0)) }
            let w = weights.map { values in
                let p = UnsafeMutablePointer<Float>.allocate(capacity: values.count)
                p.initialize(from: values, count: values.count)
                return p
            }
            let y = rowsList.map { rows in
                let p = UnsafeMutablePointer<Float>.allocate(capacity: rows)
                p.initialize(repeating: .nan, count: rows)
                return p
            }
            defer { (w + y).forEach { $0.deallocate() } }
            ReferenceOps.gemvs(x, inDim: cols, rowsList.indices.map { (UnsafePointer(w[$0]), rowsList[$0], y[$0]) })
            let fused = rowsList.indices.map { Array(UnsafeBufferPointer(start: y[$0], count: rowsList[$0])) }
            for (i, rows) in rowsList.enumerated() {
                var alone = [Float](repeating: .nan, count: rows)
                ReferenceOps.matmul(x, rows: 1, inDim: cols, weight: weights[i], outDim: rows, into: &alone)
                XCTAssertEqual(fused[i].map(\.bitPattern), alone.map(\.bitPattern), "cols \(cols) product \(i) (\(rows) rows)")
                // And the sum is the dot product (the same kernel, not the same mistake twice).
                let r = rows - 1
                let dot = (0..<cols).reduce(0.0) { $0 + Double(weights[i][r * cols + $1]) * Double(x[$1]) }
                XCTAssertEqual(Double(alone[r]), dot, accuracy: 1e-4 * Double(cols).squareRoot())
            }
        }
    }

    /// Decode attention with KV heads spread over the pool equals the serial loop bit for bit.
    func testDecodeAttentionOverThePoolEqualsSerial() {
        let heads = 9, kvHeads = 3, hd = 64, capacity = 300
        let group = heads / kvHeads
        let k = values(kvHeads * capacity * hd, seed: 1), v = values(kvHeads * capacity * hd, seed: 2)
        for start in [0, 5, 200, 299] {
            let total = start + 1
            let q = values(heads * hd, seed: UInt64(start))
            var serial = [Float](repeating: .nan, count: heads * hd), pooled = serial
            var small = [Float](repeating: 0, count: group * total), large = [Float](repeating: 0, count: heads * capacity)
            ReferenceOps.attention(q: q, rows: 1, start: start, heads: heads, kvHeads: kvHeads, headDim: hd,
                                   kCache: k, vCache: v, capacity: capacity, out: &serial, scratch: &small)
            ReferenceOps.attention(q: q, rows: 1, start: start, heads: heads, kvHeads: kvHeads, headDim: hd,
                                   kCache: k, vCache: v, capacity: capacity, out: &pooled, scratch: &large, scratchCount: large.count)
            XCTAssertEqual(serial.map(\.bitPattern), pooled.map(\.bitPattern), "position \(start)")
        }
    }

    /// A decode step's every node output equals that node run alone on the same inputs (`runNode`, one op at a time,
    /// no siblings), on a model whose matrices are large enough for the pool.
    func testDecodeStepEqualsNodeByNodeBitForBit() throws {
        let config = try ModelConfig(vocabSize: 300, hiddenSize: 256, intermediateSize: 704, layerCount: 2, headCount: 4,
                                     kvHeadCount: 2, headDim: 64, rmsNormEps: 1e-5, ropeTheta: 10000, ropeScaling: .none,
                                     ropePairing: .adjacent, maxContext: 256, tiedEmbeddings: true)
        let source = TensorDictionary.randomLlama(config, seed: 5)
        let prompt = TestModels.tokens(140, vocab: config.vocabSize, seed: 9)
        let stepped = try TestModels.backend(config, source: source, context: 160, maxBatch: 64)
        let alone = try TestModels.backend(config, source: source, context: 160, maxBatch: 64)
        for b in [stepped, alone] {
            for chunk in stride(from: 0, to: prompt.count, by: 64) {
                _ = try b.step(tokens: Array(prompt[chunk..<min(chunk + 64, prompt.count)]), start: chunk)
            }
        }
        var outputs: [String: [Float]] = [:]
        let token = 17, position = prompt.count
        _ = try stepped.step(tokens: [token], start: position, logitRows: .last) { node, output, _ in
            outputs[node.name] = Array(output)
        }
        XCTAssertEqual(outputs.count, stepped.graph.nodes.count)
        var fusedMatmuls = 0
        for node in alone.graph.nodes {
            let inputs = node.inputs.filter { $0 != "tokens" }.map { outputs[$0]! }
            let expected = try alone.runNode(node, inputs: inputs, tokens: [token], start: position)
            XCTAssertEqual(outputs[node.name]!.map(\.bitPattern), expected.map(\.bitPattern), node.name)
            if ["Qcur", "Kcur", "Vcur", "ffn_gate", "ffn_up"].contains(node.slot) { fusedMatmuls += 1 }
        }
        XCTAssertEqual(fusedMatmuls, 5 * config.layerCount)
    }
}
