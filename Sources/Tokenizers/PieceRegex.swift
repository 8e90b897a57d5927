// A small leftmost-first regex engine for pre-tokenizer patterns, in linear time (bit-state backtracking).

/// What the pattern's classes mean, i.e. which regex library's behaviour is reproduced.
enum RegexDialect: Sendable, Equatable {
    /// llama.cpp `unicode_regex_split` on a pattern with `\p{…}`: std::regex (ECMAScript) over the
    /// "collapsed" text, where every code point ≥ 128 is one byte — 0x0B if White_Space, else its category
    /// (N 0xD1, L 0xD2, P 0xD3, M 0xD4, S 0xD5, other 0xD0) — and `\p{X}` stands for that byte plus
    /// llama.cpp's ASCII members of X (llama.cpp `src/unicode.cpp` k_ucat_cpt / k_ucat_map: `~` is in none).
    case llamaCollapsed
    /// llama.cpp on a pattern without `\p{…}`: std::wregex over code points, non-ASCII White_Space
    /// replaced by 0x0B; `\s` is the C locale's six ASCII spaces.
    case llamaWide
    /// Oniguruma as HF tokenizers runs a `Split` pattern: Unicode general categories, `\s` = White_Space.
    case unicode
}

/// A failure to compile a pattern, with the offset it stopped at.
struct RegexSyntaxError: Error, CustomStringConvertible {
    let pattern: String
    let offset: Int
    let reason: String
    var description: String { "pattern \"\(pattern)\" at character \(offset): \(reason)" }
}

/// One compiled pattern. `firstMatch` finds the leftmost match as ECMAScript / Oniguruma backtracking
/// would (alternatives in order, greedy quantifiers), but never revisits a (instruction, position) state,
/// so each search is O(program × text).
struct PieceRegex: Sendable {
    let source: String
    let dialect: RegexDialect
    fileprivate let program: [Instruction]
    /// Programs of the lookahead bodies, by index.
    fileprivate let lookaheads: [[Instruction]]

    init(_ pattern: String, dialect: RegexDialect) throws(RegexSyntaxError) {
        var parser = RegexParser(pattern: pattern, dialect: dialect)
        let node = try parser.parseAll()
        var compiler = RegexCompiler()
        compiler.emit(node)
        compiler.code.append(.match)
        source = pattern
        self.dialect = dialect
        program = compiler.code
        lookaheads = compiler.lookaheads
    }

    /// The leftmost match in `subject[from..<end]`, as (start, end), or nil.
    func firstMatch(_ subject: RegexSubject, from: Int, end: Int) -> (Int, Int)? {
        var search = RegexSearch(self, subject, base: from, end: end)
        return search.first(from: from)
    }

    /// Splits `subject[range]` as llama.cpp's `unicode_regex_split_stl` does: each match is a piece and so
    /// is each stretch between matches. Appends the piece lengths (in subject units) to `out`.
    func split(_ subject: RegexSubject, _ range: Range<Int>, into out: inout [Int]) {
        var search = RegexSearch(self, subject, base: range.lowerBound, end: range.upperBound)
        var last = range.lowerBound, pos = range.lowerBound
        while pos < range.upperBound, let (s, e) = search.first(from: pos) {
            if e == s { pos = s + 1; continue }   // an empty match splits nothing
            if s > last { out.append(s - last) }
            out.append(e - s)
            last = e
            pos = e
        }
        if range.upperBound > last { out.append(range.upperBound - last) }
    }
}

