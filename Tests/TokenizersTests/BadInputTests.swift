// Bad input: invalid UTF-8, unknown ids, malformed tokenizer.model / GGUF metadata / tokenizer.json.
import Foundation
import LlamaCore
import XCTest
@testable import Tokenizers

final class BadInputTests: XCTestCase {
    // MARK: tiny synthetic vocabularies

    /// A tiktoken file: the 256 bytes (less `droppingByte`), then "ab", "abc"; extra lines appended verbatim.
    static func tiktokenFile(extra: [String] = [], droppingByte: Int? = nil) -> [UInt8] {
        var tokens = (0..<256).map { [UInt8($0)] } + [Array("ab".utf8), Array("abc".utf8)]
        if let droppingByte { tokens.remove(at: droppingByte) }
        var lines = tokens.enumerated().map { i, t in base64(t) + " \(i)" }
        lines += extra
        return Array((lines.joined(separator: "\n") + "\n").utf8)
    }

    static func base64(_ b: [UInt8]) -> String { Data(b).base64EncodedString() }

    static let byteSpellings = (0..<256).map { String(ByteLevelAlphabet.scalarForByte[$0]) }

    static func ggufMetadata(merges: [String] = ["a b", "ab c"]) -> [String: GGUFValue] {
        let tokens = ["<|endoftext|>"] + byteSpellings + ["ab", "abc"]
        return [
            "tokenizer.ggml.model": .string("gpt2"),
            "tokenizer.ggml.pre": .string("smollm"),
            "tokenizer.ggml.tokens": .array(tokens.map { .string($0) }),
            "tokenizer.ggml.token_type": .array([.int32(3)] + Array(repeating: .int32(1), count: tokens.count - 1)),
            "tokenizer.ggml.merges": .array(merges.map { .string($0) }),
            "tokenizer.ggml.eos_token_id": .uint32(0),
        ]
    }

    func assertFileError(_ kind: ModelFileError.Kind, _ fragment: String, file: String = "test.model",
                         _ body: () throws -> Any, line: UInt = #line) {
        XCTAssertThrowsError(try body(), line: line) { error in
            guard let e = error as? ModelFileError else { return XCTFail("\(error) is not a ModelFileError", line: line) }
            XCTAssertEqual(e.kind, kind, e.description, line: line)
            XCTAssertEqual(e.file, file, line: line)
            XCTAssertTrue(e.description.contains(fragment), "\"\(e.description)\" lacks \"\(fragment)\"", line: line)
        }
    }

    // MARK: encode / decode input

    func testInvalidUTF8BytesFailOrAreReplaced() throws {
        let t = try TiktokenTokenizer(modelFile: Self.tiktokenFile(), file: "test.model")
        let bytes: [UInt8] = [0x61, 0x62, 0xFF, 0x63, 0xE2, 0x82]
        XCTAssertThrowsError(try t.encode(bytes: bytes, addBOS: false, allowSpecial: false, invalidUTF8: .fail)) {
            XCTAssertEqual($0 as? TokenizerError, .invalidUTF8(byteOffset: 2))
        }
        let replaced = try t.encode(bytes: bytes, addBOS: false, allowSpecial: false, invalidUTF8: .replace)
        XCTAssertEqual(replaced, try t.encode("ab\u{FFFD}c\u{FFFD}"))
        XCTAssertEqual(try t.encode(bytes: Array("abc".utf8), addBOS: true, allowSpecial: false, invalidUTF8: .fail),
                       [t.bosID!, 257])
    }

    func testDecodeOutOfRangeIdsThrow() throws {
        let t = try TiktokenTokenizer(modelFile: Self.tiktokenFile(), file: "test.model")
        for id in [-1, t.vocabularySize, Int.max] {
            XCTAssertThrowsError(try t.decode([97, id])) {
                XCTAssertEqual($0 as? TokenizerError, .tokenIDOutOfRange(id: id, vocabularySize: t.vocabularySize))
            }
        }
        XCTAssertNil(t.piece(-1))
    }

    func testBOSWithoutBOSTokenThrows() throws {
        // llama.cpp's byte-level default BOS is token 11 unless the pre-type clears it (chatglm).
        XCTAssertEqual(try BytePairTokenizer(ggufMetadata: Self.ggufMetadata(), file: "x.gguf").bosID, 11)
        var m = Self.ggufMetadata()
        m["tokenizer.ggml.pre"] = .string("chatglm-bpe")
        let t = try BytePairTokenizer(ggufMetadata: m, file: "x.gguf")
        XCTAssertNil(t.bosID)
        XCTAssertThrowsError(try t.encode("a", addBOS: true, allowSpecial: false)) {
            XCTAssertEqual($0 as? TokenizerError, .noBOSToken)
        }
    }

