// Qwen2 / Qwen3 configs from HF config.json and GGUF metadata: family, pairing, shapes, and the refusals (sliding window, MoE, biases).
import XCTest
import Foundation
@testable import LlamaCore

final class QwenConfigTests: XCTestCase {
    /// The key set of the published Qwen2.5-0.5B config.json (values of that model).
    let qwen25 = """
    {"architectures": ["Qwen2ForCausalLM"], "attention_dropout": 0.0, "bos_token_id": 151643, "eos_token_id": 151643,
     "hidden_act": "silu", "hidden_size": 896, "initializer_range": 0.02, "intermediate_size": 4864,
     "max_position_embeddings": 32768, "max_window_layers": 24, "model_type": "qwen2", "num_attention_heads": 14,
     "num_hidden_layers": 24, "num_key_value_heads": 2, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0,
     "sliding_window": 32768, "tie_word_embeddings": true, "torch_dtype": "bfloat16", "use_cache": true,
     "use_sliding_window": false, "vocab_size": 151936}
    """
    /// The key set of the published Qwen3-0.6B config.json (values of that model).
    let qwen3 = """
    {"architectures": ["Qwen3ForCausalLM"], "attention_bias": false, "attention_dropout": 0.0, "bos_token_id": 151643,
     "eos_token_id": 151645, "head_dim": 128, "hidden_act": "silu", "hidden_size": 1024, "initializer_range": 0.02,
     "intermediate_size": 3072, "max_position_embeddings": 40960, "max_window_layers": 28, "model_type": "qwen3",
     "num_attention_heads": 16, "num_hidden_layers": 28, "num_key_value_heads": 8, "rms_norm_eps": 1e-06,
     "rope_scaling": null, "rope_theta": 1000000, "sliding_window": null, "tie_word_embeddings": true,
     "torch_dtype": "bfloat16", "use_cache": true, "use_sliding_window": false, "vocab_size": 151936}
    """

    func parse(_ text: String) throws -> ModelConfig {
        try ModelConfig.fromHFConfig(data: Data(text.utf8), file: "config.json")
    }

    func edited(_ text: String, _ change: (inout [String: Any]) -> Void) throws -> String {
        var json = try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
        change(&json)
        return String(decoding: try JSONSerialization.data(withJSONObject: json), as: UTF8.self)
    }

