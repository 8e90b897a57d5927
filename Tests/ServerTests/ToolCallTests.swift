// Tool calling: OpenAI requests with tools render as transformers renders them (goldens), answers parse into tool_calls.
import Foundation
import Hummingbird
import Jinja
@testable import Server
import Tokenizers
import XCTest

final class ToolCallTests: XCTestCase {
    static let goldens = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../JinjaTests/Goldens/chat-templates.json").standardized
    static var templates: URL {
        let cache = ProcessInfo.processInfo.environment["NPULLAMA_CACHE"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/npu-llama")
        return cache.appendingPathComponent("llama.cpp-0.3.16/models/templates")
    }

    func request(_ json: String) throws -> ChatCompletionRequest {
        try RequestDecoding.decode(ChatCompletionRequest.self, from: ByteBuffer(string: json))
    }

    func templateServed(_ source: String, bos: String? = nil, eos: String? = nil) throws -> ServedModel {
        let t = ModelChatTemplate(template: try ChatTemplate(source: source), origin: "test", bosToken: bos, eosToken: eos)
        return ServedModel(id: "m", created: 0, tokenizer: ByteTokenizer(), chat: .template(t), contextLength: 1 << 16, deviceLabel: "test")
    }

    /// Every OpenAI request of the goldens × Llama 3.1/3.2, Qwen2.5, Qwen3, Hermes 3: the prompt text equals
    /// transformers' (jinja2's) rendering, or both raise.
    func testOpenAIToolRequestsRenderAsTransformers() throws {
        guard FileManager.default.fileExists(atPath: Self.templates.path) else {
            throw XCTSkip("llama.cpp's templates are not at \(Self.templates.path) (Tools/setup.sh fetches them)")
        }
        let doc = try JinjaJSONReader.parse(String(decoding: try Data(contentsOf: Self.goldens), as: UTF8.self))
        guard case .dict(let root) = doc, case .dict(let requests)? = root["openai_requests"],
              case .list(let cases, _)? = root["openai_cases"], case .string(let dateText)? = root["date"],
              let date = JinjaDate(iso: dateText) else { return XCTFail("malformed goldens file") }
        var checked = 0
        for c in cases {
            guard case .dict(let d) = c, case .string(let name)? = d["template"], case .string(let req)? = d["request"],
                  case .dict(var body)? = requests[req] else { return XCTFail("malformed case") }
            body["model"] = .string("m")
            let text = try PyJSONDumps().dumps(.dict(body))
            let source = String(decoding: try Data(contentsOf: Self.templates.appendingPathComponent(name)), as: UTF8.self)
            let bos = d["bos_token"]?.pyStr, eos = d["eos_token"]?.pyStr
            let served = try templateServed(source, bos: bos, eos: eos)
            let r = try request(text)
            guard case .template(let t)? = served.chat, let (messages, tools) = try r.toolPromptObjects(prompt: served.chat!, body: text) else {
                return XCTFail("\(name) × \(req): no tool prompt")
            }
            let rendered = Result { try t.template.render(messages: messages, tools: tools, addGenerationPrompt: true,
                                                          bosToken: bos, eosToken: eos, date: date) }
            switch (rendered, d["output"]) {
            case (.success(let ours), .string(let expected)?):
                XCTAssertEqual(Array(ours.unicodeScalars), Array(expected.unicodeScalars), "\(name) × \(req)\n ours: \(ours)\n jinja2: \(expected)")
                // and through the request path: the ids are the tokenizer's encoding of that text
                XCTAssertEqual(try r.validated(for: served, body: text).promptIDs.count, try ByteTokenizer().encode(expected, addBOS: false, allowSpecial: true).count)
            case (.failure, nil):
                XCTAssertThrowsError(try r.validated(for: served, body: text), "\(name) × \(req)") { e in
                    XCTAssertEqual((e as? OpenAIError)?.status.code, 400)
                }
            case (.success(let ours), _): XCTFail("\(name) × \(req): rendered \(ours); jinja2 raised \(d["error"]?.pyRepr ?? "")")
            case (.failure(let e), _): XCTFail("\(name) × \(req): raised \(e); jinja2 rendered")
            }
            checked += 1
        }
        XCTAssertEqual(checked, 15)
        print("openai tool requests: \(checked) cases equal transformers' rendering")
    }

    func testRefusals() throws {
        let tools = #""tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}]"#
        let user = #""model":"m","messages":[{"role":"user","content":"hi"}]"#
        let noTools = try templateServed("{% for m in messages %}{{ m.content }}{% endfor %}")
        let qwen = try templateServed("{% if tools %}{{ tools|tojson }}{% endif %}{% for m in messages %}<tool_call>{{ m.content }}{% endfor %}")
        let plain = TestModels.byteServed(context: 256)
        func code(_ served: ServedModel, _ json: String) -> (Int, String?)? {
            let json = json.replacingOccurrences(of: #""model":"m""#, with: #""model":"\#(served.id)""#)
            do { _ = try request(json).validated(for: served, body: json); return nil } catch let e as OpenAIError {
                return (e.status.code, e.param)
            } catch { return (0, "\(error)") }
        }
        XCTAssertEqual(code(noTools, "{\(user),\(tools)}")?.1, "tools")                           // template never reads tools
        XCTAssertEqual(code(plain, "{\(user),\(tools)}")?.1, "tools")                             // built-in format
        XCTAssertNil(code(qwen, "{\(user),\(tools),\"stream\":true}"))                            // streamed calls
        XCTAssertEqual(code(qwen, "{\(user),\(tools),\"stream\":true,\"logprobs\":true}")?.1, "logprobs")
        XCTAssertNil(code(qwen, "{\(user),\(tools),\"stream\":true,\"tool_choice\":\"none\"}"))   // not parsed: streams
        XCTAssertNil(code(qwen, "{\(user),\(tools),\"tool_choice\":\"auto\"}"))
        XCTAssertEqual(code(qwen, "{\(user),\(tools),\"tool_choice\":\"required\"}")?.1, "tool_choice")
        XCTAssertEqual(code(qwen, "{\(user),\(tools),\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"f\"}}}")?.1, "tool_choice")
        XCTAssertEqual(code(qwen, "{\(user),\"tools\":[{\"type\":\"retrieval\",\"function\":{\"name\":\"f\"}}]}")?.1, "tools.0.type")
        let badArgs = #"{"model":"m","messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"1","type":"function","function":{"name":"f","arguments":"{not json"}}]}]}"#
        XCTAssertEqual(code(qwen, badArgs)?.1, "messages.0.tool_calls.0.function.arguments")
        let noID = #"{"model":"m","messages":[{"role":"tool","content":"x"}]}"#
        XCTAssertEqual(code(qwen, noID)?.1, "messages.0.tool_call_id")
        XCTAssertEqual(code(plain, #"{"model":"m","messages":[{"role":"tool","tool_call_id":"1","content":"x"}]}"#)?.1, "messages.0.role")
    }

    func testLlama3JSONCalls() {
        let p = ToolCallSyntax.llama3JSON
        XCTAssertEqual(p.parse(#"{"name": "get_weather", "parameters": {"city": "Paris", "n": [1, 2.5]}}"#).calls,
                       [.init(name: "get_weather", arguments: #"{"city":"Paris","n":[1,2.5]}"#, id: nil)])
        let typed = p.parse(" \n{\"type\": \"function\", \"name\": \"f\", \"parameters\": {}} \nafter")
        XCTAssertEqual(typed.calls, [.init(name: "f", arguments: "{}", id: nil)])
        XCTAssertEqual(typed.content, "after")
        for text in ["Sure: {\"name\": \"f\", \"parameters\": {}}",       // not at the start
                     "{\"name\": \"f\", \"parameters\":{}}",               // llama.cpp's regex wants ": " before the value
                     "{\"name\": \"f\", \"parameters\": {\"a\": ",          // cut off
                     "{\"name\": \"f\", \"arguments\": {}}", "plain answer", ""] {
            XCTAssertEqual(p.parse(text).calls, [], text)
            XCTAssertEqual(p.parse(text).content, text)
        }
    }

    func testHermesCalls() {
        let p = ToolCallSyntax.hermes
        let two = p.parse("Let me check.\n<tool_call>\n{\"name\": \"a\", \"arguments\": {\"x\": \"日本\"}}\n</tool_call>\n<tool_call>{\"name\": \"b\", \"arguments\": {}, \"id\": \"own\"}</tool_call>")
        XCTAssertEqual(two.calls, [.init(name: "a", arguments: #"{"x":"日本"}"#, id: nil), .init(name: "b", arguments: "{}", id: "own")])
        XCTAssertEqual(two.content, "Let me check.\n")
        let bare = p.parse("{\"name\": \"a\", \"arguments\": {\"k\": 1}} done")
        XCTAssertEqual(bare.calls, [.init(name: "a", arguments: #"{"k":1}"#, id: nil)])
        XCTAssertEqual(bare.content, "done")
        for text in ["<tool_call>{\"name\": \"a\", \"arguments\": {}}", "<tool_call>{\"name\": \"a\", \"argu", "no calls <b>", "<tool_call>{\"name\": 5}</tool_call>"] {
            XCTAssertEqual(p.parse(text).calls, [], text)
            XCTAssertEqual(p.parse(text).content, text)
        }
        XCTAssertEqual(ToolCallSyntax.newCallID().count, 32)
    }

    /// The message and finish_reason the endpoint answers with, byte for byte (ids are random: checked apart).
    func testAnswerMessages() throws {
        let plain = ToolCallSyntax.answer("Hi \"there\"", finish: .stop, syntax: .hermes)
        XCTAssertEqual(plain.message.serialized(), #"{"role":"assistant","content":"Hi \"there\"","refusal":null}"#)
        XCTAssertEqual(ToolCallSyntax.hermes.parse("Hi {\"name\": \"x\"}").calls, [.init(name: "x", arguments: "", id: nil)])
        XCTAssertEqual(plain.finish, "stop")
        let call = ToolCallSyntax.answer("<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": 1}}\n</tool_call>", finish: .stop, syntax: .hermes)
        XCTAssertEqual(call.finish, "tool_calls")
        let text = call.message.serialized()
        let id = try XCTUnwrap(text.range(of: #""id":""#)).upperBound
        let callID = String(text[id...].prefix(32))
        XCTAssertEqual(text, #"{"role":"assistant","content":null,"refusal":null,"tool_calls":[{"id":"\#(callID)","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]}"#)
        let cut = ToolCallSyntax.answer(#"{"name": "f", "parameters": {}} and"#, finish: .length, syntax: .llama3JSON)
        XCTAssertEqual(cut.finish, "length")
        XCTAssertTrue(cut.message.serialized().contains(#""content":"and""#))
        XCTAssertEqual(ToolCallSyntax.answer("<tool_call>{\"name\": \"f\", \"arguments\": {}}</tool_call>", finish: .stop, syntax: nil).finish, "stop")
    }

    /// What a streamed answer with tools sends as content as its tokens arrive, and what the end parses.
    func testStreamedCalls() {
        let h = ToolCallStream(syntax: .hermes)
        var streamed = ""
        for piece in ["Let", " me check", " <b>", "ok</b> ", "<tool", "_call>\n{\"na", "me\": \"f\", \"arguments\": {\"a\": 1}}", "\n</tool_call>"] {
            streamed += h.feed(piece)
        }
        XCTAssertEqual(streamed, "Let me check <b>ok</b> ")
        let end = h.finish(tail: "", reason: .stop)
        XCTAssertEqual(end.content, "")
        XCTAssertEqual(end.calls, [.init(name: "f", arguments: #"{"a":1}"#, id: nil)])
        XCTAssertEqual(end.finish, "tool_calls")
        let plain = ToolCallStream(syntax: .hermes)
        XCTAssertEqual(["a {b} ", "<i>", "c"].map(plain.feed).joined(), "a {b} <i>c")
        XCTAssertEqual(plain.finish(tail: "!", reason: .length).finish, "length")
        let l = ToolCallStream(syntax: .llama3JSON)
        XCTAssertEqual([" ", "{\"name\": \"f\", ", "\"parameters\": {}}"].map(l.feed).joined(), "")
        XCTAssertEqual(l.finish(tail: "", reason: .stop).calls, [.init(name: "f", arguments: "{}", id: nil)])
        let text = ToolCallStream(syntax: .llama3JSON)
        XCTAssertEqual(["Hello", " {\"name\": \"f\", \"parameters\": {}}"].map(text.feed).joined(), "Hello {\"name\": \"f\", \"parameters\": {}}")
        XCTAssertEqual(text.finish(tail: "", reason: .stop).calls, [])
    }
}
