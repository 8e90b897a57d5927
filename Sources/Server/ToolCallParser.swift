// Tool calls in a model's answer, found where llama.cpp's common/chat.cpp finds them: Llama 3.x JSON and Hermes/Qwen <tool_call>.
import Foundation
import Jinja

/// How a chat template's model writes a tool call (llama.cpp common/chat.cpp: common_chat_parse_llama_3_1 and
/// common_chat_parse_hermes_2_pro), chosen from the template's text.
enum ToolCallSyntax: String, Sendable {
    /// `{"name": "f", "parameters": {...}}` at the very start of the answer; one call, any text after it is content.
    case llama3JSON = "Llama 3.x JSON"
    /// `<tool_call>{"name": "f", "arguments": {...}}</tool_call>`, any number, with content around them.
    case hermes = "Hermes/Qwen <tool_call>"

    /// The syntax a template teaches its model: `<tool_call>` (Qwen2.5, Qwen3, Hermes 2 Pro), else Llama 3.x's
    /// headers with `"parameters"` (Llama 3.1/3.2/3.3); nil for any other template (Mistral's [TOOL_CALLS], ...).
    static func of(templateSource s: String) -> ToolCallSyntax? {
        if s.contains("<tool_call>") { return .hermes }
        if s.contains("<|start_header_id|>") && s.contains("parameters") { return .llama3JSON }
        return nil
    }

    struct Call: Equatable {
        var name: String
        /// The arguments as compact JSON text (what OpenAI's `function.arguments` holds).
        var arguments: String
        /// The model's own id for the call, when it wrote one (Hermes JSON may carry "id").
        var id: String?
    }

    /// The answer split into content and tool calls. Text that does not parse as a complete call stays content.
    func parse(_ text: String) -> (content: String, calls: [Call]) {
        switch self {
        case .llama3JSON: return Self.parseLlama3(text)
        case .hermes: return Self.parseHermes(text)
        }
    }

    // llama.cpp: function_regex `\s*\{\s*(?:"type"\s*:\s*"function"\s*,\s*)?"name"\s*:\s*"([^"]+)"\s*,\s*"parameters"\s*: `
    // anchored at the start, then the parameters' JSON, then close_regex `\}\s*`, then the rest is content.
    private static var llama3Head: Regex<AnyRegexOutput> { try! Regex(#"\s*\{\s*(?:"type"\s*:\s*"function"\s*,\s*)?"name"\s*:\s*"([^"]+)"\s*,\s*"parameters"\s*: "#) }

    private static func parseLlama3(_ text: String) -> (content: String, calls: [Call]) {
        guard let m = try? llama3Head.prefixMatch(in: text), let nameRange = m.output[1].range else { return (text, []) }
        let bytes = Array(text.utf8)
        let start = text.utf8.distance(from: text.startIndex, to: m.range.upperBound)
        guard let (args, end) = try? JinjaJSONReader.parsePrefix(bytes, from: start), let dumped = compact(args) else { return (text, []) }
        var i = end
        while i < bytes.count, isSpace(bytes[i]) { i += 1 }
        guard i < bytes.count, bytes[i] == UInt8(ascii: "}") else { return (text, []) }
        i += 1
        while i < bytes.count, isSpace(bytes[i]) { i += 1 }
        let rest = String(decoding: bytes[i...], as: UTF8.self)
        return (rest, [Call(name: String(text[nameRange]), arguments: dumped, id: nil)])
    }

    // llama.cpp open_regex (the JSON forms): an optional open tag, then `\s*\{\s*"name"`; the object's "arguments"
    // dumped as JSON, then the matching close tag.
    private static var hermesOpen: Regex<AnyRegexOutput> { try! Regex(#"(<tool_call>|<function_call>|<tool>|<tools>|<response>|<json>|<xml>|<JSON>)?(\s*\{\s*"name")"#) }

    private static func parseHermes(_ text: String) -> (content: String, calls: [Call]) {
        let bytes = Array(text.utf8)
        var content = ""
        var calls: [Call] = []
        var from = text.startIndex
        while from < text.endIndex, let m = try? hermesOpen.firstMatch(in: text[from...]) {
            let jsonStart = text.utf8.distance(from: text.startIndex, to: m.output[2].range!.lowerBound)
            guard let (value, end) = try? JinjaJSONReader.parsePrefix(bytes, from: jsonStart),
                  case .dict(let d) = value, case .string(let name)? = d["name"], !name.isEmpty else { break }
            // common_chat_msg_parser::add_tool_call(json): no "arguments" gives "", any other value its JSON dump
            guard let dumped = d["arguments"].map(compact) ?? "" else { break }
            var i = end
            while i < bytes.count, isSpace(bytes[i]) { i += 1 }
            if let open = m.output[1].substring {
                let close = Array(("</" + open.dropFirst()).utf8)
                guard i + close.count <= bytes.count, Array(bytes[i..<(i + close.count)]) == close else { break }
                i += close.count
                while i < bytes.count, isSpace(bytes[i]) { i += 1 }
            }
            content += text[from..<m.range.lowerBound]
            var id: String?
            if case .string(let s)? = d["id"] { id = s }
            calls.append(Call(name: name, arguments: dumped, id: id))
            from = text.utf8.index(text.utf8.startIndex, offsetBy: i)
        }
        content += text[from...]
        return (content, calls)
    }

    private static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 }

    /// nlohmann::ordered_json::dump(): compact, keys in the model's order, UTF-8 kept.
    private static func compact(_ v: JinjaValue) -> String? {
        var d = PyJSONDumps()
        d.separators = (",", ":")
        return try? d.dumps(v)
    }

    /// A chat answer's `message` object and `finish_reason`: with a syntax, calls found in the text become
    /// `tool_calls` (content null when nothing else was said) and an answer that ended by itself finishes with
    /// "tool_calls", as llama.cpp's server answers (tools/server/server.cpp to_json_oaicompat_chat).
    static func answer(_ text: String, finish: FinishReason, syntax: ToolCallSyntax?) -> (message: JSONValue, finish: String) {
        var (content, calls) = (text, [Call]())
        if let syntax { (content, calls) = syntax.parse(text) }
        var message: [(String, JSONValue)] = [("role", .string("assistant")),
                                              ("content", calls.isEmpty || !content.isEmpty ? .string(content) : .null),
                                              ("refusal", .null)]
        guard !calls.isEmpty else { return (.object(message), finish.rawValue) }
        message.append(("tool_calls", .array(calls.map { c in
            .object([("id", .string(c.id ?? newCallID())), ("type", .string("function")),
                     ("function", .object([("name", .string(c.name)), ("arguments", .string(c.arguments))]))])
        })))
        return (.object(message), finish == .stop ? "tool_calls" : finish.rawValue)
    }

    /// A call id as llama.cpp's server makes one (tools/server/utils.hpp gen_tool_call_id: 32 random [0-9A-Za-z]).
    static func newCallID() -> String {
        let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
        var rng = SystemRandomNumberGenerator()
        return String((0..<32).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] })
    }
}
