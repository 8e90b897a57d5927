// Errors from using a loaded tokenizer (file problems are LlamaCore.ModelFileError).

/// A problem with the input to `encode` or `decode`.
public enum TokenizerError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `decode` was given an id outside `0..<vocabularySize`.
    case tokenIDOutOfRange(id: Int, vocabularySize: Int)
    /// `encode(bytes:)` found bytes that are not UTF-8, starting at this byte offset.
    case invalidUTF8(byteOffset: Int)
    /// BOS was asked for, but the vocabulary has no BOS token.
    case noBOSToken
    /// A chat format needs a special token this vocabulary lacks.
    case missingSpecialToken(String)

    public var description: String {
        switch self {
        case .tokenIDOutOfRange(let id, let n): return "token id \(id) is out of range 0..<\(n)"
        case .invalidUTF8(let offset): return "input is not valid UTF-8 at byte offset \(offset)"
        case .noBOSToken: return "BOS requested but this vocabulary has no BOS token"
        case .missingSpecialToken(let t): return "the vocabulary has no special token \(t)"
        }
    }
}
