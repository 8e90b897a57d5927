// The one error type for files a user hands us: it always names the file and the problem.

/// A problem with a model, weight, tokenizer or golden file. `description` is one sentence a user
/// can act on: which file, what is wrong, and where (key, tensor name or byte offset).
public struct ModelFileError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Kind: String, Sendable {
        case notFound, unreadable, truncated, badMagic, unsupportedVersion, badHeader,
             badMetadata, unknownDType, shapeMismatch, outOfRange, overlap, missingTensor,
             missingKey, badValue, inconsistent
    }
    public let kind: Kind
    public let file: String
    public let message: String

    public init(_ kind: Kind, file: String, _ message: String) {
        self.kind = kind
        self.file = file
        self.message = message
    }

    public var description: String { "\(file): \(message)" }
}
