// How text is cut into pieces before BPE: hand-written matchers for the common regexes, the regex engine for the rest.

/// How text is cut into pieces before BPE. The hand-written cases reproduce one regex exactly (leftmost-first
/// alternation with backtracking, as tiktoken's fancy-regex, HF tokenizers' Oniguruma and llama.cpp's
/// custom splitters run it), in one left-to-right pass: every step looks at most one scalar past the run it
/// consumes. `steps` runs llama.cpp's regex lists one after the other, as `unicode_regex_split` does.
enum PreTokenizer: Sendable, Equatable {
    /// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
    /// as tiktoken and HF run it: `(?i:)` folds ſ (U+017F) to s.
    case llama3
    /// The Llama 3 regex with `\p{N}{1,digits}` (Qwen2: `\p{N}`); `foldLongS` as `.llama3` (HF) or not
    /// (llama.cpp's `(?:'[sS]|…)` and `unicode_tolower` leave ſ alone).
    case llama3Like(digits: Int, foldLongS: Bool)
    /// GPT-2: `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
    case gpt2
    /// HF `Digits(individual_digits: true)` then the GPT-2 regex on the text between digits
    /// (SmolLM2, StarCoder; llama.cpp pre-types "smollm", "starcoder").
    case gpt2SingleDigits
    /// llama.cpp's regex list for a pre-type (`name`), applied in order, each splitting the pieces of the last.
    case steps(name: String, [SplitStep])
}

/// One step of a llama.cpp regex list: a custom splitter, or a pattern run by `PieceRegex`.
enum SplitStep: Sendable, Equatable {
    case gpt2
    case llama3Like(digits: Int)
    case regex(PieceRegex)

    static func == (a: SplitStep, b: SplitStep) -> Bool {
        switch (a, b) {
        case (.gpt2, .gpt2): return true
        case (.llama3Like(let x), .llama3Like(let y)): return x == y
        case (.regex(let x), .regex(let y)): return x.source == y.source && x.dialect == y.dialect
        default: return false
        }
    }
}

/// Iterates over the pieces of `text[start..<end]`.
struct PieceSplitter {
    let text: ClassifiedUTF8
    let kind: PreTokenizer
    private(set) var position: Int
    let end: Int
    /// For `gpt2SingleDigits`: end of the current stretch without digits.
    private var stretchEnd: Int
    /// For `steps`: every piece end, computed at once.
    private var ends: [Int] = []
    private var nextEnd = 0

    init(_ text: ClassifiedUTF8, kind: PreTokenizer, range: Range<Int>) {
        self.text = text
        self.kind = kind
        self.position = range.lowerBound
        self.end = range.upperBound
        self.stretchEnd = range.lowerBound
        if case .steps(_, let steps) = kind { ends = Self.pieceEnds(text, steps, range) }
    }

    /// The end offset of the next piece (which starts at the current position), or nil at the end.
    @inline(__always)
    mutating func next() -> Int? {
        guard position < end else { return nil }
        let stop: Int
        switch kind {
        case .llama3: stop = llama3(position, end, digits: 3, foldLongS: true)
        case .llama3Like(let digits, let fold): stop = llama3(position, end, digits: digits, foldLongS: fold)
        case .gpt2: stop = gpt2(position, end)
        case .steps:
            stop = ends[nextEnd]
            nextEnd += 1
        case .gpt2SingleDigits:
            if position >= stretchEnd {
                let (c, n) = text.scalar(at: position)
                if c == .number { position += n; return position }
                var j = position + n
                while j < end {
                    let (cj, nj) = text.scalar(at: j)
                    if cj == .number { break }
                    j += nj
                }
                stretchEnd = j
            }
            stop = gpt2(position, stretchEnd)
        }
        position = stop
        return stop
    }

    // MARK: pieces of the regexes

