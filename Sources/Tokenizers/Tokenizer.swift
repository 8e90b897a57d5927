// The Tokenizer protocol: text to token ids and back, as the reference tokenizer libraries do it.

/// What to do with bytes that are not UTF-8 when encoding raw bytes.
public enum InvalidUTF8Policy: Sendable {
    /// Throw `TokenizerError.invalidUTF8` naming the byte offset of the first bad sequence.
    case fail
    /// Replace each maximal invalid subpart by U+FFFD (as Python `bytes.decode("utf-8", "replace")`), then encode.
    case replace
}

/// A text tokenizer. Implementations are immutable and safe to share across threads.
public protocol Tokenizer: Sendable {
    /// Number of token ids, special tokens included: valid ids are `0..<vocabularySize`.
    var vocabularySize: Int { get }
    /// The beginning-of-text token, if the vocabulary has one.
    var bosID: Int? { get }
    /// Tokens that end generation for a plain completion (end of text / end of turn as the file declares them).
    var eosIDs: Set<Int> { get }
    /// Whether the model's own files ask for BOS to be prepended (HF template, GGUF `add_bos_token`).
    var addsBOSByDefault: Bool { get }

    /// Encodes `text`. With `allowSpecial` false, text that spells a special token (e.g. `<|eot_id|>`) is
    /// encoded as ordinary text; with it true, such text becomes the special token.
    /// Throws `TokenizerError.noBOSToken` when `addBOS` is asked of a vocabulary without one.
    func encode(_ text: String, addBOS: Bool, allowSpecial: Bool) throws -> [Int]
    /// Encodes raw bytes; invalid UTF-8 is handled per `invalidUTF8`.
    func encode(bytes: [UInt8], addBOS: Bool, allowSpecial: Bool, invalidUTF8: InvalidUTF8Policy) throws -> [Int]
    /// The text of `ids`; special tokens appear as their text; bytes that are not UTF-8 become U+FFFD.
    func decode(_ ids: [Int]) throws -> String
    /// The raw bytes of `ids`. Throws `TokenizerError.tokenIDOutOfRange` for an unknown id.
    func decodeBytes(_ ids: [Int]) throws -> [UInt8]
    /// The raw bytes of `ids` at the start of a text (`startOfText`, as `decodeBytes`) or continuing one: a
    /// SentencePiece vocabulary drops the space it prefixes only at the start.
    func decodeBytes(_ ids: [Int], startOfText: Bool) throws -> [UInt8]
    /// The text of one token (U+FFFD for a partial UTF-8 character), or nil for an unknown id.
    func piece(_ id: Int) -> String?
    /// The id of the special token spelled `text`, if there is one.
    func specialTokenID(_ text: String) -> Int?
    /// What kind of tokenizer this is, from which file layout, reproducing which library (for `inspect`).
    var kind: String { get }
}

extension Tokenizer {
    public var kind: String { "\(type(of: self))" }

    public func decodeBytes(_ ids: [Int], startOfText: Bool) throws -> [UInt8] { try decodeBytes(ids) }

    /// Encodes ordinary text: no BOS, special-token text stays text.
    public func encode(_ text: String) throws -> [Int] {
        try encode(text, addBOS: false, allowSpecial: false)
    }
}