/// The searches of one pattern over one stretch of a subject, sharing their visited-state bits (cleared
/// after each search where it wrote them, so a split costs O(program × text) overall).
fileprivate struct RegexSearch {
    let regex: PieceRegex
    let subject: RegexSubject
    let base: Int
    let end: Int
    var visited: VisitedSet
    var lookVisited: [VisitedSet]

    init(_ regex: PieceRegex, _ subject: RegexSubject, base: Int, end: Int) {
        self.regex = regex
        self.subject = subject
        self.base = base
        self.end = end
        visited = VisitedSet(states: regex.program.count, positions: end - base + 1)
        lookVisited = regex.lookaheads.map { VisitedSet(states: $0.count, positions: end - base + 1) }
    }

    /// The leftmost match starting at or after `from`.
    mutating func first(from: Int) -> (Int, Int)? {
        var v = visited
        visited = VisitedSet.none    // moved out, so that writing it copies nothing
        defer { v.clear(); visited = v }
        var start = from
        while start <= end {
            if let e = run(regex.program, start, &v) { return (start, e) }
            start += 1
        }
        return nil
    }

    /// Backtracking from (pc 0, `start`); returns the end of the first match in priority order.
    private mutating func run(_ code: [Instruction], _ start: Int, _ visited: inout VisitedSet) -> Int? {
        var stack: [(Int, Int)] = [(0, start)]
        while let (pc0, pos0) = stack.popLast() {
            var pc = pc0, pos = pos0
            while true {
                if !visited.insert(pc, pos - base) { break }
                switch code[pc] {
                case .match:
                    return pos
                case .symbol(let set):
                    guard pos < end, set.contains(subject.values[pos], subject.flags[pos]) else { break }
                    pc += 1; pos += 1; continue
                case .split(let first, let second):
                    stack.append((second, pos))
                    pc = first; continue
                case .jump(let to):
                    pc = to; continue
                case .assertEnd:
                    guard pos == end else { break }
                    pc += 1; continue
                case .assertStart:
                    guard pos == subject.anchorStart else { break }
                    pc += 1; continue
                case .lookahead(let index, let negative):
                    var inner = lookVisited[index]
                    lookVisited[index] = VisitedSet.none
                    let found = run(regex.lookaheads[index], pos, &inner) != nil
                    inner.clear()
                    lookVisited[index] = inner
                    guard found != negative else { break }
                    pc += 1; continue
                }
                break
            }
        }
        return nil
    }
}

/// The text a pattern runs over: one value per code point (collapsed or not, per the dialect) and its
/// Unicode category flags.
struct RegexSubject {
    var values: [UInt32]
    var flags: [UInt8]
    /// Where `^` matches (the start of the piece being split).
    var anchorStart = 0
}

/// Bits of `UnicodeCategory.flags`.
enum CategoryBit {
    static let letter: UInt8 = 1, number: UInt8 = 2, punctuation: UInt8 = 4, mark: UInt8 = 8
    static let symbol: UInt8 = 16, separator: UInt8 = 32, other: UInt8 = 64, whitespace: UInt8 = 128
}

enum UnicodeCategory {
    /// Category bits of a code point (whitespace = the White_Space property).
    static func flags(_ v: UInt32) -> UInt8 {
        guard let s = Unicode.Scalar(v) else { return CategoryBit.other }
        let p = s.properties
        var f: UInt8 = p.isWhitespace ? CategoryBit.whitespace : 0
        switch p.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: f |= CategoryBit.letter
        case .decimalNumber, .letterNumber, .otherNumber: f |= CategoryBit.number
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
             .finalPunctuation, .otherPunctuation: f |= CategoryBit.punctuation
        case .nonspacingMark, .spacingMark, .enclosingMark: f |= CategoryBit.mark
        case .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol: f |= CategoryBit.symbol
        case .spaceSeparator, .lineSeparator, .paragraphSeparator: f |= CategoryBit.separator
        default: f |= CategoryBit.other
        }
        return f
    }

    /// llama.cpp's collapsed byte for a code point ≥ 128 (`unicode_regex_split`).
    static func collapsed(_ v: UInt32, _ f: UInt8) -> UInt32 {
        if v < 128 { return v }
        if f & CategoryBit.whitespace != 0 { return 0x0B }
        if f & CategoryBit.number != 0 { return 0xD1 }
        if f & CategoryBit.letter != 0 { return 0xD2 }
        if f & CategoryBit.punctuation != 0 { return 0xD3 }
        if f & CategoryBit.mark != 0 { return 0xD4 }
        if f & CategoryBit.symbol != 0 { return 0xD5 }
        return 0xD0
    }

    /// The subject for `scalars` in `dialect`.
    static func subject(_ scalars: [UInt32], dialect: RegexDialect) -> RegexSubject {
        var values = scalars
        var flags = [UInt8](repeating: 0, count: scalars.count)
        for (i, v) in scalars.enumerated() {
            let f = v < 128 ? asciiFlags[Int(v)] : Self.flags(v)
            flags[i] = f
            switch dialect {
            case .llamaCollapsed: values[i] = collapsed(v, f)
            case .llamaWide: if v > 0x7F && f & CategoryBit.whitespace != 0 { values[i] = 0x0B }
            case .unicode: break
            }
        }
        return RegexSubject(values: values, flags: flags)
    }

    static let asciiFlags: [UInt8] = (0..<128).map { flags(UInt32($0)) }
}

