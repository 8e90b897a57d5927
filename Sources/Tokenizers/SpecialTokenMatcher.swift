// Finds special and added tokens spelled in the input, leftmost then longest (as HF and tiktoken do).

/// One token matched on its literal text before pre-tokenization.
struct AddedToken: Sendable {
    let id: Int
    let content: String
    /// Special tokens match only when the caller allows it; other added tokens always match (HF semantics).
    let special: Bool
}

struct SpecialTokenMatcher: Sendable {
    private let contents: TokenBytes
    private let index: ByteStringIndex
    private let tokens: [AddedToken]
    private let firstBytes: [Bool]
    private let lengths: [Int]
    let hasNonSpecial: Bool
    let isEmpty: Bool
    private let byContent: [[UInt8]: Int]

    init(_ tokens: [AddedToken]) {
        self.tokens = tokens
        let bytes = tokens.map { Array($0.content.utf8) }
        contents = TokenBytes(bytes)
        index = ByteStringIndex(contents, ids: tokens.indices.filter { !bytes[$0].isEmpty })
        var first = [Bool](repeating: false, count: 256)
        for b in bytes where !b.isEmpty { first[Int(b[0])] = true }
        firstBytes = first
        lengths = Set(bytes.map(\.count)).filter { $0 > 0 }.sorted(by: >)
        hasNonSpecial = tokens.contains { !$0.special }
        isEmpty = tokens.isEmpty
        var map: [[UInt8]: Int] = [:]
        for t in tokens where t.special && map[Array(t.content.utf8)] == nil { map[Array(t.content.utf8)] = t.id }
        byContent = map
    }

    func id(ofSpecial content: String) -> Int? { byContent[Array(content.utf8)] }

    /// The first added token in `text[from...]` that may match, as (start, end, token id).
    func find(in text: UnsafeBufferPointer<UInt8>, from: Int, allowSpecial: Bool) -> (Int, Int, Int)? {
        if isEmpty || (!allowSpecial && !hasNonSpecial) { return nil }
        guard let base = text.baseAddress else { return nil }
        return contents.storage.withUnsafeBufferPointer { s in
            contents.offsets.withUnsafeBufferPointer { o in
                index.withSlots { slots in
                    let sb = s.baseAddress ?? UnsafePointer(bitPattern: 1)!
                    var i = from
                    while i < text.count {
                        if firstBytes[Int(text[i])] {
                            for n in lengths where i + n <= text.count {
                                if let k = index.lookup(base + i, n, storage: sb, offsets: o, slots: slots),
                                   allowSpecial || !tokens[k].special {
                                    return (i, i + n, tokens[k].id)
                                }
                            }
                        }
                        i += 1
                    }
                    return nil
                }
            }
        }
    }
}
