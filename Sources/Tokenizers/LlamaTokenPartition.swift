// Special and user-defined tokens found in text as llama.cpp's `tokenizer_st_partition` finds them: longest token first.

/// A stretch of input: ordinary text to tokenize, or a token matched whole.
enum InputSegment: Equatable {
    case text(Range<Int>)
    case token(Int)
}

/// llama.cpp's partition: for each special token in `cache_special_tokens` order (longest text first), every
/// occurrence left to right in the text not yet taken becomes that token. Control and unknown tokens take part
/// only when special tokens are parsed; user-defined ones always. A token with `lstrip`/`rstrip` drops the
/// ASCII whitespace (C `isspace`) before/after it.
struct LlamaTokenPartition: Sendable {
    struct Entry: Sendable {
        let id: Int
        let text: [UInt8]
        let attributes: TokenAttributes
    }

    private let entries: [Entry]
    private let index: ByteStringIndex
    private let contents: TokenBytes
    private let firstBytes: [Bool]
    private let lengths: [Int]
    private let anyWithoutParseSpecial: Bool

    /// `entries` in priority order.
    init(_ entries: [Entry]) {
        self.entries = entries
        contents = TokenBytes(entries.map(\.text))
        index = ByteStringIndex(contents, ids: entries.indices.filter { !entries[$0].text.isEmpty })
        var first = [Bool](repeating: false, count: 256)
        for e in entries where !e.text.isEmpty { first[Int(e.text[0])] = true }
        firstBytes = first
        lengths = Set(entries.map(\.text.count)).filter { $0 > 0 }.sorted(by: >)
        anyWithoutParseSpecial = entries.contains { !$0.attributes.needsParseSpecial }
    }

    var isEmpty: Bool { entries.isEmpty }

    /// The id of the matched-whole token spelled `text`.
    func id(of text: String) -> Int? {
        index.lookup(Array(text.utf8), in: contents).map { entries[$0].id }
    }

    @inline(__always)
    private static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || (b >= 0x09 && b <= 0x0D) }

    /// The segments of `text`, in order.
    func segments(_ text: UnsafeBufferPointer<UInt8>, parseSpecial: Bool) -> [InputSegment] {
        let n = text.count
        if entries.isEmpty || (!parseSpecial && !anyWithoutParseSpecial) || n == 0 { return n == 0 ? [] : [.text(0..<n)] }
        // Every occurrence of every eligible token: (priority, start).
        var occurrences: [(Int, Int)] = []
        contents.storage.withUnsafeBufferPointer { s in
            contents.offsets.withUnsafeBufferPointer { o in
                index.withSlots { slots in
                    let sb = s.baseAddress ?? UnsafePointer(bitPattern: 1)!
                    let base = text.baseAddress!
                    for i in 0..<n where firstBytes[Int(base[i])] {
                        for len in lengths where i + len <= n {
                            if let k = index.lookup(base + i, len, storage: sb, offsets: o, slots: slots),
                               parseSpecial || !entries[k].attributes.needsParseSpecial {
                                occurrences.append((k, i))
                            }
                        }
                    }
                }
            }
        }
        if occurrences.isEmpty { return [.text(0..<n)] }
        occurrences.sort { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
        // Taken stretches (tokens and the whitespace they strip), sorted and disjoint: (start, end, id or -1).
        var taken: [(Int, Int, Int)] = []
        func overlaps(_ s: Int, _ e: Int) -> Bool {
            var lo = 0, hi = taken.count
            while lo < hi { let mid = (lo + hi) / 2; if taken[mid].1 <= s { lo = mid + 1 } else { hi = mid } }
            return lo < taken.count && taken[lo].0 < e
        }
        func insert(_ t: (Int, Int, Int)) {
            var lo = 0, hi = taken.count
            while lo < hi { let mid = (lo + hi) / 2; if taken[mid].0 < t.0 { lo = mid + 1 } else { hi = mid } }
            taken.insert(t, at: lo)
        }
        /// The free stretch around `s` (the fragment llama.cpp would be searching).
        func fragment(around s: Int) -> (Int, Int) {
            var lo = 0, hi = taken.count
            while lo < hi { let mid = (lo + hi) / 2; if taken[mid].1 <= s { lo = mid + 1 } else { hi = mid } }
            return (lo > 0 ? taken[lo - 1].1 : 0, lo < taken.count ? taken[lo].0 : n)
        }
        for (k, s) in occurrences {
            let e = entries[k], end = s + e.text.count
            if overlaps(s, end) { continue }
            let (fs, fe) = fragment(around: s)
            insert((s, end, e.id))
            if e.attributes.contains(.lstrip) {
                var a = s
                while a > fs && Self.isSpace(text[a - 1]) { a -= 1 }
                if a < s { insert((a, s, -1)) }
            }
            if e.attributes.contains(.rstrip) {
                var b = end
                while b < fe && Self.isSpace(text[b]) { b += 1 }
                if b > end { insert((end, b, -1)) }
            }
        }
        var out: [InputSegment] = []
        var at = 0
        for (s, e, id) in taken {
            if s > at { out.append(.text(at..<s)) }
            if id >= 0 { out.append(.token(id)) }
            at = e
        }
        if at < n { out.append(.text(at..<n)) }
        return out
    }
}

extension SpecialTokenMatcher {
    /// The segments of `text` with HF / tiktoken semantics (leftmost, then longest).
    func segments(_ text: UnsafeBufferPointer<UInt8>, allowSpecial: Bool) -> [InputSegment] {
        var out: [InputSegment] = []
        var start = 0
        while start < text.count {
            let match = find(in: text, from: start, allowSpecial: allowSpecial)
            let stop = match?.0 ?? text.count
            if stop > start { out.append(.text(start..<stop)) }
            guard let (_, end, id) = match else { break }
            out.append(.token(id))
            start = end
        }
        return out
    }
}
