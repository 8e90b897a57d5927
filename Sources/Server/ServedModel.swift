// The one model a server serves: its public id, tokenizer, chat prompt (template or format) and context, and its device.
import Foundation
import Tokenizers

public struct ServedModel: Sendable {
    /// The id clients name in `model` and that /v1/models lists.
    public let id: String
    /// Unix time the model file was made (OpenAI's `created` of a model).
    public let created: Int
    public let tokenizer: any Tokenizer
    /// How chat messages become a prompt; nil when the model has no template and no format was picked
    /// (then /v1/chat/completions answers 400 and /v1/completions still works).
    public let chat: ChatPrompt?
    /// KV cache positions: prompt + answer must fit.
    public let contextLength: Int
    /// Who runs it: "CPU reference", "emulated NPU" or "NPU hardware".
    public let deviceLabel: String

    public init(id: String, created: Int, tokenizer: any Tokenizer, chat: ChatPrompt?, contextLength: Int, deviceLabel: String) {
        self.id = id
        self.created = created
        self.tokenizer = tokenizer
        self.chat = chat
        self.contextLength = contextLength
        self.deviceLabel = deviceLabel
    }

    /// A built-in format (tests and `--chat-format`).
    public init(id: String, created: Int, tokenizer: any Tokenizer, chatFormat: ChatFormat, contextLength: Int, deviceLabel: String) {
        self.init(id: id, created: created, tokenizer: tokenizer, chat: .builtin(chatFormat, name: "built-in"),
                  contextLength: contextLength, deviceLabel: deviceLabel)
    }

    /// Tokens that end a chat answer (the template's or format's end of turn and the tokenizer's EOS).
    public var chatStopTokenIDs: Set<Int> { chat?.stopTokenIDs(tokenizer) ?? tokenizer.eosIDs }
    /// Tokens that end a plain completion (the tokenizer's EOS).
    public var completionStopTokenIDs: Set<Int> { tokenizer.eosIDs }
    /// `system_fingerprint` of every response: the program and the device that produced it.
    public var fingerprint: String {
        "npu-llama-" + deviceLabel.lowercased().replacingOccurrences(of: " ", with: "-")
    }
}