    // MARK: tokenizer.model

    func testSyntheticTiktokenWorks() throws {
        let t = try TiktokenTokenizer(modelFile: Self.tiktokenFile(), file: "test.model")
        XCTAssertEqual(t.baseVocabularySize, 258)
        XCTAssertEqual(try t.encode("abc abd"), [257, 32, 256, 100])
    }

    func testMalformedTiktokenLines() {
        let cases: [([UInt8], ModelFileError.Kind, String)] = [
            (Self.tiktokenFile(extra: ["YWJj"]), .badValue, "line 259: expected"),
            (Self.tiktokenFile(extra: ["!!!! 258"]), .badValue, "line 259: token is not valid base64"),
            (Self.tiktokenFile(extra: ["eHl6 12x"]), .badValue, "line 259: rank \"12x\""),
            (Self.tiktokenFile(extra: ["eHl6 3"]), .badValue, "line 259: rank 3 appears twice"),
            (Self.tiktokenFile(extra: ["YWI= 300"]), .badValue, "line 259: token appears twice"),
            (Self.tiktokenFile(extra: ["eHl6 300"]), .inconsistent, "rank 258 is missing"),
            ([], .badValue, "no tokens"),
        ]
        for (data, kind, fragment) in cases {
            assertFileError(kind, fragment) { try TiktokenTokenizer(modelFile: data, file: "test.model") }
        }
    }

    func testTiktokenWithoutAllBytesIsRejected() {
        assertFileError(.inconsistent, "byte 0x41 has no token") {
            try TiktokenTokenizer(modelFile: Self.tiktokenFile(droppingByte: 0x41), file: "test.model")
        }
    }

    func testMissingFileIsNamed() {
        assertFileError(.notFound, "file not found", file: "/nonexistent/tokenizer.model") {
            try TiktokenTokenizer(path: "/nonexistent/tokenizer.model")
        }
    }

    // MARK: GGUF metadata

    func testSyntheticGGUFWorks() throws {
        let t = try BytePairTokenizer(ggufMetadata: Self.ggufMetadata(), file: "x.gguf")
        XCTAssertEqual(try t.encode("abc<|endoftext|>", addBOS: false, allowSpecial: true), [258, 0])
        XCTAssertEqual(t.eosIDs, [0])
    }

    func testMergeWithUnknownTokenIsRejected() {
        assertFileError(.inconsistent, "tokenizer.ggml.merges[1] \"ab zz\": \"zz\" is not in the vocabulary",
                        file: "x.gguf") {
            try BytePairTokenizer(ggufMetadata: Self.ggufMetadata(merges: ["a b", "ab zz"]), file: "x.gguf")
        }
        assertFileError(.inconsistent, "merged token \"bc\" is not in the vocabulary", file: "x.gguf") {
            try BytePairTokenizer(ggufMetadata: Self.ggufMetadata(merges: ["b c"]), file: "x.gguf")
        }
        assertFileError(.badMetadata, "tokenizer.ggml.merges: element 0", file: "x.gguf") {
            try BytePairTokenizer(ggufMetadata: Self.ggufMetadata(merges: ["abc"]), file: "x.gguf")
        }
    }

    func testUnsupportedOrMissingGGUFKeys() {
        var m = Self.ggufMetadata()
        m["tokenizer.ggml.model"] = .string("llama")
        assertFileError(.badMetadata, "\"llama\" is not byte-level BPE", file: "x.gguf") {
            try BytePairTokenizer(ggufMetadata: m, file: "x.gguf")
        }
        m["tokenizer.ggml.model"] = .string("bert")
        assertFileError(.badMetadata, "\"bert\" (WordPiece (BERT)) is not supported", file: "x.gguf") {
            try TokenizerLoader.gguf(metadata: m, file: "x.gguf")
        }
        m["tokenizer.ggml.model"] = .string("nonsense")
        assertFileError(.badMetadata, "\"nonsense\" is not a tokenizer llama.cpp knows", file: "x.gguf") {
            try TokenizerLoader.gguf(metadata: m, file: "x.gguf")
        }
        m = Self.ggufMetadata()
        m["tokenizer.ggml.pre"] = .string("kimi-k2")
        assertFileError(.badMetadata, "pre-tokenizer \"kimi-k2\" is not supported", file: "x.gguf") { try BytePairTokenizer(ggufMetadata: m, file: "x.gguf") }
        m["tokenizer.ggml.pre"] = .string("no-such-pre")
        assertFileError(.badMetadata, "pre-tokenizer \"no-such-pre\" is not supported: llama.cpp does not know it", file: "x.gguf") {
            try BytePairTokenizer(ggufMetadata: m, file: "x.gguf")
        }
        m = Self.ggufMetadata()
        m["tokenizer.ggml.tokens"] = nil
        assertFileError(.missingKey, "tokenizer.ggml.tokens is missing", file: "x.gguf") {
            try BytePairTokenizer(ggufMetadata: m, file: "x.gguf")
        }
        m = Self.ggufMetadata()
        // llama.cpp keeps its default for an out-of-range special id ("bad special token").
        m["tokenizer.ggml.bos_token_id"] = .uint32(9999)
        XCTAssertEqual(try BytePairTokenizer(ggufMetadata: m, file: "x.gguf").bosID, 11)
        m["tokenizer.ggml.bos_token_id"] = .int32(-1)
        assertFileError(.badMetadata, "bos_token_id: expected a non-negative integer", file: "x.gguf") {
            try BytePairTokenizer(ggufMetadata: m, file: "x.gguf")
        }
    }

