// Every real chat template of llama.cpp's set × every conversation, byte for byte against transformers' jinja2 rendering.

import Foundation
import XCTest
import Jinja
@testable import Tokenizers

final class ChatTemplateGoldenTests: XCTestCase {
    static let goldens = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Goldens/chat-templates.json")

    static var templatesDirectory: URL {
        let cache = ProcessInfo.processInfo.environment["NPULLAMA_CACHE"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/npu-llama")
        return cache.appendingPathComponent("llama.cpp-0.3.16/models/templates")
    }

    func testEveryTemplateAndConversation() throws {
        let doc = try JinjaJSONReader.parse(String(decoding: try Data(contentsOf: Self.goldens), as: UTF8.self))
        guard case .dict(let root) = doc, case .dict(let conversations)? = root["conversations"],
              case .list(let cases, _)? = root["cases"], case .string(let dateText)? = root["date"],
              let date = JinjaDate(iso: dateText) else { return XCTFail("malformed goldens file") }
        guard FileManager.default.fileExists(atPath: Self.templatesDirectory.path) else {
            throw XCTSkip("llama.cpp's templates are not at \(Self.templatesDirectory.path) (Tools/setup.sh fetches them)")
        }
        var compiled: [String: Result<ChatTemplate, Error>] = [:]
        var passed = 0, failures: [String] = []
        for c in cases {
            guard case .dict(let d) = c, case .string(let name)? = d["template"], case .string(let conv)? = d["conversation"],
                  case .bool(let add)? = d["add_generation_prompt"], case .dict(let conversation)? = conversations[conv],
                  case .list(let messages, _)? = conversation["messages"] else { return XCTFail("malformed case") }
            let label = "\(name) × \(conv) × add_generation_prompt=\(add)"
            if compiled[name] == nil {
                let url = Self.templatesDirectory.appendingPathComponent(name)
                compiled[name] = Result { try ChatTemplate(source: String(decoding: try Data(contentsOf: url), as: UTF8.self)) }
            }
            var tools: [JinjaValue]?
            if case .list(let t, _)? = conversation["tools"] { tools = t }
            let rendered = Result {
                try compiled[name]!.get().render(messages: messages, tools: tools, addGenerationPrompt: add,
                                                 bosToken: d["bos_token"]?.pyStr, eosToken: d["eos_token"]?.pyStr, date: date)
            }
            switch (rendered, d["output"], d["error"]) {
            case (.success(let text), .string(let expected)?, _):
                if text.unicodeScalars.elementsEqual(expected.unicodeScalars) { passed += 1 } else {
                    failures.append("\(label): differs at character \(firstDifference(text, expected))\n--- ours\n\(text)\n--- jinja2\n\(expected)")
                }
            case (.failure(let e), _, .dict(let err)?):
                // jinja2 raised too; raise_exception's message must match
                if case .string("TemplateError")? = err["type"], let je = e as? JinjaError,
                   !(je.kind == .raised && je.message == err["message"]?.pyStr) {
                    failures.append("\(label): raised \(e), jinja2 raised TemplateError(\(err["message"]?.pyStr ?? ""))")
                } else {
                    passed += 1
                }
            case (.success(let text), _, .dict(let err)?):
                failures.append("\(label): rendered \(text.count) characters, jinja2 raised \(err["type"]?.pyStr ?? ""): \(err["message"]?.pyStr ?? "")")
            case (.failure(let e), _, _):
                failures.append("\(label): raised \(e)")
            default:
                failures.append("\(label): malformed case")
            }
        }
        print("chat template goldens: \(passed) of \(cases.count) cases equal jinja2's")
        for f in failures.prefix(12) { XCTFail(f) }
        XCTAssertEqual(failures.count, 0, "\(failures.count) of \(cases.count) cases differ")
    }

    private func firstDifference(_ a: String, _ b: String) -> Int {
        let x = Array(a.unicodeScalars), y = Array(b.unicodeScalars)
        return zip(x, y).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(x.count, y.count)
    }
}
