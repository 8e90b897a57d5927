// The CPU reference against HF transformers' fp32 goldens of the tiny Qwen2.5- and Qwen3-style models, from both sources.
import XCTest
import Foundation
import LlamaCore
@testable import ReferenceBackend

extension GoldenTests {
    /// Qwen2: biases on q/k/v (`Qcur-L` etc. are the biased products, compared with HF's q_proj/k_proj/v_proj outputs),
    /// rope theta 1e6, tied embeddings; the same goldens for the HF folder and the GGUF (unpermuted, half-split pairing).
    func testTinyQwen2MatchesGoldens() throws {
        let golden = try GoldenSet(directory: Self.golden("tiny-qwen2"))
        for path in ["tiny-qwen2/model", "tiny-qwen2/tiny-qwen2.bf16.gguf"] {
            let model = try LoadedModel.open(path: Self.golden(path))
            XCTAssertEqual(model.config.family, .qwen2)
            XCTAssertEqual(model.config.ropePairing, .halfSplit)
            XCTAssertEqual(model.config.ropeTheta, 1_000_000)
            let worst = try check(model: model, golden: golden, bound: GoldenBounds.tinyNMSE)
            XCTAssertEqual(worst.count, 3 + 4 * 4, "inp_embd, l_out, Qcur/Kcur/Vcur per layer, result_norm/output")
        }
    }

    /// Qwen3: per-head q/k RMSNorm before RoPE (`Qcur_normed-L`, `Kcur_normed-L` against HF's q_norm/k_norm outputs),
    /// head_dim 64 with hidden 128 / 4 heads.
    func testTinyQwen3MatchesGoldens() throws {
        let golden = try GoldenSet(directory: Self.golden("tiny-qwen3"))
        for path in ["tiny-qwen3/model", "tiny-qwen3/tiny-qwen3.bf16.gguf"] {
            let model = try LoadedModel.open(path: Self.golden(path))
            XCTAssertEqual(model.config.family, .qwen3)
            XCTAssertEqual(model.config.headDim, 64)
            XCTAssertEqual(model.config.qDim, 256)
            let worst = try check(model: model, golden: golden, bound: GoldenBounds.tinyNMSE)
            XCTAssertEqual(worst.count, 3 + 4 * 6, "inp_embd, l_out, Qcur/Kcur/Vcur/Qcur_normed/Kcur_normed per layer, result_norm/output")
        }
    }

    /// The new ops matter: without the biases (or with unit q/k norm weights) the logits move far beyond rounding,
    /// so the goldens above could not pass by accident.
    func testQwenFeaturesChangeTheLogits() throws {
        let ids = [1, 687, 574, 598, 69, 916, 230, 605]
        for (name, zeroed) in [("tiny-qwen2", ".attn_k.bias"), ("tiny-qwen3", ".attn_q_norm.weight")] {
            let model = try LoadedModel.open(path: Self.golden(name + "/model"))
            let graph = Graph.llama(model.config)
            let weights = try FloatWeights(graph: graph, source: model.tensors)
            let run = { try ReferenceBackend(graph: graph, weights: weights, contextLength: 16, maxBatch: 16)
                .step(tokens: ids, start: 0, logitRows: .all) }
            let base = try run()
            for l in 0..<model.config.layerCount {
                let w = weights["blk.\(l)\(zeroed)"]!
                for i in w.indices { w[i] = zeroed.hasSuffix("bias") ? 0 : 1 }
            }
            let m = ErrorMetrics(expected: base, actual: try run())
            XCTAssertGreaterThan(m.nmse, 1e-3, "\(name) without\(zeroed): \(m)")
        }
    }
}
