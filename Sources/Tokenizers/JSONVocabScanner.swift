// Reads tokenizer.json's `model.vocab` object with its keys byte-exact (a Swift dictionary would merge canonically equal keys).
import LlamaCore

/// A bounds-checked scan of a JSON document for `model.vocab`: (key, id) pairs in file order, keys decoded to
/// UTF-8 exactly as written. Swift `String` equality is canonical equivalence, so `[String: Any]` from
/// JSONSerialization keeps one of "ί" (U+1F77) and "ί" (U+03AF); SentencePiece vocabularies hold both.
struct JSONVocabScanner {
    struct Failure: Error { let offset: Int; let what: String }

    private let b: [UInt8]
    private var i = 0
    private static let maxDepth = 128

    private init(_ b: [UInt8]) { self.b = b }

    /// The entries of `model.vocab`, or nil if the document has no such object.
    static func vocab(_ data: [UInt8]) throws(Failure) -> [(key: String, id: Int)]? {
        var s = JSONVocabScanner(data)
        if data.starts(with: [0xEF, 0xBB, 0xBF]) { s.i = 3 }
        s.ws()
        var found: [(String, Int)]?
        try s.object(depth: 0) { (s: inout JSONVocabScanner, key: [UInt8]) throws(Failure) -> Bool in
            guard key == Array("model".utf8), s.peek() == 0x7B else { return false }
            try s.object(depth: 1) { (s: inout JSONVocabScanner, key: [UInt8]) throws(Failure) -> Bool in
                guard key == Array("vocab".utf8), s.peek() == 0x7B else { return false }
                var entries: [(String, Int)] = []
                try s.object(depth: 2) { (s: inout JSONVocabScanner, key: [UInt8]) throws(Failure) -> Bool in
                    entries.append((String(decoding: key, as: UTF8.self), try s.integer()))
                    return true
                }
                found = entries
                return true
            }
            return true
        }
        return found
    }

    private func peek() -> UInt8? { i < b.count ? b[i] : nil }

    private func fail(_ what: String) -> Failure { Failure(offset: i, what: what) }

    private mutating func ws() {
        while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 }
    }

    private mutating func expect(_ c: UInt8) throws(Failure) {
        ws()
        guard i < b.count, b[i] == c else { throw fail("expected '\(Character(Unicode.Scalar(c)))'") }
        i += 1
    }

    /// An object; `member` reads the value after each key (returning true) or leaves it to be skipped.
    private mutating func object(depth: Int,
                                 _ member: (inout JSONVocabScanner, [UInt8]) throws(Failure) -> Bool) throws(Failure) {
        guard depth < Self.maxDepth else { throw fail("nested too deeply") }
        try expect(0x7B)
        ws()
        if peek() == 0x7D { i += 1; return }
        while true {
            ws()
            let key = try string()
            try expect(0x3A)
            ws()
            if try !member(&self, key) { try skipValue(depth: depth + 1) }
            ws()
            guard let c = peek() else { throw fail("unterminated object") }
            i += 1
            if c == 0x7D { return }
            guard c == 0x2C else { throw fail("expected ',' or '}'") }
        }
    }

    private mutating func skipValue(depth: Int) throws(Failure) {
        guard depth < Self.maxDepth else { throw fail("nested too deeply") }
        ws()
        guard let c = peek() else { throw fail("missing value") }
        switch c {
        case 0x7B: try object(depth: depth) { (_: inout JSONVocabScanner, _: [UInt8]) throws(Failure) -> Bool in false }
        case 0x5B:
            i += 1
            ws()
            if peek() == 0x5D { i += 1; return }
            while true {
                try skipValue(depth: depth + 1)
                ws()
                guard let d = peek() else { throw fail("unterminated array") }
                i += 1
                if d == 0x5D { return }
                guard d == 0x2C else { throw fail("expected ',' or ']'") }
            }
        case 0x22: _ = try string()
        default:
            let start = i
            while i < b.count, !(b[i] == 0x2C || b[i] == 0x7D || b[i] == 0x5D || b[i] <= 0x20) { i += 1 }
            if i == start { throw fail("unexpected character") }
        }
    }

    private mutating func integer() throws(Failure) -> Int {
        ws()
        var v = 0, digits = 0
        var negative = false
        if peek() == 0x2D { negative = true; i += 1 }
        while i < b.count, b[i] >= 0x30 && b[i] <= 0x39 {
            guard v < (Int(Int32.max) - 9) / 10 else { throw fail("id too large") }
            v = v * 10 + Int(b[i] - 0x30)
            digits += 1
            i += 1
        }
        if digits == 0 || negative || (i < b.count && (b[i] == 0x2E || b[i] == 0x65 || b[i] == 0x45)) {
            throw fail("id is not a non-negative integer")
        }
        return v
    }

    /// A string at `i` (after whitespace), escapes decoded; a lone surrogate becomes U+FFFD.
    private mutating func string() throws(Failure) -> [UInt8] {
        ws()
        guard peek() == 0x22 else { throw fail("expected a string") }
        i += 1
        var out: [UInt8] = []
        while true {
            guard i < b.count else { throw fail("unterminated string") }
            let c = b[i]
            i += 1
            if c == 0x22 { return out }
            if c != 0x5C { out.append(c); continue }
            guard i < b.count else { throw fail("unterminated escape") }
            let e = b[i]
            i += 1
            switch e {
            case 0x22, 0x5C, 0x2F: out.append(e)
            case 0x62: out.append(0x08)
            case 0x66: out.append(0x0C)
            case 0x6E: out.append(0x0A)
            case 0x72: out.append(0x0D)
            case 0x74: out.append(0x09)
            case 0x75:
                var u = try hex4()
                if u >= 0xD800 && u < 0xDC00, i + 1 < b.count, b[i] == 0x5C, b[i + 1] == 0x75 {
                    let save = i
                    i += 2
                    let low = try hex4()
                    if low >= 0xDC00 && low < 0xE000 { u = 0x10000 + ((u - 0xD800) << 10) + (low - 0xDC00) } else { i = save }
                }
                let scalar = Unicode.Scalar(u) ?? "\u{FFFD}"
                out.append(contentsOf: Array(String(Character(scalar)).utf8))
            default: throw fail("bad escape")
            }
        }
    }

    private mutating func hex4() throws(Failure) -> UInt32 {
        guard i + 4 <= b.count else { throw fail("short \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = b[i]
            i += 1
            let d: UInt32
            switch c {
            case 0x30...0x39: d = UInt32(c - 0x30)
            case 0x41...0x46: d = UInt32(c - 0x41 + 10)
            case 0x61...0x66: d = UInt32(c - 0x61 + 10)
            default: throw fail("bad \\u escape")
            }
            v = v << 4 | d
        }
        return v
    }
}
