// A model's own Jinja chat template, rendered with the variables transformers' apply_chat_template passes.

import Jinja

/// A chat template from the model (GGUF `tokenizer.chat_template`, HF `chat_template`), compiled once.
public struct ChatTemplate: Sendable {
    public let source: String
    let template: JinjaTemplate

    /// Compiles `source`; a syntax error, an unknown filter or test, or an unsupported construct names its line.
    public init(source: String) throws {
        self.source = source
        template = try JinjaTemplate(source)
    }

    /// The prompt text for `messages` (a list of message objects). As transformers does (chat_template_utils:
    /// `_normalize_chat_messages`, `_alias_reasoning_fields`, `render_jinja_template`, and apply_chat_template's
    /// special-token variables): keys whose value is null are dropped, a reasoning field is also given as
    /// `thinking` and `reasoning_content`; `tools` and `documents` are none when absent.
    public func render(messages: [JinjaValue], tools: [JinjaValue]? = nil, addGenerationPrompt: Bool,
                       bosToken: String?, eosToken: String?, date: JinjaDate? = nil,
                       extra: [String: JinjaValue] = [:]) throws -> String {
        var variables = extra
        variables["messages"] = .list(try messages.map(Self.normalized))
        variables["tools"] = tools.map { .list($0) } ?? JinjaValue.none
        variables["documents"] = JinjaValue.none
        variables["add_generation_prompt"] = .bool(addGenerationPrompt)
        if let bosToken { variables["bos_token"] = .string(bosToken) }
        if let eosToken { variables["eos_token"] = .string(eosToken) }
        return try template.render(variables, now: date ?? .now())
    }

    /// Plain role/content messages.
    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool, bosToken: String?, eosToken: String?,
                       date: JinjaDate? = nil) throws -> String {
        try render(messages: messages.map { .dict(JinjaDict([("role", .string($0.role)), ("content", .string($0.content))])) },
                   addGenerationPrompt: addGenerationPrompt, bosToken: bosToken, eosToken: eosToken, date: date)
    }

    /// Whether the template reads the `tools` variable (a word `tools` outside any longer name in its source):
    /// a template without it cannot show tools to the model.
    public var readsTools: Bool {
        let u = Array(source.unicodeScalars)
        let word = Array("tools".unicodeScalars)
        func isName(_ c: Unicode.Scalar) -> Bool { c == "_" || c.properties.isAlphabetic || ("0"..."9").contains(c) }
        guard u.count >= word.count else { return false }
        for i in 0...(u.count - word.count) where u[i] == "t" && Array(u[i..<(i + word.count)]) == word {
            if (i == 0 || !isName(u[i - 1])) && (i + word.count == u.count || !isName(u[i + word.count])) { return true }
        }
        return false
    }

    private static let reasoningFields = ["reasoning_content", "thinking", "reasoning"]

    static func normalized(_ message: JinjaValue) throws -> JinjaValue {
        guard case .dict(let d) = message else {
            throw JinjaError(.type, "Chat messages should be dicts, but got \(message.pyRepr)")
        }
        var kept = JinjaDict()
        for (k, v) in d.pairs where !v.isNone { kept[k] = v }
        guard let reasoning = reasoningFields.lazy.compactMap({ kept[$0] }).first else { return .dict(kept) }
        var aliased = JinjaDict()
        aliased["thinking"] = reasoning
        for (k, v) in kept.pairs { aliased[k] = v }
        aliased["reasoning_content"] = reasoning
        return .dict(aliased)
    }
}
