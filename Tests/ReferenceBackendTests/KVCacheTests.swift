// Decoding over the KV cache must equal recomputing the whole sequence, and RoPE pairings must agree.
import XCTest
import LlamaCore
@testable import ReferenceBackend

final class KVCacheTests: XCTestCase {
    /// fp32 with different BLAS paths (sgemv vs sgemm): equal up to rounding, far below 1e-10.
    let cacheNMSE = 1e-10

    func testDecodeEqualsFullRecompute() throws {
        let config = try TestModels.smallConfig()
        let source = TensorDictionary.randomLlama(config, seed: 7)
        let ids = TestModels.tokens(20, vocab: config.vocabSize, seed: 3)

        let full = try TestModels.backend(config, source: source)
        let all = try full.step(tokens: ids, start: 0, logitRows: .all)
        XCTAssertEqual(all.count, ids.count * config.vocabSize)

        let incremental = try TestModels.backend(config, source: source)
        var logits = try incremental.step(tokens: Array(ids[0..<5]), start: 0)
        for pos in 5...ids.count {
            let expected = Array(all[(pos - 1) * config.vocabSize..<pos * config.vocabSize])
            let m = ErrorMetrics(expected: expected, actual: logits)
            XCTAssertLessThan(m.nmse, cacheNMSE, "position \(pos - 1): \(m)")
            XCTAssertEqual(Sampler.argmax(expected), Sampler.argmax(logits))
            if pos < ids.count { logits = try incremental.step(tokens: [ids[pos]], start: pos) }
        }
    }

    func testChunkedPrefillEqualsOneShot() throws {
        let config = try TestModels.smallConfig()
        let source = TensorDictionary.randomLlama(config, seed: 11)
        let ids = TestModels.tokens(30, vocab: config.vocabSize, seed: 5)
        let oneShot = try TestModels.backend(config, source: source).step(tokens: ids, start: 0)
        let chunked = try TestModels.backend(config, source: source)
        _ = try chunked.step(tokens: Array(ids[0..<8]), start: 0)
        _ = try chunked.step(tokens: Array(ids[8..<21]), start: 8)
        let last = try chunked.step(tokens: Array(ids[21...]), start: 21)
        XCTAssertLessThan(ErrorMetrics(expected: oneShot, actual: last).nmse, cacheNMSE)
    }

    /// GGUF files hold q/k rows permuted so that adjacent-pair RoPE equals HF's half-split RoPE.
    /// Permuting the rows and switching pairing must leave the logits unchanged.
    func testAdjacentPairingOnPermutedWeightsEqualsHalfSplit() throws {
        let hf = try TestModels.smallConfig(pairing: .halfSplit)
        let gg = try TestModels.smallConfig(pairing: .adjacent)
        let source = TensorDictionary.randomLlama(hf, seed: 13)
        let permuted = TensorDictionary()
        for name in source.tensorNames {
            let info = source.info(name)!
            var values = try source.floats(name)
            if name.hasSuffix("attn_q.weight") || name.hasSuffix("attn_k.weight") {
                values = permuteForAdjacentRope(values, rows: info.shape[0], cols: info.shape[1], headDim: hf.headDim)
            }
            permuted.set(name, shape: info.shape, values: values)
        }
        let ids = TestModels.tokens(12, vocab: hf.vocabSize, seed: 9)
        let a = try TestModels.backend(hf, source: source).step(tokens: ids, start: 0, logitRows: .all)
        let b = try TestModels.backend(gg, source: permuted).step(tokens: ids, start: 0, logitRows: .all)
        XCTAssertLessThan(ErrorMetrics(expected: a, actual: b).nmse, 1e-12)
        // And the wrong pairing is visibly wrong: the test can tell.
        let wrong = try TestModels.backend(gg, source: source).step(tokens: ids, start: 0, logitRows: .all)
        XCTAssertGreaterThan(ErrorMetrics(expected: a, actual: wrong).nmse, 1e-4)
    }

    func testContextFullAndBadTokenAreErrors() throws {
        let config = try TestModels.smallConfig()
        let backend = try TestModels.backend(config, source: TensorDictionary.randomLlama(config, seed: 1), context: 16, maxBatch: 16)
        XCTAssertThrowsError(try backend.step(tokens: [1, 2], start: 15)) { error in
            XCTAssertEqual(error as? StepError, .contextFull(position: 15, tokens: 2, contextLength: 16))
        }
        XCTAssertThrowsError(try backend.step(tokens: [97], start: 0)) { error in
            XCTAssertEqual(error as? StepError, .tokenOutOfRange(id: 97, vocabSize: 97))
        }
        XCTAssertThrowsError(try backend.step(tokens: [Int](repeating: 1, count: 17), start: 0)) { error in
            XCTAssertEqual(error as? StepError, .batchTooLarge(tokens: 17, maxBatch: 16))
        }
    }

    func testMissingAndMisshapenWeightsNameTheTensor() throws {
        let config = try TestModels.smallConfig()
        let graph = Graph.llama(config)
        let source = TensorDictionary.randomLlama(config, seed: 2)
        let broken = TensorDictionary(path: "broken.safetensors")
        for name in source.tensorNames where name != "blk.1.ffn_up.weight" {
            broken.set(name, shape: source.info(name)!.shape, values: try source.floats(name))
        }
        XCTAssertThrowsError(try FloatWeights(graph: graph, source: broken)) { error in
            XCTAssertEqual((error as? ModelFileError)?.kind, .missingTensor)
            XCTAssertEqual("\(error)", "broken.safetensors: tensor blk.1.ffn_up.weight is missing")
        }
        broken.set("blk.1.ffn_up.weight", shape: [96, 63], values: [Float](repeating: 0, count: 96 * 63))
        XCTAssertThrowsError(try FloatWeights(graph: graph, source: broken)) { error in
            XCTAssertEqual((error as? ModelFileError)?.kind, .shapeMismatch)
            XCTAssertTrue("\(error)".contains("blk.1.ffn_up.weight has shape [96, 63]"))
        }
    }
}

/// llama.cpp's converter permutation: within each head, row (s·d/2 + j) moves to (2j + s).
func permuteForAdjacentRope(_ w: [Float], rows: Int, cols: Int, headDim: Int) -> [Float] {
    var out = w
    let half = headDim / 2
    for head in 0..<(rows / headDim) {
        for s in 0..<2 {
            for j in 0..<half {
                let src = head * headDim + s * half + j
                let dst = head * headDim + 2 * j + s
                for c in 0..<cols { out[dst * cols + c] = w[src * cols + c] }
            }
        }
    }
    return out
}
