// POST /v1/completions's body as OpenAI defines it (prompt as text or token ids), and its validation into a GenerationRequest.
import LlamaCore
import Tokenizers

struct CompletionRequest: Decodable, Sendable {
    var model: String
    var prompt: PromptField
    var stream: Bool?
    var streamOptions: StreamOptions?
    var maxTokens: JSONInteger?
    var temperature: Double?
    var topP: Double?
    var seed: JSONInteger?
    var stop: StopField?
    var n: JSONInteger?
    var bestOf: JSONInteger?
    var logprobs: JSONInteger?
    var echo: Bool?
    var suffix: String?
    var frequencyPenalty: Double?
    var presencePenalty: Double?
    var logitBias: [String: Double]?

    enum CodingKeys: String, CodingKey {
        case model, prompt, stream, temperature, seed, stop, n, logprobs, echo, suffix
        case streamOptions = "stream_options", maxTokens = "max_tokens", topP = "top_p", bestOf = "best_of"
        case frequencyPenalty = "frequency_penalty", presencePenalty = "presence_penalty", logitBias = "logit_bias"
    }

    var isStreamed: Bool { stream ?? false }
    var includeUsage: Bool { streamOptions?.includeUsage ?? false }

    /// OpenAI's default answer length for completions.
    static let defaultMaxTokens = 16

    func validated(for served: ServedModel) throws -> GenerationRequest {
        try RequestValidation.model(model, served: served)
        try RequestValidation.n(n?.value)
        if let bestOf = bestOf?.value, bestOf != 1 { throw OpenAIError.unsupported("best_of", "only 1 is served (got \(bestOf))") }
        if echo == true { throw OpenAIError.unsupported("echo", "the prompt is not returned with the answer") }
        if let suffix, !suffix.isEmpty { throw OpenAIError.unsupported("suffix", "the models served have no fill-in-the-middle format") }
        if streamOptions != nil && !isStreamed {
            throw OpenAIError.invalid("'stream_options' is only allowed when 'stream' is true", param: "stream_options")
        }
        try RequestValidation.noLogitBias(logitBias)
        let sampling = try RequestValidation.sampling(temperature: temperature, topP: topP, seed: seed.map { Int64($0.value) },
                                                      frequencyPenalty: frequencyPenalty, presencePenalty: presencePenalty)
        let stops = try RequestValidation.stop(stop)
        let limit = try RequestValidation.maxTokens(maxTokens?.value, param: "max_tokens") ?? Self.defaultMaxTokens
        if let k = logprobs?.value, !(0...5).contains(k) {
            throw OpenAIError.invalid("'logprobs' must be between 0 and 5 (got \(k))", param: "logprobs")
        }
        let ids = try prompt.ids(served: served)
        try RequestValidation.fits(ids, served: served, param: "prompt")
        return GenerationRequest(promptIDs: ids, maxTokens: min(limit, served.contextLength - ids.count), sampling: sampling,
                                 stopTokenIDs: served.completionStopTokenIDs, stopSequences: stops, topLogprobs: logprobs?.value)
    }
}

/// `prompt`: a string, a list of one string, a list of token ids, or a list of one list of ids. Text is encoded as
/// `npu-llama generate` encodes it (BOS when the model's files ask for it, special-token text kept as text).
enum PromptField: Decodable, Sendable {
    case text(String)
    case ids([Int])
    case batch(Int)

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let s = try? container.decode(String.self) { self = .text(s); return }
        if let ids = try? container.decode([Int].self) { self = .ids(ids); return }
        if let texts = try? container.decode([String].self) {
            self = texts.count == 1 ? .text(texts[0]) : .batch(texts.count); return
        }
        if let lists = try? container.decode([[Int]].self) {
            self = lists.count == 1 ? .ids(lists[0]) : .batch(lists.count); return
        }
        throw DecodingError.dataCorruptedError(
            in: container, debugDescription: "must be a string, a list of token ids, or a list holding one of either")
    }

    func ids(served: ServedModel) throws -> [Int] {
        switch self {
        case .batch(let count):
            throw OpenAIError.unsupported("prompt", "one prompt per request is served (got \(count)); send them one by one")
        case .ids(let ids):
            let vocab = served.tokenizer.vocabularySize
            if let bad = ids.firstIndex(where: { $0 < 0 || $0 >= vocab }) {
                throw OpenAIError.invalid("Invalid token id \(ids[bad]) at 'prompt.\(bad)': ids are 0..<\(vocab)", param: "prompt")
            }
            return ids
        case .text(let text):
            do {
                return try served.tokenizer.encode(text, addBOS: served.tokenizer.addsBOSByDefault, allowSpecial: false)
            } catch {
                throw OpenAIError.invalid("The prompt could not be tokenized: \(error)", param: "prompt")
            }
        }
    }
}
