// Splits a template into text and tag tokens as jinja2's lexer does with transformers' options
// (trim_blocks, lstrip_blocks, keep_trailing_newline off, "-"/"+" whitespace control, comments, raw blocks).

struct JinjaToken {
    enum Kind: Equatable { case data, varBegin, varEnd, blockBegin, blockEnd, name, string, integer, float, op, eof }
    var kind: Kind
    var text: String
    var line: Int
    var intValue = 0
    var doubleValue = 0.0
}

struct JinjaLexer {
    /// jinja2's Environment options as transformers' `_compile_jinja_template` sets them.
    var trimBlocks = true
    var lstripBlocks = true

    private var src: [Unicode.Scalar] = []
    private var pos = 0
    private var line = 1
    private var tokens: [JinjaToken] = []

    init(trimBlocks: Bool = true, lstripBlocks: Bool = true) {
        self.trimBlocks = trimBlocks
        self.lstripBlocks = lstripBlocks
    }

    /// The tokens of `source`; a syntax error names its line.
    mutating func tokenize(_ source: String) throws -> [JinjaToken] {
        // jinja2 (lexer.py, tokeniter): newlines are \n, \r\n or \r, joined again as \n; one trailing newline dropped.
        var lines: [[Unicode.Scalar]] = [[]]
        let s = source.scalars
        var k = 0
        while k < s.count {
            let u = s[k]
            if u == "\r" || u == "\n" {
                if u == "\r" && k + 1 < s.count && s[k + 1] == "\n" { k += 1 }
                lines.append([])
            } else {
                lines[lines.count - 1].append(u)
            }
            k += 1
        }
        if lines.count > 1 && lines.last!.isEmpty { lines.removeLast() }
        src = Array(lines.joined(separator: ["\n"]))
        pos = 0
        line = 1
        tokens = []
        var lineStarting = true
        while pos < src.count {
            guard let (tagStart, tag, sign) = nextTag(from: pos) else {
                emitData(Array(src[pos...]))
                pos = src.count
                break
            }
            var text = Array(src[pos..<tagStart])
            if sign == "-" {
                var end = text.count
                while end > 0 && pyIsSpace(text[end - 1]) { end -= 1 }
                text.removeSubrange(end...)
            } else if sign != "+" && lstripBlocks && tag != "{{" {
                let lPos = (text.lastIndex(of: "\n") ?? -1) + 1
                if lPos > 0 || lineStarting, lPos < text.count, text[lPos...].allSatisfy(pyIsSpace) {
                    text.removeSubrange(lPos...)
                }
            }
            // line counting covers the stripped text too (jinja2 counts the newlines it stripped)
            let textLine = line
            line += src[pos..<tagStart].filter { $0 == "\n" }.count
            if !text.isEmpty { tokens.append(JinjaToken(kind: .data, text: String(scalars: text), line: textLine)) }
            pos = tagStart + 2 + (sign == nil ? 0 : 1)
            switch tag {
            case "{#": lineStarting = try comment()
            case "{{": lineStarting = try tagBody(block: false)
            default:
                if let starting = try rawBlock() { lineStarting = starting } else { lineStarting = try tagBody(block: true) }
            }
        }
        tokens.append(JinjaToken(kind: .eof, text: "", line: line))
        return tokens
    }

    private mutating func emitData(_ text: [Unicode.Scalar]) {
        guard !text.isEmpty else { return }
        tokens.append(JinjaToken(kind: .data, text: String(scalars: text), line: line))
        line += text.filter { $0 == "\n" }.count
    }

    /// The next `{{`, `{%` or `{#` at or after `from`, with its whitespace-control sign.
    private func nextTag(from: Int) -> (Int, String, Unicode.Scalar?)? {
        var i = from
        while i + 1 < src.count {
            if src[i] == "{", src[i + 1] == "{" || src[i + 1] == "%" || src[i + 1] == "#" {
                let sign: Unicode.Scalar? = i + 2 < src.count && (src[i + 2] == "-" || src[i + 2] == "+") ? src[i + 2] : nil
                return (i, "{" + String(src[i + 1]), sign)
            }
            i += 1
        }
        return nil
    }

    private func starts(_ s: String, at i: Int) -> Bool {
        let p = s.scalars
        return i + p.count <= src.count && src[i..<(i + p.count)].elementsEqual(p)
    }

    /// Consumes `\s*` after `-%}`/`-}}`/`-#}`, or one newline after `%}`/`#}` with trim_blocks. Returns
    /// whether what it consumed ended with a newline (jinja2's line_starting for lstrip_blocks).
    private mutating func afterEnd(minus: Bool, plus: Bool, trims: Bool) -> Bool {
        if minus {
            let start = pos
            while pos < src.count && pyIsSpace(src[pos]) { pos += 1 }
            line += src[start..<pos].filter { $0 == "\n" }.count
            return pos > start && src[pos - 1] == "\n"
        }
        if !plus && trims && trimBlocks && pos < src.count && src[pos] == "\n" {
            pos += 1
            line += 1
            return true
        }
        return false
    }