    func assertRefused(_ text: String, mentions: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try parse(text), file: file, line: line) {
            XCTAssertTrue("\($0)".contains(mentions), "\($0)", file: file, line: line)
        }
    }

    func testQwen25Config() throws {
        let c = try parse(qwen25)
        XCTAssertEqual(c.family, .qwen2)
        XCTAssertTrue(c.family.hasQKVBias)
        XCTAssertFalse(c.family.hasQKNorm)
        XCTAssertEqual(c.headDim, 64)   // 896 / 14
        XCTAssertEqual(c.groupSize, 7)
        XCTAssertEqual(c.ropeTheta, 1_000_000)
        XCTAssertEqual(c.ropeScaling, .none)
        XCTAssertEqual(c.ropePairing, .halfSplit)
        XCTAssertTrue(c.tiedEmbeddings)
        XCTAssertEqual(c.rmsNormEps, 1e-6)
    }

    func testQwen3ConfigHasItsOwnHeadDim() throws {
        let c = try parse(qwen3)
        XCTAssertEqual(c.family, .qwen3)
        XCTAssertTrue(c.family.hasQKNorm)
        XCTAssertFalse(c.family.hasQKVBias)
        XCTAssertEqual(c.headDim, 128)
        XCTAssertEqual(c.qDim, 2048)    // ≠ hidden 1024
        XCTAssertEqual(c.kvDim, 1024)
        XCTAssertEqual(c.eosTokenIDs, [151645])
    }

    func testLlamaConfigStaysLlama() throws {
        let c = try parse(#"{"model_type": "llama", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 1, "num_attention_heads": 4, "vocab_size": 32}"#)
        XCTAssertEqual(c.family, .llama)
    }

    func testUnsupportedQwenFeaturesAreRefusedByName() throws {
        assertRefused(try edited(qwen25) { $0["use_sliding_window"] = true }, mentions: "use_sliding_window is true")
        assertRefused(try edited(qwen3) { $0["layer_types"] = ["full_attention", "sliding_attention"] },
                      mentions: "layer_types contains \"sliding_attention\"")
        assertRefused(try edited(qwen3) { $0["attention_bias"] = true }, mentions: "attention_bias is true")
        assertRefused(try edited(qwen25) { $0["model_type"] = "qwen2_moe"; $0["architectures"] = ["Qwen2MoeForCausalLM"] },
                      mentions: "Qwen2MoeForCausalLM")
        assertRefused(try edited(qwen3) { $0["model_type"] = "qwen3_moe" }, mentions: "model_type is \"qwen3_moe\"")
        assertRefused(try edited(qwen25) { $0["model_type"] = "qwen3" }, mentions: "disagrees with architectures")
        assertRefused(try edited(qwen25) { $0["rope_scaling"] = ["rope_type": "yarn", "factor": 4.0,
                                                                 "original_max_position_embeddings": 32768] },
                      mentions: "rope_type is \"yarn\"")
        assertRefused(try edited(qwen3) { $0["hidden_act"] = "gelu" }, mentions: "qwen3 uses \"silu\"")
    }

    /// GGUF `qwen2` / `qwen3`: keys under the architecture's prefix; half-split (NEOX) pairing, as llama.cpp runs them.
    func testGGUFQwenMetadata() throws {
        func meta(_ arch: String) -> [String: GGUFValue] {
            [
                "general.architecture": .string(arch), "\(arch).embedding_length": .uint32(1024),
                "\(arch).feed_forward_length": .uint32(3072), "\(arch).block_count": .uint32(28),
                "\(arch).attention.head_count": .uint32(16), "\(arch).attention.head_count_kv": .uint32(8),
                "\(arch).rope.freq_base": .float32(1_000_000), "\(arch).attention.layer_norm_rms_epsilon": .float32(1e-6),
                "\(arch).context_length": .uint32(40960), "\(arch).vocab_size": .uint32(151936),
                "tokenizer.ggml.eos_token_id": .uint32(151645),
            ]
        }
        var m3 = meta("qwen3")
        m3["qwen3.attention.key_length"] = .uint32(128)
        let c3 = try ModelConfig.fromGGUF(metadata: m3, file: "q.gguf", hasOutputWeight: false, ropeFreqFactors: nil)
        XCTAssertEqual(c3.family, .qwen3)
        XCTAssertEqual(c3.headDim, 128)
        XCTAssertEqual(c3.ropePairing, .halfSplit)
        XCTAssertEqual(c3.ropeTheta, 1_000_000)
        let c2 = try ModelConfig.fromGGUF(metadata: meta("qwen2"), file: "q.gguf", hasOutputWeight: false, ropeFreqFactors: nil)
        XCTAssertEqual(c2.family, .qwen2)
        XCTAssertEqual(c2.headDim, 64)
        XCTAssertEqual(c2.ropePairing, .halfSplit)
        var moe = meta("qwen2")
        moe["qwen2.expert_count"] = .uint32(60)
        XCTAssertThrowsError(try ModelConfig.fromGGUF(metadata: moe, file: "q.gguf", hasOutputWeight: false, ropeFreqFactors: nil)) {
            XCTAssertTrue("\($0)".contains("qwen2.expert_count is 60"), "\($0)")
        }
        var qwen2moe = meta("qwen2moe")
        qwen2moe["general.architecture"] = .string("qwen2moe")
        XCTAssertThrowsError(try ModelConfig.fromGGUF(metadata: qwen2moe, file: "q.gguf", hasOutputWeight: false, ropeFreqFactors: nil)) {
            XCTAssertTrue("\($0)".contains("general.architecture is \"qwen2moe\""), "\($0)")
        }
    }

    /// The graph names the family's nodes as llama.cpp's qwen2 / qwen3 builders do, and reads their tensors.
    func testGraphNodesByFamily() throws {
        let q2 = try parse(qwen25), q3 = try parse(qwen3)
        let g2 = Graph.llama(q2), g3 = Graph.llama(q3)
        XCTAssertEqual(g2.node(named: "Qcur_mm-0")?.op, .matmul(weight: "blk.0.attn_q.weight"))
        XCTAssertEqual(g2.node(named: "Qcur-0")?.op, .bias(weight: "blk.0.attn_q.bias"))
        XCTAssertEqual(g2.node(named: "Qcur-0")?.inputs, ["Qcur_mm-0"])
        XCTAssertEqual(g2.node(named: "Vcur-0")?.inputs, ["Vcur_mm-0"])
        XCTAssertEqual(g2.node(named: "Qrope-0")?.inputs, ["Qcur-0"])
        XCTAssertEqual(g2.node(named: "kqv_out-0")?.inputs, ["Qrope-0", "Krope-0", "Vcur-0"])
        XCTAssertNil(g2.node(named: "Qcur_normed-0"))
        XCTAssertTrue(g2.weightShapes.contains { $0.name == "blk.23.attn_k.bias" && $0.shape == [128] })

        XCTAssertEqual(g3.node(named: "Qcur-0")?.op, .matmul(weight: "blk.0.attn_q.weight"))
        XCTAssertEqual(g3.node(named: "Qcur_normed-0")?.op, .headNorm(weight: "blk.0.attn_q_norm.weight", heads: 16, eps: 1e-6))
        XCTAssertEqual(g3.node(named: "Kcur_normed-0")?.op, .headNorm(weight: "blk.0.attn_k_norm.weight", heads: 8, eps: 1e-6))
        XCTAssertEqual(g3.node(named: "Qrope-0")?.inputs, ["Qcur_normed-0"])
        XCTAssertEqual(g3.node(named: "Krope-0")?.inputs, ["Kcur_normed-0"])
        XCTAssertEqual(g3.node(named: "attn_out-0")?.width, 1024)
        XCTAssertTrue(g3.weightShapes.contains { $0.name == "blk.27.attn_q_norm.weight" && $0.shape == [128] })
        XCTAssertTrue(g3.weightShapes.contains { $0.name == "blk.0.attn_q.weight" && $0.shape == [2048, 1024] })
        XCTAssertFalse(g3.weightShapes.contains { $0.name.hasSuffix(".bias") })
        XCTAssertEqual(ToleranceTable.kernelOp(for: g2.node(named: "Kcur-3")!, rows: 1), "bias")
        XCTAssertEqual(ToleranceTable.kernelOp(for: g3.node(named: "Kcur_normed-3")!, rows: 1), "headnorm")
        XCTAssertNotNil(ToleranceTable.standard.bound(op: "bias", dtype: .bf16, mode: .teacherForced))
        XCTAssertEqual(ToleranceTable.standard.bound(op: "headnorm", dtype: .bf16, mode: .teacherForced)?.op, "headnorm")
        XCTAssertEqual(canonicalTensorName(forHF: "model.layers.3.self_attn.k_norm.weight"), "blk.3.attn_k_norm.weight")
        XCTAssertEqual(canonicalTensorName(forHF: "model.layers.3.self_attn.v_proj.bias"), "blk.3.attn_v.bias")
    }
}
