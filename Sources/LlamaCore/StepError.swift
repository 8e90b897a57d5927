// Errors raised while running a step of the model (as opposed to loading it).

public enum StepError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The step would write past the KV cache.
    case contextFull(position: Int, tokens: Int, contextLength: Int)
    /// A token id outside the vocabulary reached the embedding.
    case tokenOutOfRange(id: Int, vocabSize: Int)
    /// More tokens in one step than the backend was set up for.
    case batchTooLarge(tokens: Int, maxBatch: Int)
    /// A node the backend cannot run, named.
    case unsupportedNode(name: String, reason: String)

    public var description: String {
        switch self {
        case let .contextFull(position, tokens, contextLength):
            return "context is full: \(tokens) token(s) at position \(position) exceed the context length \(contextLength)"
        case let .tokenOutOfRange(id, vocabSize):
            return "token id \(id) is outside the vocabulary (0..<\(vocabSize))"
        case let .batchTooLarge(tokens, maxBatch):
            return "\(tokens) tokens in one step exceed the batch size \(maxBatch)"
        case let .unsupportedNode(name, reason):
            return "node \(name) cannot run: \(reason)"
        }
    }
}
