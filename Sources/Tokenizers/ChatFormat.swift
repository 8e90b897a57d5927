// Chat prompt formats: Llama 3.x headers and ChatML, rendered as text or encoded to ids, with stop tokens.

/// One chat message. `role` is "system", "user", "assistant" (or "ipython" for Llama 3 tool output).
public struct ChatMessage: Sendable, Equatable {
    public var role: String
    public var content: String

    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }
}

public enum ChatFormat: Sendable, Equatable {
    /// `<|begin_of_text|>` then per message `<|start_header_id|>ROLE<|end_header_id|>\n\nCONTENT<|eot_id|>`.
    case llama3
    /// `<|im_start|>ROLE\nCONTENT<|im_end|>\n` per message; if the first message is not a system message and
    /// `defaultSystemPrompt` is set, a system message with it comes first (as SmolLM2's template does).
    case chatml(defaultSystemPrompt: String?)

    /// SmolLM2-Instruct's template (GGUF `tokenizer.chat_template`).
    public static let smolLM2 = ChatFormat.chatml(
        defaultSystemPrompt: "You are a helpful AI assistant named SmolLM, trained by Hugging Face")

    /// A segment of a prompt: a special token (by its text) or ordinary text.
    enum Segment: Equatable {
        case special(String)
        case text(String)
    }

    func segments(_ messages: [ChatMessage], addGenerationPrompt: Bool) -> [Segment] {
        var out: [Segment] = []
        switch self {
        case .llama3:
            out.append(.special("<|begin_of_text|>"))
            let header = { (role: String) in
                out += [.special("<|start_header_id|>"), .text(role), .special("<|end_header_id|>")]
            }
            for m in messages {
                header(m.role)
                out += [.text("\n\n" + m.content), .special("<|eot_id|>")]
            }
            if addGenerationPrompt {
                header("assistant")
                out.append(.text("\n\n"))
            }
        case .chatml(let defaultSystemPrompt):
            var messages = messages
            if let defaultSystemPrompt, messages.first?.role != "system" {
                messages.insert(ChatMessage(role: "system", content: defaultSystemPrompt), at: 0)
            }
            for m in messages {
                out += [.special("<|im_start|>"), .text(m.role + "\n" + m.content), .special("<|im_end|>"), .text("\n")]
            }
            if addGenerationPrompt { out += [.special("<|im_start|>"), .text("assistant\n")] }
        }
        return out
    }

    /// The prompt as text (what the Jinja chat template renders).
    public func render(messages: [ChatMessage], addGenerationPrompt: Bool) -> String {
        segments(messages, addGenerationPrompt: addGenerationPrompt).map {
            switch $0 { case .special(let s), .text(let s): return s }
        }.joined()
    }

    /// The prompt as ids: the format's own special tokens as special ids, message text encoded as
    /// ordinary text, so a user typing `<|eot_id|>` cannot end a turn. Equals encoding `render(...)` with
    /// special tokens allowed whenever the contents spell no special token.
    public func encode(messages: [ChatMessage], addGenerationPrompt: Bool, tokenizer: any Tokenizer) throws -> [Int] {
        var ids: [Int] = []
        for s in segments(messages, addGenerationPrompt: addGenerationPrompt) {
            switch s {
            case .special(let t):
                guard let id = tokenizer.specialTokenID(t) else { throw TokenizerError.missingSpecialToken(t) }
                ids.append(id)
            case .text(let t):
                ids += try tokenizer.encode(t, addBOS: false, allowSpecial: false)
            }
        }
        return ids
    }

    /// Tokens that end the assistant's turn: Llama 3 `<|eot_id|>`, `<|eom_id|>`, `<|end_of_text|>`;
    /// ChatML `<|im_end|>` and `<|endoftext|>`; plus the tokenizer's own EOS ids.
    public func stopTokenIDs(_ tokenizer: any Tokenizer) -> Set<Int> {
        let names: [String]
        switch self {
        case .llama3: names = ["<|eot_id|>", "<|eom_id|>", "<|end_of_text|>"]
        case .chatml: names = ["<|im_end|>", "<|endoftext|>"]
        }
        return Set(names.compactMap(tokenizer.specialTokenID)).union(tokenizer.eosIDs)
    }
}
