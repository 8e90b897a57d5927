// A validated request for the device: prompt ids, how many tokens, sampling, stops, logprobs. Both endpoints produce one.
import LlamaCore

public struct GenerationRequest: Sendable {
    public var promptIDs: [Int]
    /// Most tokens to generate; generation also ends when the context is full (finish_reason "length").
    public var maxTokens: Int
    public var sampling: SamplingParameters
    public var stopTokenIDs: Set<Int>
    /// Texts that end the answer; they and what follows are not returned.
    public var stopSequences: [String]
    /// nil: no logprobs; k ≥ 0: the chosen token's logprob and the k most likely alternatives per token.
    public var topLogprobs: Int?

    public init(promptIDs: [Int], maxTokens: Int, sampling: SamplingParameters = .greedy, stopTokenIDs: Set<Int> = [],
                stopSequences: [String] = [], topLogprobs: Int? = nil) {
        self.promptIDs = promptIDs
        self.maxTokens = maxTokens
        self.sampling = sampling
        self.stopTokenIDs = stopTokenIDs
        self.stopSequences = stopSequences
        self.topLogprobs = topLogprobs
    }
}

/// The checks both endpoints share, each failing with the OpenAI error that names the field.
enum RequestValidation {
    static func model(_ model: String, served: ServedModel) throws {
        guard model == served.id else { throw OpenAIError.modelNotFound(model, served: served.id) }
    }

    static func n(_ n: Int?) throws {
        if let n, n != 1 {
            guard n >= 1 else { throw OpenAIError.invalid("'n' must be at least 1 (got \(n))", param: "n") }
            throw OpenAIError.unsupported("n", "one device runs one answer at a time, so only n = 1 is served (got \(n))")
        }
    }

    /// temperature 0…2 (OpenAI's default 1), top_p 0…1 (default 1), seed any 64-bit integer (default: a fresh one
    /// per request, so unseeded sampling varies as OpenAI's does), frequency_penalty and presence_penalty −2…2
    /// (default 0), applied as llama.cpp's server applies them: llama.cpp's penalties sampler over the last 64
    /// tokens the model saw, prompt included (its `repeat_last_n` default).
    static func sampling(temperature: Double?, topP: Double?, seed: Int64?, frequencyPenalty: Double? = nil,
                         presencePenalty: Double? = nil) throws -> SamplingParameters {
        let t = temperature ?? 1
        guard t.isFinite, t >= 0, t <= 2 else {
            throw OpenAIError.invalid("'temperature' must be between 0 and 2 (got \(t))", param: "temperature")
        }
        let p = topP ?? 1
        guard p.isFinite, p >= 0, p <= 1 else { throw OpenAIError.invalid("'top_p' must be between 0 and 1 (got \(p))", param: "top_p") }
        for (name, value) in [("frequency_penalty", frequencyPenalty), ("presence_penalty", presencePenalty)] {
            if let value, !(value.isFinite && value >= -2 && value <= 2) {
                throw OpenAIError.invalid("'\(name)' must be between -2 and 2 (got \(value))", param: name)
            }
        }
        let seedBits = seed.map { UInt64(bitPattern: $0) } ?? UInt64.random(in: .min ... .max)
        return SamplingParameters(temperature: Float(t), topK: 0, topP: Float(p), repeatLastN: penaltyWindow,
                                  presencePenalty: Float(presencePenalty ?? 0), frequencyPenalty: Float(frequencyPenalty ?? 0),
                                  seed: seedBits)
    }

    /// llama.cpp server's `repeat_last_n` default: the penalties count the last 64 tokens.
    static let penaltyWindow = 64

    /// logit_bias changes the distribution and the server does not implement it, so anything but an empty map is
    /// refused rather than ignored.
    static func noLogitBias(_ logitBias: [String: Double]?) throws {
        if let b = logitBias, !b.isEmpty { throw OpenAIError.unsupported("logit_bias", "only an empty map is served") }
    }

    /// OpenAI's `stop`: up to 4 strings; empty strings never match and are dropped.
    static func stop(_ stop: StopField?) throws -> [String] {
        let list = stop?.values ?? []
        guard list.count <= 4 else { throw OpenAIError.invalid("'stop' holds at most 4 sequences (got \(list.count))", param: "stop") }
        return list.filter { !$0.isEmpty }
    }

    /// The answer's length limit: at least 1; nil means "until the context is full".
    static func maxTokens(_ value: Int?, param: String) throws -> Int? {
        guard let value else { return nil }
        guard value >= 1 else { throw OpenAIError.invalid("'\(param)' must be at least 1 (got \(value))", param: param) }
        return value
    }

    /// The prompt must leave a position for the answer.
    static func fits(_ ids: [Int], served: ServedModel, param: String) throws {
        guard !ids.isEmpty else { throw OpenAIError.invalid("The prompt is empty: give at least one token", param: param) }
        guard ids.count < served.contextLength else {
            throw OpenAIError.contextLengthExceeded(promptTokens: ids.count, contextLength: served.contextLength, param: param)
        }
    }
}

/// OpenAI's `stop`: a string or a list of strings (null: none).
struct StopField: Decodable, Sendable {
    let values: [String]
    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let one = try? container.decode(String.self) { values = [one]; return }
        if let list = try? container.decode([String].self) { values = list; return }
        throw DecodingError.dataCorruptedError(in: container, debugDescription: "must be a string or a list of strings")
    }
}

/// `stream_options`: only `include_usage`.
struct StreamOptions: Decodable, Sendable {
    var includeUsage: Bool?
    enum CodingKeys: String, CodingKey { case includeUsage = "include_usage" }
}