    private mutating func comment() throws -> Bool {
        let startLine = line
        while pos + 1 < src.count {
            if src[pos] == "+" && starts("+#}", at: pos) { pos += 3; return afterEnd(minus: false, plus: true, trims: true) }
            if src[pos] == "-" && starts("-#}", at: pos) { pos += 3; return afterEnd(minus: true, plus: false, trims: true) }
            if src[pos] == "#" && src[pos + 1] == "}" { pos += 2; return afterEnd(minus: false, plus: false, trims: true) }
            if src[pos] == "\n" { line += 1 }
            pos += 1
        }
        throw JinjaError(.syntax, "Missing end of comment tag", line: startLine)
    }

    /// `{% raw %}...{% endraw %}`: the text between is data, untouched. nil when the tag is not `raw`; else
    /// whether what follows starts a line (for lstrip_blocks).
    private mutating func rawBlock() throws -> Bool? {
        var i = pos
        while i < src.count && pyIsSpace(src[i]) { i += 1 }
        guard starts("raw", at: i) else { return nil }
        i += 3
        while i < src.count && pyIsSpace(src[i]) { i += 1 }
        var minus = false
        if starts("-%}", at: i) { minus = true; i += 3 } else if starts("%}", at: i) { i += 2 } else { return nil }
        let startLine = line, entry = pos
        pos = i
        if minus { while pos < src.count && pyIsSpace(src[pos]) { pos += 1 } }
        // find {%(-|+)? endraw (-|+)?%}
        var j = pos
        while j + 1 < src.count {
            if src[j] == "{" && src[j + 1] == "%" {
                var k = j + 2
                var sign: Unicode.Scalar?
                if k < src.count && (src[k] == "-" || src[k] == "+") { sign = src[k]; k += 1 }
                while k < src.count && pyIsSpace(src[k]) { k += 1 }
                if starts("endraw", at: k) {
                    k += 6
                    while k < src.count && pyIsSpace(src[k]) { k += 1 }
                    var endMinus = false, endPlus = false
                    if starts("-%}", at: k) { endMinus = true; k += 3 } else if starts("+%}", at: k) { endPlus = true; k += 3 }
                    else if starts("%}", at: k) { k += 2 } else { j += 1; continue }
                    var text = Array(src[pos..<j])
                    if sign == "-" { while let l = text.last, pyIsSpace(l) { text.removeLast() } }
                    else if sign != "+" && lstripBlocks {
                        let lPos = (text.lastIndex(of: "\n") ?? -1) + 1
                        if lPos > 0, lPos < text.count, text[lPos...].allSatisfy(pyIsSpace) { text.removeSubrange(lPos...) }
                    }
                    line = startLine + src[entry..<pos].filter { $0 == "\n" }.count
                    emitData(text)
                    line = startLine + src[entry..<k].filter { $0 == "\n" }.count
                    pos = k
                    return afterEnd(minus: endMinus, plus: endPlus, trims: true) || src[pos - 1] == "\n"
                }
            }
            j += 1
        }
        throw JinjaError(.syntax, "Missing end of raw directive", line: startLine)
    }

    /// The tokens inside `{{ ... }}` or `{% ... %}` up to its end (brackets balanced first, as jinja2 does).
    private mutating func tagBody(block: Bool) throws -> Bool {
        let startLine = line
        tokens.append(JinjaToken(kind: block ? .blockBegin : .varBegin, text: "", line: line))
        var balance: [Unicode.Scalar] = []
        while pos < src.count {
            if balance.isEmpty {
                if block {
                    if starts("+%}", at: pos) { pos += 3; return endTag(.blockEnd, afterEnd(minus: false, plus: true, trims: true)) }
                    if starts("-%}", at: pos) { pos += 3; return endTag(.blockEnd, afterEnd(minus: true, plus: false, trims: true)) }
                    if starts("%}", at: pos) { pos += 2; return endTag(.blockEnd, afterEnd(minus: false, plus: false, trims: true)) }
                } else {
                    if starts("-}}", at: pos) { pos += 3; return endTag(.varEnd, afterEnd(minus: true, plus: false, trims: false)) }
                    if starts("}}", at: pos) { pos += 2; return endTag(.varEnd, false) }
                }
            }
            let u = src[pos]
            if pyIsSpace(u) {
                if u == "\n" { line += 1 }
                pos += 1
                continue
            }
            if u.properties.numericType == .decimal && u.isASCII {
                try number()
                continue
            }
            if u == "_" || u.properties.isAlphabetic {
                let start = pos
                while pos < src.count && (src[pos] == "_" || src[pos].properties.isAlphabetic
                                          || (src[pos].isASCII && src[pos].properties.numericType == .decimal)) { pos += 1 }
                tokens.append(JinjaToken(kind: .name, text: String(scalars: src[start..<pos]), line: line))
                continue
            }
            if u == "'" || u == "\"" {
                try stringLiteral(quote: u)
                continue
            }
            var op = ""
            for candidate in ["//", "**", "==", "!=", "<=", ">="] where starts(candidate, at: pos) { op = candidate; break }
            if op.isEmpty {
                guard "+-/*%~[](){}<>=.:|,;".unicodeScalars.contains(u) else {
                    throw JinjaError(.syntax, "unexpected char \(pyStringRepr(String(u))) at \(pos)", line: line)
                }
                op = String(u)
            }
            switch op {
            case "(": balance.append(")")
            case "[": balance.append("]")
            case "{": balance.append("}")
            case ")", "]", "}":
                guard let expected = balance.popLast() else { throw JinjaError(.syntax, "unexpected '\(op)'", line: line) }
                guard String(expected) == op else {
                    throw JinjaError(.syntax, "unexpected '\(op)', expected '\(expected)'", line: line)
                }
            default: break
            }
            tokens.append(JinjaToken(kind: .op, text: op, line: line))
            pos += op.unicodeScalars.count
        }
        throw JinjaError(.syntax, "unexpected end of template, expected '\(block ? "end of statement block" : "end of print statement")'",
                         line: startLine)
    }

