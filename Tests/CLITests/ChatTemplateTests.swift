// `--chat` and `chat` with a model whose chat template is broken: an error naming the template and its line, not a missing token.
import XCTest
import Foundation
import LlamaCore

extension CLITests {
    /// SmolLM2's GGUF with its `tokenizer.chat_template` value rewritten in place (same length, so every offset holds):
    /// its `message['role']` respelled as a filter no Jinja has (`message|xyzabcd`), the tokenizer's own tokens untouched.
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
        let role = try XCTUnwrap(template.range(of: "message['role']"), "SmolLM2's template prints each message's role")
        template.replaceSubrange(role, with: "message|xyzabcd")
        let replaced = Array(template.utf8)
        XCTAssertEqual(replaced.count, length, "the rewritten template keeps its length")
        bytes.replaceSubrange(valueAt..<(valueAt + length), with: replaced)
        let path = dir + "/foreign-template.gguf"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    func testABrokenChatTemplateIsNamedWithItsLine() throws {
        try requireSmolLM2()
        let model = try smolLM2WithForeignTemplate(in: try temporaryDirectory())
        for args in [["generate", "--chat", "hi"], ["chat"]] {
            let r = try run(args + ["--device", "reference", "--model", model], input: "hi\n")
            XCTAssertEqual(r.status, 65, r.stderr)
            XCTAssertTrue(r.stderr.contains("template line 3: No filter named 'xyzabcd'."), r.stderr)
            XCTAssertFalse(r.stderr.contains("special token"), "not reported as a missing special token: \(r.stderr)")
        }
        // The file is otherwise SmolLM2 as before (its tokenizer reads the same), and inspect says the template is unusable.
        XCTAssertEqual(try run(["tokenize", "--model", model, "The capital of France is"]).stdout, "504 3575 282 4649 314\n")
        XCTAssertTrue(try run(["inspect", model]).stdout.contains("chat template: present but not usable"))
    }
}
