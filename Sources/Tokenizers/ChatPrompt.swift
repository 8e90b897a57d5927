// How a chat becomes a prompt: the model's own Jinja template, or a built-in format the user picked by name.

import Jinja

public enum ChatPrompt: Sendable {
    /// The model's own template (GGUF or HF), rendered as transformers' apply_chat_template does.
    case template(ModelChatTemplate)
    /// A built-in format, chosen explicitly (`--chat-format NAME`).
    case builtin(ChatFormat, name: String)

    /// The built-in formats by the names `--chat-format` takes.
    public static let builtinFormats: [(name: String, format: ChatFormat)] = [
        ("llama3", .llama3), ("chatml", .chatml(defaultSystemPrompt: nil)), ("smollm2", .smolLM2),
    ]

    public static func builtin(named name: String) -> ChatPrompt? {
        builtinFormats.first { $0.name == name }.map { .builtin($0.format, name: $0.name) }
    }

    /// For messages: which template or format this is.
    public var summary: String {
        switch self {
        case .template(let t):
            let n = t.template.source.unicodeScalars.count
            if t.origin.hasPrefix("--") { return "the template given by \(t.origin) (\(n) characters)" }
            return "the model's own template (\(t.origin), \(n) characters)"
        case .builtin(_, let name): return "built-in format \(name)"
        }
    }

    /// The prompt text. `date` fixes what a template's `strftime_now` sees (default: now).
    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool, date: JinjaDate? = nil) throws -> String {
        switch self {
        case .template(let t):
            return try t.template.render(messages, addGenerationPrompt: addGenerationPrompt, bosToken: t.bosToken,
                                         eosToken: t.eosToken, date: date)
        case .builtin(let format, _):
            return format.render(messages: messages, addGenerationPrompt: addGenerationPrompt)
        }
    }

    /// The prompt as ids. A template's text is encoded as transformers' apply_chat_template(tokenize=True) does:
    /// no BOS added (the template writes it) and text spelling a special token becomes that token. A built-in
    /// format keeps message text as text (ChatFormat.encode).
    public func encode(_ messages: [ChatMessage], addGenerationPrompt: Bool, tokenizer: any Tokenizer,
                       date: JinjaDate? = nil) throws -> [Int] {
        switch self {
        case .template:
            return try tokenizer.encode(try render(messages, addGenerationPrompt: addGenerationPrompt, date: date),
                                        addBOS: false, allowSpecial: true)
        case .builtin(let format, _):
            return try format.encode(messages: messages, addGenerationPrompt: addGenerationPrompt, tokenizer: tokenizer)
        }
    }

    /// The prompt as ids for message objects as transformers' apply_chat_template(messages, tools=...) takes them
    /// (tool calls, tool results); only a model's own template can render them (nil for a built-in format).
    public func encode(messageObjects messages: [JinjaValue], tools: [JinjaValue]?, addGenerationPrompt: Bool,
                       tokenizer: any Tokenizer, date: JinjaDate? = nil) throws -> [Int]? {
        guard case .template(let t) = self else { return nil }
        let text = try t.template.render(messages: messages, tools: tools, addGenerationPrompt: addGenerationPrompt,
                                         bosToken: t.bosToken, eosToken: t.eosToken, date: date)
        return try tokenizer.encode(text, addBOS: false, allowSpecial: true)
    }

    /// End-of-turn tokens a template's text uses that the tokenizer has as special tokens.
    static let endOfTurnTexts = ["<|eot_id|>", "<|eom_id|>", "<|im_end|>", "<end_of_turn>", "<|end|>", "<|endoftext|>",
                                 "<｜end▁of▁sentence｜>", "</s>", "<|END_OF_TURN_TOKEN|>", "<|return|>", "<|call|>",
                                 "<|im_end|>", "<|end_of_text|>"]

    /// Tokens that end the assistant's turn: the tokenizer's EOS set, the template's eos_token, and the known
    /// end-of-turn tokens its text writes; a built-in format's own (ChatFormat.stopTokenIDs).
    public func stopTokenIDs(_ tokenizer: any Tokenizer) -> Set<Int> {
        switch self {
        case .template(let t):
            var ids = tokenizer.eosIDs
            for text in Self.endOfTurnTexts + [t.eosToken].compactMap({ $0 })
            where t.template.source.contains(text) || text == t.eosToken {
                if let id = tokenizer.specialTokenID(text) { ids.insert(id) }
            }
            return ids
        case .builtin(let format, _):
            return format.stopTokenIDs(tokenizer)
        }
    }
}
