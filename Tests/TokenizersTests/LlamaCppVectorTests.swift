// Every case of llama.cpp's own tokenizer test vectors (models/ggml-vocab-*.gguf.inp/.out) against our GGUF tokenizers.
import Foundation
import LlamaCore
import XCTest
@testable import Tokenizers

/// llama.cpp's test vocabularies with their vectors, as `tests/test-tokenizer-0.cpp` runs them: the `.inp` cases
/// split on "\n__ggml_vocab_test__\n", each tokenized without BOS and without parsing special tokens, must equal
/// the `.out` line exactly. The files come from the llama-cpp-python 0.3.16 sdist (sha256-checked by
/// Tools/tokenizer/fetch_llama_cpp_assets.py); the tests skip with the reason when they are absent.
final class LlamaCppVectorTests: XCTestCase {
    static var directory: String { ModelCache.llamaCppModels }

    static func require(_ name: String) throws -> String {
        let path = directory + "/" + name
        guard FileManager.default.fileExists(atPath: path) else {
            throw XCTSkip("\(path) is absent (\(ModelCache.llamaCppFetchHint))")
        }
        return path
    }

    /// (input, expected ids) pairs of a vocabulary's vectors, in file order.
    static func vectors(_ vocab: String) throws -> [(String, [Int])] {
        let inp = try String(contentsOfFile: require("ggml-vocab-\(vocab).gguf.inp"), encoding: .utf8)
        let out = try String(contentsOfFile: require("ggml-vocab-\(vocab).gguf.out"), encoding: .utf8)
        var inputs = inp.components(separatedBy: "\n__ggml_vocab_test__\n")
        if inputs.last == "" { inputs.removeLast() }   // the file ends with a separator
        var lines = out.components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        XCTAssertEqual(inputs.count, lines.count, "\(vocab): .inp and .out disagree on the number of cases")
        return zip(inputs, lines).map { input, line in
            (input, line.split(separator: " ").map { Int($0)! })
        }
    }

    static func tokenizer(_ vocab: String) throws -> any Tokenizer {
        let path = try require("ggml-vocab-\(vocab).gguf")
        return try TokenizerLoader.gguf(metadata: GGUFFile(path: path).metadata, file: path)
    }

    /// Runs every case; reports each failing one and prints the pass count.
    func check(_ vocab: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let t = try Self.tokenizer(vocab)
        var passed = 0
        let cases = try Self.vectors(vocab)
        for (input, want) in cases {
            let got = try t.encode(input, addBOS: false, allowSpecial: false)
            if got == want { passed += 1; continue }
            XCTFail("\(vocab): \(String(reflecting: input)): got \(got) want \(want)", file: file, line: line)
        }
        print("llama.cpp vectors \(vocab): \(passed)/\(cases.count) pass")
        XCTAssertGreaterThan(cases.count, 0)
    }

    func testLlamaSPM() throws { try check("llama-spm") }
    func testPhi3() throws { try check("phi-3") }
    func testLlamaBPE() throws { try check("llama-bpe") }
    func testQwen2() throws { try check("qwen2") }
    func testGPT2() throws { try check("gpt-2") }
    func testStarCoder() throws { try check("starcoder") }
    func testFalcon() throws { try check("falcon") }
    func testDeepSeekLLM() throws { try check("deepseek-llm") }
    func testDeepSeekCoder() throws { try check("deepseek-coder") }
    func testMPT() throws { try check("mpt") }
    func testRefact() throws { try check("refact") }
    func testCommandR() throws { try check("command-r") }

    /// The vocabularies we do not tokenize are refused by name.
    func testUnsupportedVocabulariesAreRefusedByName() throws {
        for (vocab, fragment) in [("bert-bge", "\"bert\" (WordPiece (BERT)) is not supported"),
                                  ("nomic-bert-moe", "\"t5\" (Unigram (T5)) is not supported")] {
            let path = try Self.require("ggml-vocab-\(vocab).gguf")
            XCTAssertThrowsError(try TokenizerLoader.gguf(metadata: GGUFFile(path: path).metadata, file: path)) {
                XCTAssertTrue("\($0)".contains(fragment), "\($0)")
            }
        }
    }

    /// The vocabularies without vectors load (llama.cpp's "default" pre-tokenizer for those without a name).
    func testVocabulariesWithoutVectorsLoad() throws {
        for vocab in ["gpt-neox", "aquila", "baichuan"] {
            let t = try Self.tokenizer(vocab)
            let ids = try t.encode("Hello world, 12345 !!", addBOS: false, allowSpecial: false)
            XCTAssertFalse(ids.isEmpty)
            XCTAssertTrue(try t.decode(ids).hasSuffix("Hello world, 12345 !!"))
        }
    }
}
