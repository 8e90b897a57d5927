// ModelConfig from HF config.json and GGUF metadata: values, llama3 rope scaling, errors naming keys.
import XCTest
import Foundation
@testable import LlamaCore

final class ModelConfigTests: XCTestCase {
    let llama32 = """
    {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 2048,
     "intermediate_size": 8192, "num_hidden_layers": 16, "num_attention_heads": 32,
     "num_key_value_heads": 8, "head_dim": 64, "rms_norm_eps": 1e-05, "rope_theta": 500000.0,
     "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
       "original_max_position_embeddings": 8192, "rope_type": "llama3"},
     "max_position_embeddings": 131072, "tie_word_embeddings": true, "vocab_size": 128256,
     "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009], "hidden_act": "silu",
     "attention_bias": false, "mlp_bias": false, "torch_dtype": "bfloat16"}
    """

    func parse(_ text: String) throws -> ModelConfig {
        try ModelConfig.fromHFConfig(data: Data(text.utf8), file: "config.json")
    }

    func testLlama32Config() throws {
        let c = try parse(llama32)
        XCTAssertEqual(c.hiddenSize, 2048)
        XCTAssertEqual(c.groupSize, 4)
        XCTAssertEqual(c.kvDim, 512)
        XCTAssertTrue(c.tiedEmbeddings)
        XCTAssertEqual(c.eosTokenIDs, [128001, 128008, 128009])
        XCTAssertEqual(c.ropePairing, .halfSplit)
        XCTAssertEqual(c.ropeScaling, .llama3(factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalContext: 8192))
    }

    /// The llama3 rule from REFERENCE.md §1, evaluated independently in Double per frequency.
    func testLlama3RopeScalingFollowsTheWavelengthRule() throws {
        let c = try parse(llama32)
        let inv = c.ropeInverseFrequencies()
        XCTAssertEqual(inv.count, 32)
        var regimes = Set<String>()
        for i in 0..<32 {
            let f = 1 / pow(500000.0, Double(2 * i) / 64)
            let wavelen = 2 * Double.pi / f
            let expected: Double
            if wavelen < 8192.0 / 4 { expected = f; regimes.insert("high") }
            else if wavelen > 8192.0 / 1 { expected = f / 32; regimes.insert("low") }
            else {
                let s = (8192 / wavelen - 1) / (4 - 1)
                expected = (1 - s) * f / 32 + s * f
                regimes.insert("blend")
            }
            XCTAssertEqual(Double(inv[i]), expected, accuracy: expected * 2e-6, "frequency \(i)")
        }
        XCTAssertEqual(regimes, ["high", "low", "blend"], "all three regimes are exercised")
        XCTAssertEqual(Double(inv[0]), 1, accuracy: 0)
        XCTAssertEqual(Double(inv[31]), 1 / pow(500000.0, 62.0 / 64) / 32, accuracy: 1e-12)
    }

    func testTransformers5RopeParameters() throws {
        let text = llama32.replacingOccurrences(of: "\"rope_scaling\"", with: "\"rope_parameters\"")
            .replacingOccurrences(of: "\"rope_type\": \"llama3\"}", with: "\"rope_type\": \"llama3\", \"rope_theta\": 250000.0}")
        let c = try parse(text)
        XCTAssertEqual(c.ropeTheta, 250000)
        XCTAssertEqual(c.ropeScaling, .llama3(factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalContext: 8192))
    }