    private mutating func endTag(_ kind: JinjaToken.Kind, _ lineStarting: Bool) -> Bool {
        tokens.append(JinjaToken(kind: kind, text: "", line: line))
        return lineStarting
    }

    private func isDigit(_ i: Int) -> Bool { i < src.count && src[i].isASCII && src[i].properties.numericType == .decimal }

    /// jinja2's integer `(\d+_)*\d+` and float (a fraction and/or exponent) literals.
    private mutating func number() throws {
        let start = pos
        func digits() { while isDigit(pos) || (pos < src.count && src[pos] == "_" && isDigit(pos + 1) && pos > start) { pos += 1 } }
        digits()
        var isFloat = false
        if pos < src.count && src[pos] == "." && isDigit(pos + 1) {
            isFloat = true
            pos += 1
            digits()
        }
        if pos < src.count && (src[pos] == "e" || src[pos] == "E") {
            var k = pos + 1
            if k < src.count && (src[k] == "+" || src[k] == "-") { k += 1 }
            if isDigit(k) {
                isFloat = true
                pos = k
                digits()
            }
        }
        let text = String(scalars: src[start..<pos].filter { $0 != "_" })
        if isFloat {
            guard let d = Double(text) else { throw JinjaError(.syntax, "bad number \(text)", line: line) }
            tokens.append(JinjaToken(kind: .float, text: text, line: line, doubleValue: d))
        } else {
            guard let n = Int(text) else { throw JinjaError(.limit, "integer literal \(text) does not fit in 64 bits", line: line) }
            tokens.append(JinjaToken(kind: .integer, text: text, line: line, intValue: n))
        }
    }

    /// A quoted string with Python's escapes (jinja2 decodes literals with "unicode-escape").
    private mutating func stringLiteral(quote: Unicode.Scalar) throws {
        let startLine = line
        pos += 1
        var out: [Unicode.Scalar] = []
        while true {
            guard pos < src.count else { throw JinjaError(.syntax, "unexpected char \(pyStringRepr(String(quote))) at \(pos)", line: startLine) }
            let u = src[pos]
            if u == quote { pos += 1; break }
            if u == "\n" { line += 1 }
            if u != "\\" { out.append(u); pos += 1; continue }
            pos += 1
            guard pos < src.count else { continue }
            let e = src[pos]
            pos += 1
            switch e {
            case "\n": line += 1
            case "\\": out.append("\\")
            case "'": out.append("'")
            case "\"": out.append("\"")
            case "a": out.append("\u{07}")
            case "b": out.append("\u{08}")
            case "f": out.append("\u{0C}")
            case "n": out.append("\n")
            case "r": out.append("\r")
            case "t": out.append("\t")
            case "v": out.append("\u{0B}")
            case "0"..."7":
                var v = e.value - 0x30
                var n = 1
                while n < 3, pos < src.count, ("0"..."7").contains(src[pos]) { v = v * 8 + src[pos].value - 0x30; pos += 1; n += 1 }
                out.append(Unicode.Scalar(v)!)
            case "x", "u", "U":
                let width = e == "x" ? 2 : e == "u" ? 4 : 8
                guard pos + width <= src.count, let v = UInt32(String(scalars: src[pos..<(pos + width)]), radix: 16),
                      let scalar = Unicode.Scalar(v) else {
                    throw JinjaError(.syntax, "bad \\\(e) escape in a string literal", line: line)
                }
                out.append(scalar)
                pos += width
            case "N": throw JinjaError(.unsupported, "\\N{...} escapes in string literals", line: line)
            default:
                out.append("\\")
                out.append(e)
                if e == "\n" { line += 1 }
            }
        }
        tokens.append(JinjaToken(kind: .string, text: String(scalars: out), line: startLine))
    }
}
