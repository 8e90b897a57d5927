// `--chat` and `chat` with a chat template npu-llama does not render: an error about the template, not a missing token.
import XCTest
import Foundation
import LlamaCore

extension CLITests {
    /// SmolLM2's GGUF with its `tokenizer.chat_template` value rewritten in place (same length, so every offset holds):
    /// the ChatML and SmolLM markers spelled differently, the tokenizer's own tokens untouched.
    func smolLM2WithForeignTemplate(in dir: String) throws -> String {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: ModelCache.smolLM2GGUF)))
        let key = Array("tokenizer.chat_template".utf8)
        let keyAt = try XCTUnwrap((0...(bytes.count - key.count)).first { bytes[$0..<($0 + key.count)].elementsEqual(key) },
                                  "SmolLM2's GGUF has a chat template")
        // key, then the value: u32 type (8 = string), u64 length, the bytes.
        let lengthAt = keyAt + key.count + 4
        let length = (0..<8).reduce(0) { $0 | Int(bytes[lengthAt + $1]) << (8 * $1) }
        let valueAt = lengthAt + 8
        var template = String(decoding: bytes[valueAt..<(valueAt + length)], as: UTF8.self)
        XCTAssertTrue(template.contains("<|im_start|>"))
        template = template.replacingOccurrences(of: "<|im_start|>", with: "[[turn_open]")
            .replacingOccurrences(of: "named SmolLM", with: "named XmolLM")
        let replaced = Array(template.utf8)
        XCTAssertEqual(replaced.count, length, "the rewritten template keeps its length")
        bytes.replaceSubrange(valueAt..<(valueAt + length), with: replaced)
        let path = dir + "/foreign-template.gguf"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    func testAnUnrecognisedChatTemplateIsNamedAsSuch() throws {
        try requireSmolLM2()
        let model = try smolLM2WithForeignTemplate(in: try temporaryDirectory())
        for args in [["generate", "--chat", "hi"], ["chat"]] {
            let r = try run(args + ["--device", "reference", "--model", model], input: "hi\n")
            XCTAssertEqual(r.status, 65, r.stderr)
            XCTAssertTrue(r.stderr.contains("its chat template (tokenizer.chat_template,")
                          && r.stderr.contains("is neither Llama 3's headers (<|start_header_id|>) nor ChatML (<|im_start|>)"), r.stderr)
            XCTAssertFalse(r.stderr.contains("special token"), "not reported as a missing special token: \(r.stderr)")
        }
        // The file is otherwise SmolLM2 as before (its tokenizer reads the same).
        XCTAssertEqual(try run(["tokenize", "--model", model, "The capital of France is"]).stdout, "504 3575 282 4649 314\n")
        XCTAssertTrue(try run(["inspect", model]).stdout.contains("not one npu-llama renders"))
    }
}