    func assertError(_ text: String, _ kind: ModelFileError.Kind, mentions key: String,
                     file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try parse(text), file: file, line: line) { error in
            guard let e = error as? ModelFileError else { return XCTFail("\(error)", file: file, line: line) }
            XCTAssertEqual(e.kind, kind, "\(e)", file: file, line: line)
            XCTAssertTrue(e.description.hasPrefix("config.json: "), "\(e)", file: file, line: line)
            XCTAssertTrue(e.message.contains(key), "\(e) should name \(key)", file: file, line: line)
        }
    }

    func testBadConfigsNameTheKey() {
        assertError(llama32.replacingOccurrences(of: "\"hidden_size\": 2048,", with: ""), .missingKey, mentions: "hidden_size")
        assertError(llama32.replacingOccurrences(of: "\"num_key_value_heads\": 8", with: "\"num_key_value_heads\": 7"),
                    .inconsistent, mentions: "num_key_value_heads")
        assertError(llama32.replacingOccurrences(of: "\"rope_type\": \"llama3\"", with: "\"rope_type\": \"yarn\""),
                    .badValue, mentions: "rope_scaling.rope_type")
        assertError(llama32.replacingOccurrences(of: "\"factor\": 32.0,", with: ""), .missingKey, mentions: "rope_scaling.factor")
        assertError(llama32.replacingOccurrences(of: "\"vocab_size\": 128256", with: "\"vocab_size\": \"many\""),
                    .badValue, mentions: "vocab_size")
        assertError(llama32.replacingOccurrences(of: "LlamaForCausalLM", with: "GPT2LMHeadModel"), .badValue, mentions: "architectures")
        assertError(llama32.replacingOccurrences(of: "\"head_dim\": 64", with: "\"head_dim\": 63"), .inconsistent, mentions: "head_dim")
        assertError(llama32.replacingOccurrences(of: "\"rms_norm_eps\": 1e-05", with: "\"rms_norm_eps\": -1"), .inconsistent, mentions: "rms_norm_eps")
        assertError(llama32.replacingOccurrences(of: "128009]", with: "999999]"), .inconsistent, mentions: "eos_token_id")
        assertError(llama32.replacingOccurrences(of: "\"attention_bias\": false", with: "\"attention_bias\": true"), .badValue, mentions: "attention_bias")
        assertError("[1, 2]", .badHeader, mentions: "JSON object")
        assertError("{\"hidden_size\": ", .badHeader, mentions: "JSON")
    }

    func testGGUFMetadataConfig() throws {
        let meta: [String: GGUFValue] = [
            "general.architecture": .string("llama"), "llama.embedding_length": .uint32(576),
            "llama.feed_forward_length": .uint32(1536), "llama.block_count": .uint32(30),
            "llama.attention.head_count": .uint32(9), "llama.attention.head_count_kv": .uint32(3),
            "llama.rope.freq_base": .float32(100000), "llama.attention.layer_norm_rms_epsilon": .float32(1e-5),
            "llama.context_length": .uint32(8192), "llama.vocab_size": .uint32(49152),
            "llama.rope.dimension_count": .uint32(64), "tokenizer.ggml.bos_token_id": .uint32(1),
            "tokenizer.ggml.eos_token_id": .uint32(2),
        ]
        let c = try ModelConfig.fromGGUF(metadata: meta, file: "m.gguf", hasOutputWeight: false, ropeFreqFactors: nil)
        XCTAssertEqual(c.headDim, 64)
        XCTAssertEqual(c.groupSize, 3)
        XCTAssertEqual(c.ropePairing, .adjacent)
        XCTAssertTrue(c.tiedEmbeddings)
        XCTAssertEqual(c.ropeTheta, 100000)
        XCTAssertEqual(c.eosTokenIDs, [2])

        var missing = meta
        missing["llama.block_count"] = nil
        XCTAssertThrowsError(try ModelConfig.fromGGUF(metadata: missing, file: "m.gguf", hasOutputWeight: false, ropeFreqFactors: nil)) {
            XCTAssertEqual("\($0)", "m.gguf: metadata key llama.block_count is missing")
        }
        var wrongArch = meta
        wrongArch["general.architecture"] = .string("gemma2")
        XCTAssertThrowsError(try ModelConfig.fromGGUF(metadata: wrongArch, file: "m.gguf", hasOutputWeight: false, ropeFreqFactors: nil)) {
            XCTAssertTrue("\($0)".contains("general.architecture is \"gemma2\""))
        }
        let factors = (0..<32).map { Float($0 < 10 ? 1 : 32) }
        let scaled = try ModelConfig.fromGGUF(metadata: meta, file: "m.gguf", hasOutputWeight: true, ropeFreqFactors: factors)
        XCTAssertFalse(scaled.tiedEmbeddings)
        XCTAssertEqual(scaled.ropeInverseFrequencies()[20], c.ropeInverseFrequencies()[20] / 32)
        XCTAssertThrowsError(try ModelConfig.fromGGUF(metadata: meta, file: "m.gguf", hasOutputWeight: true, ropeFreqFactors: [1, 2])) {
            XCTAssertTrue("\($0)".contains("rope_freqs.weight"))
        }
    }
}