    /// Length of a contraction `'s|'t|'re|'ve|'m|'ll|'d` at `i` (the byte at `i` is an apostrophe), or 0.
    /// `caseless` applies Unicode simple case folding as `(?i:)` does: S also matches ſ (U+017F).
    @inline(__always)
    private func contraction(_ i: Int, _ e: Int, caseless: Bool, foldLongS: Bool = true) -> Int {
        let b = text.bytes
        guard i + 1 < e else { return 0 }
        @inline(__always) func fold(_ x: UInt8) -> UInt8 { caseless && x >= 0x41 && x <= 0x5A ? x | 0x20 : x }
        let c1 = fold(b[i + 1])
        switch c1 {
        case UInt8(ascii: "s"), UInt8(ascii: "t"), UInt8(ascii: "m"), UInt8(ascii: "d"): return 2
        case UInt8(ascii: "r"), UInt8(ascii: "v"), UInt8(ascii: "l"):
            guard i + 2 < e else { return 0 }
            let want = c1 == UInt8(ascii: "l") ? UInt8(ascii: "l") : UInt8(ascii: "e")
            return fold(b[i + 2]) == want ? 3 : 0
        case 0xC5 where caseless && foldLongS:
            return i + 2 < e && b[i + 2] == 0xBF ? 3 : 0  // ſ
        default: return 0
        }
    }

    /// End of the run of scalars of class `c` starting at `i`, and the count taken (at most `limit`).
    @inline(__always)
    private func run(_ c: ScalarClass, from i: Int, _ e: Int, limit: Int = .max) -> Int {
        var j = i, count = 0
        while j < e && count < limit {
            let (cj, nj) = text.scalar(at: j)
            if cj != c { break }
            j += nj; count += 1
        }
        return j
    }

    /// Ends the match of the whitespace alternatives at `i`: `\s*[\r\n]+` (only if `newlineRule`),
    /// then `\s+(?!\S)`, then `\s+`.
    @inline(__always)
    private func whitespace(_ i: Int, _ e: Int, newlineRule: Bool) -> Int {
        var j = i, lastStart = i, afterNewline = -1
        while j < e {
            let (c, n) = text.scalar(at: j)
            if !c.isWhitespace { break }
            if c == .newline { afterNewline = j + n }
            lastStart = j
            j += n
        }
        if newlineRule && afterNewline >= 0 { return afterNewline }
        if j == e || lastStart == i { return j }
        return lastStart
    }

    func llama3(_ i: Int, _ e: Int, digits: Int, foldLongS: Bool) -> Int {
        let b = text.bytes
        if b[i] == UInt8(ascii: "'") {
            let n = contraction(i, e, caseless: true, foldLongS: foldLongS)
            if n > 0 { return i + n }
        }
        let (c0, n0) = text.scalar(at: i)
        switch c0 {
        case .letter:
            return run(.letter, from: i + n0, e)
        case .number:
            return run(.number, from: i, e, limit: digits)
        case .other, .space:
            if i + n0 < e {
                let (c1, n1) = text.scalar(at: i + n0)
                if c1 == .letter { return run(.letter, from: i + n0 + n1, e) }
                if c0 == .other {
                    return run(.newline, from: run(.other, from: i + n0, e), e)
                }
                if c1 == .other && b[i] == UInt8(ascii: " ") {
                    return run(.newline, from: run(.other, from: i + n0 + n1, e), e)
                }
            } else if c0 == .other {
                return i + n0
            }
            return whitespace(i, e, newlineRule: true)
        case .newline:
            return whitespace(i, e, newlineRule: true)
        }
    }

    func gpt2(_ i: Int, _ e: Int) -> Int {
        let b = text.bytes
        if b[i] == UInt8(ascii: "'") {
            let n = contraction(i, e, caseless: false)
            if n > 0 { return i + n }
        }
        let (c0, n0) = text.scalar(at: i)
        switch c0 {
        case .letter, .number, .other:
            return run(c0, from: i + n0, e)
        case .space, .newline:
            if b[i] == UInt8(ascii: " ") && i + 1 < e {
                let (c1, n1) = text.scalar(at: i + 1)
                if c1 == .letter || c1 == .number || c1 == .other { return run(c1, from: i + 1 + n1, e) }
            }
            return whitespace(i, e, newlineRule: false)
        }
    }
}
