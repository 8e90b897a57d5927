// The CPU reference against HF's fp32 goldens of the tiny TinyLlama/Mistral-style model (SentencePiece vocabulary, untied head).
import XCTest
import Foundation
import LlamaCore
@testable import ReferenceBackend

extension GoldenTests {
    /// From the HF folder: no head_dim key (hidden / heads = 16), theta 10000, no rope scaling, untied LM head.
    func testTinyLlamaSPMFromSafetensorsMatchesGoldens() throws {
        let model = try LoadedModel.open(path: Self.golden("tiny-llama-spm/model"))
        XCTAssertEqual(model.config.headDim, 16)
        XCTAssertEqual(model.config.ropeTheta, 10000)
        XCTAssertEqual(model.config.ropeScaling, RopeScaling.none)
        XCTAssertFalse(model.config.tiedEmbeddings)
        XCTAssertEqual(model.config.ropePairing, .halfSplit)
        XCTAssertEqual(model.config.vocabSize, 32000)
        try check(model: model, golden: GoldenSet(directory: Self.golden("tiny-llama-spm")), bound: GoldenBounds.tinyNMSE)
    }

    /// From its GGUF (adjacent pairing, q/k rows permuted, output.weight, no key_length key): the same goldens.
    func testTinyLlamaSPMFromGGUFMatchesGoldens() throws {
        let model = try LoadedModel.open(path: Self.golden("tiny-llama-spm/tiny-llama-spm.bf16.gguf"))
        XCTAssertEqual(model.config.headDim, 16)
        XCTAssertEqual(model.config.kvHeadCount, 1)
        XCTAssertEqual(model.config.ropePairing, .adjacent)
        XCTAssertEqual(model.config.ropeScaling, RopeScaling.none)
        XCTAssertFalse(model.config.tiedEmbeddings)
        let golden = try GoldenSet(directory: Self.golden("tiny-llama-spm"))
        XCTAssertEqual(golden.cases.map(\.name), ["text", "chat"])
        try check(model: model, golden: golden, bound: GoldenBounds.tinyNMSE)
    }
}
