// SentencePiece-style tokenizer.json (Llama 2 / Mistral layouts) and Qwen2's byte-level layout, exact against HF tokenizers.
import XCTest
@testable import Tokenizers

/// Goldens by Tools/tokenizer/make_spm_goldens.py: HF tokenizers' ids and decodes for the committed
/// tokenizer.json files (Golden/tokenizer/spm-*.tokenizer.json, trained-qwen2-layout.tokenizer.json).
final class SentencePieceJSONTests: XCTestCase {
    static let extra: [String: String] = {
        let j = try! Golden.json("spm-extra-texts.json")
        return j["extra"] as! [String: String]
    }()

    static func text(_ name: String) -> String {
        extra[name] ?? Golden.text(name)
    }

    func load(_ layout: String) throws -> any Tokenizer {
        let path = Repo.golden("\(layout).tokenizer.json")
        return try TokenizerLoader.tokenizerJSON(FileBytes.read(path), file: path)
    }

    /// Every golden case, plain and special, then every decode, then streaming equals decode.
    func check(_ layout: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let t = try load(layout)
        let golden = try Golden.json("\(layout).json")
        XCTAssertEqual(t.vocabularySize, golden["vocabulary_size"] as? Int, file: file, line: line)
        let cases = golden["cases"] as! [String: Any]
        var checked = 0
        for name in cases.keys.sorted() {
            let text = Self.text(name)
            for special in [false, true] {
                let want = Golden.ids(golden, name, special: special)
                let got = try t.encode(text, addBOS: false, allowSpecial: special)
                XCTAssertEqual(got, want, "\(layout) \(name) special=\(special)", file: file, line: line)
                checked += 1
                // Streaming decode, token by token, joins to the whole decode (no broken UTF-8 on the way).
                var stream = StreamingDecoder(tokenizer: t, startOfText: true)
                var joined = ""
                for id in want {
                    let piece = try stream.append(id)
                    XCTAssertFalse(piece.unicodeScalars.contains("\u{FFFD}") && !text.contains("\u{FFFD}"),
                                   "\(layout) \(name): streaming emitted U+FFFD", file: file, line: line)
                    joined += piece
                }
                joined += stream.finish()
                XCTAssertEqual(joined, try t.decode(want), "\(layout) \(name) streaming", file: file, line: line)
            }
        }
        for d in golden["decodes"] as! [[String: Any]] {
            XCTAssertEqual(try t.decode(d["ids"] as! [Int]), d["text"] as? String, "\(layout) decode \(d["ids"]!)",
                           file: file, line: line)
        }
        let withBOS = golden["with_bos"] as! [String: Any]
        XCTAssertEqual(try t.encode(withBOS["text"] as! String, addBOS: t.addsBOSByDefault, allowSpecial: false),
                       withBOS["ids"] as! [Int], "\(layout) with BOS", file: file, line: line)
        print("\(layout): \(checked) encodes and \((golden["decodes"] as! [Any]).count) decodes equal HF tokenizers")
    }

    func testLlama2LegacyLayout() throws {
        try check("spm-legacy")
        XCTAssertTrue(try load("spm-legacy") is SentencePieceJSONTokenizer)
    }

    func testTransformersMetaspaceLayout() throws { try check("spm-metaspace") }
    func testMetaspaceSplitLayout() throws { try check("spm-metaspace-split") }

    func testQwen2Layout() throws {
        try check("trained-qwen2-layout")
        let t = try XCTUnwrap(try load("trained-qwen2-layout") as? BytePairTokenizer)
        XCTAssertEqual(t.engine.preTokenizer, .llama3Like(digits: 1, foldLongS: true))
        XCTAssertTrue(t.engine.normalizeNFC)
        XCTAssertTrue(t.kind.contains("qwen2"), t.kind)
    }

    func testKinds() throws {
        XCTAssertTrue(try load("spm-legacy").kind.contains("SentencePiece-style BPE"))
        XCTAssertTrue(try load("spm-metaspace").kind.contains("prepend_scheme \"first\""))
    }

    /// A Split regex we do not reproduce is refused, quoting it.
    func testUnknownSplitRegexIsRefusedByName() throws {
        var j = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Repo.golden("trained-qwen2-layout.tokenizer.json")))) as! [String: Any]
        var pre = j["pre_tokenizer"] as! [String: Any]
        var steps = pre["pretokenizers"] as! [[String: Any]]
        steps[0]["pattern"] = ["Regex": "\\p{L}+|[0-9]"]
        pre["pretokenizers"] = steps
        j["pre_tokenizer"] = pre
        let data = try JSONSerialization.data(withJSONObject: j)
        XCTAssertThrowsError(try TokenizerLoader.tokenizerJSON(Array(data), file: "x.json")) {
            XCTAssertTrue("\($0)".contains("Split regex \"\\p{L}+|[0-9]\" is not one we reproduce"), "\($0)")
        }
    }
}
