// POST /v1/chat/completions's body as OpenAI defines it, and its validation into a GenerationRequest.
import LlamaCore
import Tokenizers

struct ChatCompletionRequest: Decodable, Sendable {
    var model: String
    var messages: [ChatRequestMessage]
    var stream: Bool?
    var streamOptions: StreamOptions?
    var maxTokens: JSONInteger?
    var maxCompletionTokens: JSONInteger?
    var temperature: Double?
    var topP: Double?
    var seed: JSONInteger?
    var stop: StopField?
    var n: JSONInteger?
    var logprobs: Bool?
    var topLogprobs: JSONInteger?
    var frequencyPenalty: Double?
    var presencePenalty: Double?
    var logitBias: [String: Double]?
    var tools: [ToolDefinition]?
    var toolChoice: ToolChoice?
    var parallelToolCalls: Bool?
    var functions: [JSONIgnored]?
    var responseFormat: ResponseFormat?

    enum CodingKeys: String, CodingKey {
        case model, messages, stream, temperature, seed, stop, n, logprobs, tools, functions
        case toolChoice = "tool_choice", parallelToolCalls = "parallel_tool_calls"
        case streamOptions = "stream_options", maxTokens = "max_tokens", maxCompletionTokens = "max_completion_tokens"
        case topP = "top_p", topLogprobs = "top_logprobs", frequencyPenalty = "frequency_penalty"
        case presencePenalty = "presence_penalty", logitBias = "logit_bias", responseFormat = "response_format"
    }

    var isStreamed: Bool { stream ?? false }
    var includeUsage: Bool { streamOptions?.includeUsage ?? false }

    /// The request as the device runs it: messages in the model's chat format, ids checked against the context.
    /// `body` is the request's JSON text, read again in order for what reaches a template as objects (tools, tool calls).
    func validated(for served: ServedModel, body: String? = nil) throws -> GenerationRequest {
        try RequestValidation.model(model, served: served)
        try RequestValidation.n(n?.value)
        guard !messages.isEmpty else { throw OpenAIError.invalid("'messages' must hold at least one message", param: "messages") }
        if let functions, !functions.isEmpty {
            throw OpenAIError.unsupported("functions", "the deprecated 'functions' field is not served; use 'tools'")
        }
        if let type = responseFormat?.type, type != "text" {
            throw OpenAIError.unsupported("response_format", "only {\"type\": \"text\"} is served (got \(type))")
        }
        if streamOptions != nil && !isStreamed {
            throw OpenAIError.invalid("'stream_options' is only allowed when 'stream' is true", param: "stream_options")
        }
        try RequestValidation.noLogitBias(logitBias)
        let sampling = try RequestValidation.sampling(temperature: temperature, topP: topP, seed: seed.map { Int64($0.value) },
                                                      frequencyPenalty: frequencyPenalty, presencePenalty: presencePenalty)
        let stops = try RequestValidation.stop(stop)
        let limit = try RequestValidation.maxTokens(maxCompletionTokens?.value, param: "max_completion_tokens")
            ?? RequestValidation.maxTokens(maxTokens?.value, param: "max_tokens")
        var top: Int?
        if let k = topLogprobs?.value {
            guard (0...20).contains(k) else { throw OpenAIError.invalid("'top_logprobs' must be between 0 and 20 (got \(k))", param: "top_logprobs") }
            guard logprobs == true else {
                throw OpenAIError.invalid("'top_logprobs' requires 'logprobs' to be true", param: "top_logprobs")
            }
            top = k
        } else if logprobs == true {
            top = 0
        }
        guard let prompt = served.chat else {
            throw OpenAIError.invalid("The model has no chat template; start the server with --chat-format NAME to chat with it",
                                      param: "messages")
        }
        let ids: [Int]
        if let toolIDs = try toolPromptIDs(for: served, prompt: prompt, body: body) {
            ids = toolIDs
        } else {
            var chat: [ChatMessage] = []
            for (i, m) in messages.enumerated() {
                chat.append(try m.chatMessage(index: i))
            }
            do {
                ids = try prompt.encode(chat, addGenerationPrompt: true, tokenizer: served.tokenizer)
            } catch {
                throw OpenAIError.invalid("The messages could not be tokenized: \(error)", param: "messages")
            }
        }
        try RequestValidation.fits(ids, served: served, param: "messages")
        return GenerationRequest(promptIDs: ids, maxTokens: min(limit ?? .max, served.contextLength - ids.count),
                                 sampling: sampling, stopTokenIDs: served.chatStopTokenIDs, stopSequences: stops, topLogprobs: top)
    }
}

/// One message: role system / developer (OpenAI's newer name for system) / user / assistant; content a string or a
/// list of text parts.
struct ChatRequestMessage: Decodable, Sendable {
    var role: String
    var content: MessageContent?
    /// A participant's name: checked to be a string, not shown to the model (the chat formats have no place for it).
    var name: String?
    var toolCalls: [RequestToolCall]?
    var toolCallID: String?

    enum CodingKeys: String, CodingKey { case role, content, name, toolCalls = "tool_calls", toolCallID = "tool_call_id" }

    /// A tool call or a tool result: only a template's object path (ChatToolPrompt) renders these.
    var isToolMessage: Bool { role == "tool" || role == "function" || !(toolCalls ?? []).isEmpty }

    func chatMessage(index i: Int) throws -> ChatMessage {
        let role: String
        switch self.role {
        case "system", "developer": role = "system"
        case "user", "assistant": role = self.role
        case "tool", "function":
            throw OpenAIError.unsupported("messages.\(i).role", "tool and function messages need the model's own chat template with tools support")
        default:
            throw OpenAIError.invalid("Invalid value for 'messages.\(i).role': '\(self.role)' is not one of system, developer, user, assistant",
                                      param: "messages.\(i).role", code: "invalid_value")
        }
        if let toolCalls, !toolCalls.isEmpty {
            throw OpenAIError.unsupported("messages.\(i).tool_calls", "tool calls need the model's own chat template with tools support")
        }
        guard let content else {
            throw OpenAIError.invalid("Missing content for 'messages.\(i)': a \(role) message needs text", param: "messages.\(i).content")
        }
        return ChatMessage(role: role, content: try content.text(param: "messages.\(i).content"))
    }
}

/// A message's content: a string, or a list of `{"type": "text", "text": ...}` parts (joined in order).
enum MessageContent: Decodable, Sendable {
    case text(String)
    case parts([ContentPart])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let s = try? container.decode(String.self) { self = .text(s); return }
        if let parts = try? container.decode([ContentPart].self) { self = .parts(parts); return }
        throw DecodingError.dataCorruptedError(in: container, debugDescription: "must be a string or a list of content parts")
    }

    func text(param: String) throws -> String {
        switch self {
        case .text(let s): return s
        case .parts(let parts):
            var text = ""
            for (j, part) in parts.enumerated() {
                guard part.type == "text", let t = part.text else {
                    throw OpenAIError.unsupported("\(param).\(j)", "only text content parts are served (got '\(part.type)')")
                }
                text += t
            }
            return text
        }
    }
}

struct ContentPart: Decodable, Sendable {
    var type: String
    var text: String?
}

/// `response_format`: only its `type` is read.
struct ResponseFormat: Decodable, Sendable {
    var type: String
}

/// Any JSON value, read and dropped: fields whose presence alone is refused (tools, tool_calls).
struct JSONIgnored: Decodable, Sendable {
    init(from decoder: any Decoder) throws {}
}
