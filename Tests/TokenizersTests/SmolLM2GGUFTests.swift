// SmolLM2's GGUF tokenizer metadata (GPT-2 BPE, pre "smollm") against HF tokenizers' output.
import LlamaCore
import XCTest
@testable import Tokenizers

final class SmolLM2GGUFTests: XCTestCase {
    func tokenizer() throws -> BytePairTokenizer { try Loaded.smolLM2.get() }

    func testMetadataSettings() throws {
        let t = try tokenizer()
        XCTAssertEqual(t.vocabularySize, 49152)
        XCTAssertEqual(t.bosID, 1)
        // llama.cpp's end-of-generation set: EOS <|im_end|>, <|endoftext|> by name, <reponame> as FIM repo token.
        XCTAssertEqual(t.eosIDs, [0, 2, 4])
        XCTAssertEqual(t.padID, 2)
        XCTAssertFalse(t.addsBOSByDefault)
        XCTAssertEqual(t.specialTokenID("<|im_start|>"), 1)
        XCTAssertEqual(t.specialTokenID("<|im_end|>"), 2)
        XCTAssertEqual(t.specialTokenID("<|endoftext|>"), 0)
        XCTAssertEqual(t.chatTemplate, try Golden.json("smollm2-hf.json")["chat_template"] as? String)
        XCTAssertEqual(t.engine.preTokenizer, .gpt2SingleDigits)
    }

    func testDigitsAreSplitOneByOne() throws {
        let t = try tokenizer()
        let ids = try t.encode("x 2024")
        XCTAssertEqual(try ids.map { try t.decode([$0]) }, ["x", " ", "2", "0", "2", "4"])
    }

    func testCorpusMatchesHFTokenizers() throws {
        try GoldenChecks.assertCorpus(tokenizer(), golden: Golden.json("smollm2-hf.json"), label: "smollm2")
    }

    func testDecodeRoundTrips() throws {
        try GoldenChecks.assertRoundTrip(tokenizer(), golden: Golden.json("smollm2-hf.json"))
    }

    func testPartialCharacterDecodesMatchHF() throws {
        try GoldenChecks.assertDecodes(tokenizer(), golden: Golden.json("smollm2-hf.json"))
    }
}