/// A set of subject values: ranges, category bits, negation.
struct SymbolSet: Sendable {
    var ranges: [ClosedRange<UInt32>] = []
    var categories: UInt8 = 0
    var negated = false

    @inline(__always)
    func contains(_ v: UInt32, _ f: UInt8) -> Bool {
        var hit = f & categories != 0
        if !hit { for r in ranges where r.contains(v) { hit = true; break } }
        return hit != negated
    }
}

fileprivate enum Instruction: Sendable {
    case symbol(SymbolSet)
    case split(Int, Int)    // try the first, then the second
    case jump(Int)
    case assertStart
    case assertEnd
    case lookahead(Int, negative: Bool)
    case match
}

/// (instruction, position) pairs already explored; `clear` resets only the words written since the last clear.
fileprivate struct VisitedSet {
    private var bits: [UInt64]
    private var touched: [Int] = []
    private let positions: Int

    init(states: Int, positions: Int) {
        self.positions = positions
        bits = [UInt64](repeating: 0, count: (states * positions + 63) / 64)
    }

    static let none = VisitedSet(states: 0, positions: 0)

    /// Marks the pair; false if it was marked already.
    @inline(__always)
    mutating func insert(_ pc: Int, _ pos: Int) -> Bool {
        let k = pc * positions + pos
        let (w, b) = (k >> 6, UInt64(1) << UInt64(k & 63))
        let word = bits[w]
        if word & b != 0 { return false }
        if word == 0 { touched.append(w) }
        bits[w] = word | b
        return true
    }

    mutating func clear() {
        for w in touched { bits[w] = 0 }
        touched.removeAll(keepingCapacity: true)
    }
}

fileprivate indirect enum RegexNode {
    case set(SymbolSet)
    case sequence([RegexNode])
    case alternation([RegexNode])
    case repeated(RegexNode, min: Int, max: Int?, greedy: Bool)
    case start
    case end
    case lookahead(RegexNode, negative: Bool)
}

