// HF tokenizer.json loading: a committed trained vocabulary, plus the big ones when present locally.
import XCTest
@testable import Tokenizers

final class TokenizerJSONTests: XCTestCase {
    func trained() throws -> BytePairTokenizer {
        try BytePairTokenizer(tokenizerJSON: Repo.golden("trained-llama3-layout.tokenizer.json"))
    }

    func testTrainedLlama3LayoutSettings() throws {
        let t = try trained()
        let golden = try Golden.json("trained-llama3-layout.json")
        XCTAssertEqual(t.vocabularySize, golden["vocabulary_size"] as? Int)
        XCTAssertEqual(t.engine.preTokenizer, .llama3)
        XCTAssertTrue(t.engine.wholePieceFirst)
        XCTAssertTrue(t.addsBOSByDefault)
        XCTAssertEqual(t.bosID, t.specialTokenID("<|begin_of_text|>"))
        let withBOS = golden["with_bos"] as! [String: Any]
        XCTAssertEqual(try t.encode(withBOS["text"] as! String, addBOS: true, allowSpecial: false), withBOS["ids"] as! [Int])
    }

    func testTrainedLlama3LayoutCorpusMatchesHFTokenizers() throws {
        try GoldenChecks.assertCorpus(trained(), golden: Golden.json("trained-llama3-layout.json"), label: "trained")
        try GoldenChecks.assertRoundTrip(trained(), golden: Golden.json("trained-llama3-layout.json"))
    }

    /// tokenizer.json written by Tools/tokenizer/make_goldens.py next to the GGUF (the reference `tokenizers`
    /// object saved): must give the same ids as the GGUF path's goldens.
    func testSmolLM2TokenizerJSONMatchesGoldens() throws {
        let gguf = try ModelFiles.require(ModelFiles.smolLM2GGUF, env: "NPULLAMA_SMOLLM2_GGUF")
        let path = String(gguf.dropLast(".gguf".count)) + ".tokenizer.json"
        guard FileManager.default.fileExists(atPath: path) else {
            throw XCTSkip("\(path) is absent (written by Tools/tokenizer/make_goldens.py)")
        }
        let t = try BytePairTokenizer(tokenizerJSON: path)
        XCTAssertEqual(t.engine.preTokenizer, .gpt2SingleDigits)
        try GoldenChecks.assertCorpus(t, golden: Golden.json("smollm2-hf.json"), label: "smollm2 json")
    }

    /// Llama 3 tokenizer.json as transformers converts tokenizer.model (written by make_goldens.py):
    /// must give tiktoken's ids.
    func testLlama3TokenizerJSONMatchesTiktoken() throws {
        let model = try ModelFiles.require(ModelFiles.llama3TokenizerModel, env: "NPULLAMA_LLAMA3_TOKENIZER")
        let path = URL(fileURLWithPath: model).deletingLastPathComponent().appendingPathComponent("tokenizer.json").path
        guard FileManager.default.fileExists(atPath: path) else {
            throw XCTSkip("\(path) is absent (written by Tools/tokenizer/make_goldens.py)")
        }
        let t = try BytePairTokenizer(tokenizerJSON: path)
        XCTAssertEqual(t.vocabularySize, 128256)
        XCTAssertEqual(t.bosID, 128000)
        XCTAssertTrue(t.eosIDs.isSuperset(of: [128001, 128009]))
        try GoldenChecks.assertCorpus(t, golden: Golden.json("llama3-tiktoken.json"), label: "llama3 json")
    }
}
