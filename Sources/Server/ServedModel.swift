// The one model a server serves: its public id, tokenizer, chat format and context, and the device it runs on.
import Foundation
import Tokenizers

public struct ServedModel: Sendable {
    /// The id clients name in `model` and that /v1/models lists.
    public let id: String
    /// Unix time the model file was made (OpenAI's `created` of a model).
    public let created: Int
    public let tokenizer: any Tokenizer
    public let chatFormat: ChatFormat
    /// KV cache positions: prompt + answer must fit.
    public let contextLength: Int
    /// Who runs it: "CPU reference", "emulated NPU" or "NPU hardware".
    public let deviceLabel: String

    public init(id: String, created: Int, tokenizer: any Tokenizer, chatFormat: ChatFormat, contextLength: Int, deviceLabel: String) {
        self.id = id
        self.created = created
        self.tokenizer = tokenizer
        self.chatFormat = chatFormat
        self.contextLength = contextLength
        self.deviceLabel = deviceLabel
    }

    /// Tokens that end a chat answer (the format's end of turn and the tokenizer's EOS).
    public var chatStopTokenIDs: Set<Int> { chatFormat.stopTokenIDs(tokenizer) }
    /// Tokens that end a plain completion (the tokenizer's EOS).
    public var completionStopTokenIDs: Set<Int> { tokenizer.eosIDs }
    /// `system_fingerprint` of every response: the program and the device that produced it.
    public var fingerprint: String {
        "npu-llama-" + deviceLabel.lowercased().replacingOccurrences(of: " ", with: "-")
    }
}