fileprivate struct RegexParser {
    let scalars: [Unicode.Scalar]
    let pattern: String
    let dialect: RegexDialect
    var i = 0
    var caseless = false

    init(pattern: String, dialect: RegexDialect) {
        self.pattern = pattern
        self.scalars = Array(pattern.unicodeScalars)
        self.dialect = dialect
    }

    func error(_ reason: String) -> RegexSyntaxError { RegexSyntaxError(pattern: pattern, offset: i, reason: reason) }

    mutating func parseAll() throws(RegexSyntaxError) -> RegexNode {
        let n = try alternation()
        guard i == scalars.count else { throw error("unbalanced )") }
        return n
    }

    mutating func alternation() throws(RegexSyntaxError) -> RegexNode {
        var branches = [try sequence()]
        while i < scalars.count && scalars[i] == "|" {
            i += 1
            branches.append(try sequence())
        }
        return branches.count == 1 ? branches[0] : .alternation(branches)
    }

    mutating func sequence() throws(RegexSyntaxError) -> RegexNode {
        var items: [RegexNode] = []
        while i < scalars.count && scalars[i] != "|" && scalars[i] != ")" {
            var atom = try self.atom()
            while i < scalars.count {
                let c = scalars[i]
                var range: (Int, Int?)
                if c == "?" { range = (0, 1) } else if c == "*" { range = (0, nil) } else if c == "+" { range = (1, nil) }
                else if c == "{", let r = try braces() { range = r } else { break }
                if c != "{" { i += 1 }
                var greedy = true
                if i < scalars.count && scalars[i] == "?" { greedy = false; i += 1 }
                if i < scalars.count && scalars[i] == "+" { throw error("possessive quantifiers are not supported") }
                if case .start = atom { throw error("quantifier after ^") }
                atom = .repeated(atom, min: range.0, max: range.1, greedy: greedy)
            }
            items.append(atom)
        }
        return items.count == 1 ? items[0] : .sequence(items)
    }

    /// `{m}`, `{m,}`, `{m,n}` at `i`; nil (and `i` unchanged) if it is not a quantifier.
    mutating func braces() throws(RegexSyntaxError) -> (Int, Int?)? {
        var j = i + 1
        func number(_ j: inout Int) -> Int? {
            var v = 0, any = false
            while j < scalars.count, let d = scalars[j].properties.numericType != nil ? Int(String(scalars[j])) : nil, scalars[j].isASCII {
                v = v * 10 + d; any = true; j += 1
                if v > 1000 { return nil }
            }
            return any ? v : nil
        }
        guard let lo = number(&j) else { return nil }
        var hi: Int? = lo
        if j < scalars.count && scalars[j] == "," {
            j += 1
            hi = number(&j)
        }
        guard j < scalars.count && scalars[j] == "}" else { return nil }
        if let hi, hi < lo { throw error("{\(lo),\(hi)} is empty") }
        i = j + 1
        return (lo, hi)
    }

    mutating func atom() throws(RegexSyntaxError) -> RegexNode {
        let c = scalars[i]
        switch c {
        case "(":
            i += 1
            var look: Bool? = nil
            let savedCaseless = caseless
            if i + 1 < scalars.count && scalars[i] == "?" {
                switch scalars[i + 1] {
                case ":": i += 2
                case "=": look = false; i += 2
                case "!": look = true; i += 2
                case "i" where i + 2 < scalars.count && scalars[i + 2] == ":": caseless = true; i += 3
                default: throw error("unsupported group (?\(scalars[i + 1])")
                }
            }
            let inner = try alternation()
            caseless = savedCaseless
            guard i < scalars.count && scalars[i] == ")" else { throw error("missing )") }
            i += 1
            if let negative = look { return .lookahead(inner, negative: negative) }
            return inner
        case "[":
            return .set(try bracket())
        case ".":
            i += 1
            return .set(SymbolSet(ranges: [10...10, 13...13], negated: true))
        case "^": i += 1; return .start
        case "$": i += 1; return .end
        case "\\":
            return .set(try escape(inBracket: false))
        case "*", "+", "?": throw error("nothing to repeat")
        default:
            i += 1
            return .set(literal(c.value))
        }
    }

    /// A literal, with its other case when the group is caseless.
    func literal(_ v: UInt32) -> SymbolSet {
        var set = SymbolSet(ranges: [v...v])
        if caseless, let s = Unicode.Scalar(v) {
            for m in [s.properties.lowercaseMapping, s.properties.uppercaseMapping, s.properties.titlecaseMapping] {
                if m.unicodeScalars.count == 1, let o = m.unicodeScalars.first?.value, o != v { set.ranges.append(o...o) }
            }
            if v == 0x73 || v == 0x53 { set.ranges.append(0x17F...0x17F) }   // ſ folds to s
        }
        return set
    }

    mutating func bracket() throws(RegexSyntaxError) -> SymbolSet {
        i += 1
        var set = SymbolSet()
        if i < scalars.count && scalars[i] == "^" { set.negated = true; i += 1 }
        var first = true
        while i < scalars.count && (scalars[i] != "]" || first) {
            first = false
            var lo: UInt32
            if scalars[i] == "\\" {
                let e = try escape(inBracket: true)
                if e.ranges.count == 1 && e.categories == 0 && !e.negated && e.ranges[0].lowerBound == e.ranges[0].upperBound {
                    lo = e.ranges[0].lowerBound
                } else {
                    if e.negated { throw error("negated class escape inside [ ] is not supported") }
                    set.ranges += e.ranges; set.categories |= e.categories
                    continue
                }
            } else if scalars[i] == "[" {
                throw error("nested [ is not supported")
            } else {
                lo = scalars[i].value; i += 1
            }
            if i + 1 < scalars.count && scalars[i] == "-" && scalars[i + 1] != "]" {
                i += 1
                var hi: UInt32
                if scalars[i] == "\\" {
                    let e = try escape(inBracket: true)
                    guard e.ranges.count == 1, e.categories == 0, !e.negated else { throw error("bad range end") }
                    hi = e.ranges[0].lowerBound
                } else { hi = scalars[i].value; i += 1 }
                guard lo <= hi else { throw error("range out of order") }
                set.ranges.append(lo...hi)
            } else {
                set.ranges += literal(lo).ranges
            }
        }
        guard i < scalars.count else { throw error("missing ]") }
        i += 1
        return set
    }

    /// `\s`, `\S`, `\d`, `\p{X}`, `\P{X}`, `\r`, `\n`, `\t`, `\xHH`, `\uHHHH`, or an escaped literal.
    mutating func escape(inBracket: Bool) throws(RegexSyntaxError) -> SymbolSet {
        i += 1
        guard i < scalars.count else { throw error("trailing \\") }
        let c = scalars[i]
        i += 1
        switch c {
        case "s", "S": return SymbolSet(ranges: spaceRanges, categories: spaceCategories, negated: c == "S")
        case "d", "D": return SymbolSet(ranges: [48...57], negated: c == "D")
        case "w", "W": return SymbolSet(ranges: [48...57, 65...90, 95...95, 97...122], negated: c == "W")
        case "p", "P":
            guard i + 2 < scalars.count, scalars[i] == "{", scalars[i + 2] == "}" else { throw error("expected \\p{X}") }
            let name = scalars[i + 1]
            i += 3
            var set = try category(name)
            if c == "P" { set.negated.toggle() }
            return set
        case "r": return SymbolSet(ranges: [13...13])
        case "n": return SymbolSet(ranges: [10...10])
        case "t": return SymbolSet(ranges: [9...9])
        case "f": return SymbolSet(ranges: [12...12])
        case "v": return SymbolSet(ranges: [11...11])
        case "x", "u":
            let digits = c == "x" ? 2 : 4
            guard i + digits <= scalars.count,
                  let v = UInt32(String(String.UnicodeScalarView(scalars[i..<(i + digits)])), radix: 16) else {
                throw error("bad \\\(c) escape")
            }
            i += digits
            return literal(v)
        default:
            if c.properties.isAlphabetic || c.properties.numericType != nil { throw error("unsupported escape \\\(c)") }
            return literal(c.value)
        }
    }

    var spaceRanges: [ClosedRange<UInt32>] { [9...13, 32...32] }
    var spaceCategories: UInt8 { dialect == .unicode ? CategoryBit.whitespace : 0 }

    /// `\p{X}` in the dialect.
    func category(_ name: Unicode.Scalar) throws(RegexSyntaxError) -> SymbolSet {
        let bit: UInt8, collapsed: UInt32, ascii: [ClosedRange<UInt32>]
        switch name {
        case "N": bit = CategoryBit.number; collapsed = 0xD1; ascii = [0x30...0x39]
        case "L": bit = CategoryBit.letter; collapsed = 0xD2; ascii = [0x41...0x5A, 0x61...0x7A]
        case "P": bit = CategoryBit.punctuation; collapsed = 0xD3
            ascii = [0x21...0x23, 0x25...0x2A, 0x2C...0x2F, 0x3A...0x3B, 0x3F...0x40, 0x5B...0x5D, 0x5F...0x5F, 0x7B...0x7B, 0x7D...0x7D]
        case "M": bit = CategoryBit.mark; collapsed = 0xD4; ascii = []
        case "S": bit = CategoryBit.symbol; collapsed = 0xD5; ascii = [0x24...0x24, 0x2B...0x2B, 0x3C...0x3E, 0x5E...0x5E, 0x60...0x60, 0x7C...0x7C]
        default: throw error("unsupported category \\p{\(name)}")
        }
        switch dialect {
        case .llamaCollapsed: return SymbolSet(ranges: [collapsed...collapsed] + ascii)
        case .llamaWide: throw error("\\p{…} is only used with the collapsed text")
        case .unicode: return SymbolSet(categories: bit)
        }
    }
}

