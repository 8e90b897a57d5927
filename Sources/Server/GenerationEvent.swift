// What the device reports to a request's handler while it runs: started, one event per token, finished or failed.

/// Why an answer ended, as OpenAI names it.
public enum FinishReason: String, Sendable {
    /// An end-of-turn / end-of-text token or a stop sequence.
    case stop
    /// max_tokens, a full context, or the request's deadline.
    case length
}

/// One generated token as the client sees it.
public struct TokenOutput: Sendable {
    public var id: Int
    /// The text this token completes: never a broken UTF-8 sequence (bytes of an unfinished character wait for the
    /// token that finishes it), and text that may begin a stop sequence waits until it cannot.
    public var text: String
    public var logprob: TokenLogprob?
}

/// The end of a request that ran.
public struct GenerationSummary: Sendable {
    public var finishReason: FinishReason
    /// What ended it, in the scheduler's words (stop-token, stop-sequence, max-tokens, context-full, deadline).
    public var detail: String
    /// Text still held back when generation ended (the tail of a possible stop sequence, an unfinished character as U+FFFD).
    public var tailText: String
    public var promptTokens: Int
    /// Generated tokens, the end-of-turn token included when there was one.
    public var completionTokens: Int
    /// Prompt tokens whose K/V came from the previous request (not prefilled again).
    public var cachedTokens: Int
    public var queueSeconds: Double
    public var timeToFirstTokenSeconds: Double
    public var decodeTokensPerSecond: Double
}

public enum GenerationEvent: Sendable {
    /// The request has the device; `cachedTokens` of its prompt are reused from the KV cache.
    case started(cachedTokens: Int)
    case token(TokenOutput)
    case finished(GenerationSummary)
    /// It did not run, or the device failed (the error says which, with its status).
    case failed(OpenAIError)
}
