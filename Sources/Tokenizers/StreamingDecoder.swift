// Token-by-token decoding that never splits a UTF-8 character across two emitted strings.

/// Feeds token ids one at a time and returns text as soon as it is complete. Bytes of a character that
/// is still unfinished are held back; invalid bytes become U+FFFD exactly where `decode` would put them,
/// so the concatenation of all returned strings (with `finish()`) equals `decodeBytes(ids, startOfText:)` of all
/// the ids, as text.
public struct StreamingDecoder {
    private let tokenizer: any Tokenizer
    private var pending: [UInt8] = []
    private var atStart: Bool

    /// `startOfText`: the ids begin a text (a SentencePiece vocabulary then drops the first piece's leading
    /// space, as `decode` does); false for a continuation such as generated tokens after a prompt.
    public init(tokenizer: any Tokenizer, startOfText: Bool = false) {
        self.tokenizer = tokenizer
        self.atStart = startOfText
    }

    /// The text completed by `id` (possibly empty). Throws for an id outside the vocabulary.
    public mutating func append(_ id: Int) throws -> String {
        try append([id])
    }

    /// The text completed by `ids` (possibly empty).
    public mutating func append(_ ids: [Int]) throws -> String {
        pending.append(contentsOf: try tokenizer.decodeBytes(ids, startOfText: atStart))
        if !ids.isEmpty { atStart = false }
        let keep = pending.withUnsafeBufferPointer { UTF8Repair.incompleteTailLength($0) }
        guard keep < pending.count else { return "" }
        let text = pending.withUnsafeBufferPointer { UTF8Repair.decode(UnsafeBufferPointer(rebasing: $0[0..<($0.count - keep)])) }
        pending.removeFirst(pending.count - keep)
        return text
    }

    /// Bytes held back waiting for the rest of a character.
    public var heldBytes: [UInt8] { pending }

    /// Ends the stream: held-back bytes of an unfinished character become one U+FFFD (as Python's
    /// `bytes.decode("utf-8", "replace")` and Rust's `String::from_utf8_lossy` do).
    public mutating func finish() -> String {
        defer { pending.removeAll() }
        return UTF8Repair.decode(pending)
    }
}