fileprivate struct RegexCompiler {
    var code: [Instruction] = []
    var lookaheads: [[Instruction]] = []

    mutating func emit(_ node: RegexNode) {
        switch node {
        case .set(let s): code.append(.symbol(s))
        case .start: code.append(.assertStart)
        case .end: code.append(.assertEnd)
        case .sequence(let items): for n in items { emit(n) }
        case .alternation(let branches):
            var jumps: [Int] = []
            for (k, b) in branches.enumerated() {
                if k < branches.count - 1 {
                    let split = code.count
                    code.append(.split(split + 1, -1))
                    emit(b)
                    jumps.append(code.count)
                    code.append(.jump(-1))
                    code[split] = .split(split + 1, code.count)
                } else {
                    emit(b)
                }
            }
            for j in jumps { code[j] = .jump(code.count) }
        case .repeated(let body, let lo, let hi, let greedy):
            for _ in 0..<lo { emit(body) }
            if let hi {
                var exits: [Int] = []
                for _ in lo..<hi {
                    exits.append(code.count)
                    code.append(.split(-1, -1))
                    emit(body)
                }
                for e in exits { code[e] = greedy ? .split(e + 1, code.count) : .split(code.count, e + 1) }
            } else {
                let loop = code.count
                code.append(.split(-1, -1))
                emit(body)
                code.append(.jump(loop))
                code[loop] = greedy ? .split(loop + 1, code.count) : .split(code.count, loop + 1)
            }
        case .lookahead(let body, let negative):
            let saved = code
            code = []
            emit(body)
            code.append(.match)
            lookaheads.append(code)
            code = saved
            code.append(.lookahead(lookaheads.count - 1, negative: negative))
        }
    }
}
