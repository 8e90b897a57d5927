// Llama 3 tokenizer.model (tiktoken) against tiktoken's own output.
import XCTest
@testable import Tokenizers

final class Llama3TiktokenTests: XCTestCase {
    func tokenizer() throws -> TiktokenTokenizer { try Loaded.llama3.get() }

    func testReferenceEncodingFromREFERENCE() throws {
        let t = try tokenizer()
        let text = "Hello, world! The quick brown fox jumps over 12345 lazy dogs. 日本語 🦙"
        XCTAssertEqual(try t.encode(text, addBOS: true, allowSpecial: false),
                       [128000, 9906, 11, 1917, 0, 578, 4062, 14198, 39935, 35308, 927, 220, 4513,
                        1774, 16053, 12875, 13, 105180, 102158, 11410, 99, 247])
    }

    func testVocabularyAndSpecialTokens() throws {
        let t = try tokenizer()
        XCTAssertEqual(t.vocabularySize, 128256)
        XCTAssertEqual(t.baseVocabularySize, 128000)
        XCTAssertEqual(t.bosID, 128000)
        XCTAssertEqual(t.eosIDs, [128001, 128008, 128009])
        XCTAssertEqual(t.specialTokenID("<|eot_id|>"), 128009)
        XCTAssertEqual(t.specialTokenID("<|start_header_id|>"), 128006)
        XCTAssertEqual(t.specialTokenID("<|finetune_right_pad_id|>"), 128004)
        XCTAssertEqual(t.specialTokenID("<|python_tag|>"), 128010)
        XCTAssertEqual(t.specialTokenID("<|reserved_special_token_245|>"), 128255)
        XCTAssertEqual(t.piece(128009), "<|eot_id|>")
        XCTAssertNil(t.piece(128256))
    }

    func testCorpusMatchesTiktoken() throws {
        try GoldenChecks.assertCorpus(tokenizer(), golden: Golden.json("llama3-tiktoken.json"), label: "llama3")
    }

    func testDecodeRoundTrips() throws {
        try GoldenChecks.assertRoundTrip(tokenizer(), golden: Golden.json("llama3-tiktoken.json"))
    }

    func testPartialCharacterDecodesMatchTiktoken() throws {
        try GoldenChecks.assertDecodes(tokenizer(), golden: Golden.json("llama3-tiktoken.json"))
    }

    func testSpecialTokenTextStaysTextUnlessAllowed() throws {
        let t = try tokenizer()
        let plain = try t.encode("a<|eot_id|>b", addBOS: false, allowSpecial: false)
        XCTAssertFalse(plain.contains(128009))
        XCTAssertEqual(try t.decode(plain), "a<|eot_id|>b")
        XCTAssertEqual(try t.encode("a<|eot_id|>b", addBOS: false, allowSpecial: true), [64, 128009, 65])
    }
}