    // MARK: tokenizer.json

    func testMalformedTokenizerJSON() throws {
        let good = try Data(contentsOf: URL(fileURLWithPath: Repo.golden("trained-llama3-layout.tokenizer.json")))
        func edited(_ edit: (inout [String: Any]) -> Void) throws -> [UInt8] {
            var root = try JSONSerialization.jsonObject(with: good) as! [String: Any]
            edit(&root)
            return [UInt8](try JSONSerialization.data(withJSONObject: root))
        }
        func editModel(_ edit: @escaping (inout [String: Any]) -> Void) throws -> [UInt8] {
            try edited { root in
                var model = root["model"] as! [String: Any]
                edit(&model)
                root["model"] = model
            }
        }
        let cases: [([UInt8], ModelFileError.Kind, String)] = [
            (Array("{\"model\": ".utf8), .badHeader, "not valid JSON"),
            (Array("[1, 2]".utf8), .badHeader, "not a JSON object"),
            (try editModel { $0["type"] = "Unigram" }, .badValue, "model.type: \"Unigram\" (Unigram (T5, SentencePiece unigram)) is not supported"),
            (try edited { $0["pre_tokenizer"] = ["type": "Whitespace"] }, .badValue,
             "pre_tokenizer: {\"type\":\"Whitespace\"} is not supported"),
            (try editModel { $0["merges"] = [["Ġ", "zzzz"]] }, .inconsistent,
             "model.merges[0] \"Ġ zzzz\": \"zzzz\" is not in the vocabulary"),
            (try editModel { $0["merges"] = [7] }, .badValue, "model.merges[0]: expected"),
            (try editModel { $0["vocab"] = ["a": 0, "b": 2] }, .badValue, "model.vocab: id 2 leaves ids below it unused (2 tokens)"),
            (try edited { $0["added_tokens"] = [["id": 5, "content": "<x>", "lstrip": true]] }, .badValue,
             "added_tokens[0].lstrip: true is not supported"),
        ]
        for (data, kind, fragment) in cases {
            assertFileError(kind, fragment, file: "t.json") { try BytePairTokenizer(tokenizerJSON: data, file: "t.json") }
        }
    }

    // MARK: loader

    func testLoaderChoosesByFileKind() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tok-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = dir.appendingPathComponent("tokenizer.model")
        try Data(Self.tiktokenFile()).write(to: model)
        XCTAssertTrue(try TokenizerLoader.load(path: dir.path) is TiktokenTokenizer)
        XCTAssertTrue(try TokenizerLoader.load(path: Repo.golden("trained-llama3-layout.tokenizer.json")) is BytePairTokenizer)
        let gguf = dir.appendingPathComponent("m.gguf")
        try Data("GGUF\u{3}\0\0\0".utf8).write(to: gguf)
        XCTAssertThrowsError(try TokenizerLoader.load(path: gguf.path)) { error in
            XCTAssertEqual((error as? ModelFileError)?.kind, .truncated, "\(error)")
            XCTAssertEqual((error as? ModelFileError)?.file, gguf.path)
        }
        assertFileError(.notFound, "no tokenizer.json", file: dir.appendingPathComponent("sub").path) {
            try FileManager.default.createDirectory(at: dir.appendingPathComponent("sub"), withIntermediateDirectories: true)
            return try TokenizerLoader.load(path: dir.appendingPathComponent("sub").path)
        }
    }

    func testLoaderReadsTheTokenizerOfAGGUF() throws {
        let path = try ModelFiles.require(ModelFiles.smolLM2GGUF, env: "NPULLAMA_SMOLLM2_GGUF")
        let tokenizer = try TokenizerLoader.load(path: path)
        XCTAssertTrue(tokenizer is BytePairTokenizer)
        XCTAssertEqual(tokenizer.vocabularySize, 49152)
        XCTAssertEqual(try tokenizer.encode("The capital of France is"), try Loaded.smolLM2.get().encode("The capital of France is"))
    }
}
