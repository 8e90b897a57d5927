// The Tokenizer methods every BPE-engine tokenizer shares (tiktoken and byte-level BPE alike).

/// A tokenizer whose work is done by a `BPEEngine`; only how the engine is built differs.
protocol EngineBackedTokenizer: Tokenizer {
    var engine: BPEEngine { get }
}

extension EngineBackedTokenizer {
    public func encode(_ text: String, addBOS: Bool, allowSpecial: Bool) throws -> [Int] {
        try engine.encode(text, bos: bosID, addBOS: addBOS, allowSpecial: allowSpecial)
    }

    public func encode(bytes: [UInt8], addBOS: Bool, allowSpecial: Bool,
                       invalidUTF8: InvalidUTF8Policy) throws -> [Int] {
        try engine.encode(bytes: bytes, bos: bosID, addBOS: addBOS, allowSpecial: allowSpecial,
                          invalidUTF8: invalidUTF8)
    }

    public func decode(_ ids: [Int]) throws -> String { UTF8Repair.decode(try engine.decodeBytes(ids)) }
    public func decodeBytes(_ ids: [Int]) throws -> [UInt8] { try engine.decodeBytes(ids) }
    public func piece(_ id: Int) -> String? { engine.piece(id) }
    public func specialTokenID(_ text: String) -> Int? { engine.added.id(ofSpecial: text) }
}
