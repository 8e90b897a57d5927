// A streamed answer with tools: content streams until text that may open a tool call, which is held and parsed at the end.
import Foundation

/// Per streamed request (its chunks are made one at a time, in order). Text is streamed as content while it cannot
/// be the start of a call in the template's syntax; from the first text that may open one (`<tool_call>` and the
/// other tags llama.cpp's Hermes parser knows, or `{"name"`; for Llama 3.x only an answer that starts with `{`),
/// it is held, and at the end parsed: content first, then each call as one `tool_calls` delta
/// (`index`, `id`, `type`, `function.name`, the whole `function.arguments`), as OpenAI's deltas concatenate.
final class ToolCallStream: @unchecked Sendable {
    let syntax: ToolCallSyntax
    private let lock = NSLock()
    private var held = ""
    private var emitted = ""

    init(syntax: ToolCallSyntax) { self.syntax = syntax }

    /// The content to stream now for a token's text.
    func feed(_ text: String) -> String {
        lock.lock()
        defer { lock.unlock() }
        held += text
        var out = ""
        switch syntax {
        case .llama3JSON:
            // a call only at the very start of the answer (common_chat_parse_llama_3_1's start-only regex)
            let start = emitted.isEmpty ? held.drop(while: { $0.isWhitespace }) : Substring("x")
            if start.isEmpty || start.hasPrefix("{") { return "" }
            out = held
            held = ""
        case .hermes:
            while !held.isEmpty && !Self.mayOpenCall(held) {
                let rest = held.dropFirst()
                let cut = rest.firstIndex(where: { $0 == "<" || $0 == "{" }) ?? held.endIndex
                out += held[..<cut]
                held = String(held[cut...])
            }
        }
        emitted += out
        return out
    }

    /// The held text (with the answer's tail) parsed: the rest of the content, the calls, the finish reason.
    func finish(tail: String, reason: FinishReason) -> (content: String, calls: [ToolCallSyntax.Call], finish: String) {
        lock.lock()
        defer { lock.unlock() }
        let text = held + tail
        held = ""
        if syntax == .llama3JSON && !emitted.isEmpty { return (text, [], reason.rawValue) }
        let (content, calls) = syntax.parse(text)
        return (content, calls, !calls.isEmpty && reason == .stop ? "tool_calls" : reason.rawValue)
    }

    private static let openTags = ["<tool_call>", "<function_call>", "<tool>", "<tools>", "<response>", "<json>", "<xml>", "<JSON>", ""]

    /// Whether `s` (starting with `<` or `{`, or any text) may still grow into an open tag then `{"name"`.
    static func mayOpenCall(_ s: String) -> Bool {
        for tag in openTags {
            if !tag.isEmpty && tag.hasPrefix(s) { return true }
            guard s.hasPrefix(tag) else { continue }
            let rest = s.dropFirst(tag.count).filter { !$0.isWhitespace }
            let head = "{\"name\""
            if head.hasPrefix(rest) || rest.hasPrefix(head) { return true }
        }
        return false
    }
}
