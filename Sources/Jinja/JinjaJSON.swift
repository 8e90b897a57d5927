// JSON in and out of template values: Python's json.dumps as transformers' tojson calls it, and an order-keeping reader.

/// `json.dumps(value, ensure_ascii, indent, separators, sort_keys)` as Python writes it
/// (transformers overrides jinja2's `tojson` with exactly this call; ensure_ascii defaults to False).
public struct PyJSONDumps {
    public var ensureASCII = false
    /// nil: one line; otherwise the indentation of each level (Python: an int n is n spaces).
    public var indent: String? = nil
    public var separators: (item: String, key: String)? = nil
    public var sortKeys = false

    public init() {}

    public func dumps(_ v: JinjaValue) throws -> String {
        var out = ""
        try write(v, level: 0, into: &out, depth: 0)
        return out
    }

    private func write(_ v: JinjaValue, level: Int, into out: inout String, depth: Int) throws {
        guard depth < 512 else { throw JinjaError(.limit, "tojson: value nested deeper than 512 levels") }
        let v = v.plain
        let item = separators?.item ?? (indent == nil ? ", " : ",")
        let key = separators?.key ?? ": "
        switch v {
        case .none: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d):
            out += d.isNaN ? "NaN" : d.isInfinite ? (d < 0 ? "-Infinity" : "Infinity") : pyFloatRepr(d)
        case .string(let s): writeString(s, into: &out)
        case .list(let items, let kind) where kind.isSequence:
            if items.isEmpty { out += "[]"; return }
            out += "["
            for (i, x) in items.enumerated() {
                if i > 0 { out += item }
                newline(level + 1, &out)
                try write(x, level: level + 1, into: &out, depth: depth + 1)
            }
            newline(level, &out)
            out += "]"
        case .dict(let d):
            if d.isEmpty { out += "{}"; return }
            var pairs: [(String, JinjaValue)] = try d.pairs.map { (try keyString($0.key), $0.value) }
            if sortKeys { pairs.sort { $0.0.unicodeScalars.lexicographicallyPrecedes($1.0.unicodeScalars) } }
            out += "{"
            for (i, (k, x)) in pairs.enumerated() {
                if i > 0 { out += item }
                newline(level + 1, &out)
                writeString(k, into: &out)
                out += key
                try write(x, level: level + 1, into: &out, depth: depth + 1)
            }
            newline(level, &out)
            out += "}"
        default:
            throw JinjaError(.type, "Object of type \(v.typeName) is not JSON serializable")
        }
    }

    private func newline(_ level: Int, _ out: inout String) {
        guard let indent else { return }
        out += "\n"
        for _ in 0..<level { out += indent }
    }

    private func keyString(_ k: JinjaValue) throws -> String {
        switch k.plain {
        case .string(let s): return s
        case .none: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double(let d): return d.isNaN ? "NaN" : d.isInfinite ? (d < 0 ? "-Infinity" : "Infinity") : pyFloatRepr(d)
        default: throw JinjaError(.type, "keys must be str, int, float, bool or None, not \(k.typeName)")
        }
    }

    private func writeString(_ s: String, into out: inout String) {
        out += "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if u.value < 0x20 {
                    out += hex4(u.value)
                } else if ensureASCII && u.value > 0x7E {
                    if u.value > 0xFFFF {
                        let v = u.value - 0x10000
                        out += hex4(0xD800 + (v >> 10)) + hex4(0xDC00 + (v & 0x3FF))
                    } else {
                        out += hex4(u.value)
                    }
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        out += "\""
    }

    private func hex4(_ v: UInt32) -> String {
        let h = String(v, radix: 16)
        return "\\u" + String(repeating: "0", count: max(0, 4 - h.count)) + h
    }
}

/// Reads JSON into template values keeping object key order (Python's json.loads does); every byte is
/// hostile: errors name the byte offset, nesting is capped at 512 levels.
public struct JinjaJSONReader {
    private let b: [UInt8]
    private var i = 0

    public static func parse(_ text: String) throws -> JinjaValue {
        var r = JinjaJSONReader(b: Array(text.utf8))
        r.skipSpace()
        let v = try r.value(depth: 0)
        r.skipSpace()
        guard r.i == r.b.count else { throw r.fail("extra data") }
        return v
    }

    /// The JSON value that starts at byte `start` of `bytes` (leading whitespace skipped) and the byte offset just
    /// past it; what follows is left unread (a model's tool call is JSON followed by more text).
    public static func parsePrefix(_ bytes: [UInt8], from start: Int) throws -> (value: JinjaValue, end: Int) {
        var r = JinjaJSONReader(b: bytes)
        r.i = max(0, min(start, bytes.count))
        r.skipSpace()
        let v = try r.value(depth: 0)
        return (v, r.i)
    }

    private init(b: [UInt8]) { self.b = b }

    private func fail(_ what: String) -> JinjaError {
        JinjaError(.type, "invalid JSON at byte \(i): \(what)")
    }

    private mutating func skipSpace() {
        while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 }
    }

    private mutating func literal(_ s: String, _ v: JinjaValue) throws -> JinjaValue {
        let u = Array(s.utf8)
        guard i + u.count <= b.count, Array(b[i..<(i + u.count)]) == u else { throw fail("unexpected character") }
        i += u.count
        return v
    }

    private mutating func value(depth: Int) throws -> JinjaValue {
        guard depth < 512 else { throw fail("nested deeper than 512 levels") }
        guard i < b.count else { throw fail("unexpected end") }
        switch b[i] {
        case UInt8(ascii: "{"):
            i += 1
            var d = JinjaDict()
            skipSpace()
            if i < b.count, b[i] == UInt8(ascii: "}") { i += 1; return .dict(d) }
            while true {
                skipSpace()
                guard i < b.count, b[i] == UInt8(ascii: "\"") else { throw fail("expected a string key") }
                let k = try string()
                skipSpace()
                guard i < b.count, b[i] == UInt8(ascii: ":") else { throw fail("expected ':'") }
                i += 1
                skipSpace()
                d[k] = try value(depth: depth + 1)
                skipSpace()
                guard i < b.count else { throw fail("unexpected end") }
                if b[i] == UInt8(ascii: ",") { i += 1; continue }
                if b[i] == UInt8(ascii: "}") { i += 1; return .dict(d) }
                throw fail("expected ',' or '}'")
            }
        case UInt8(ascii: "["):
            i += 1
            var items: [JinjaValue] = []
            skipSpace()
            if i < b.count, b[i] == UInt8(ascii: "]") { i += 1; return .list(items) }
            while true {
                skipSpace()
                items.append(try value(depth: depth + 1))
                skipSpace()
                guard i < b.count else { throw fail("unexpected end") }
                if b[i] == UInt8(ascii: ",") { i += 1; continue }
                if b[i] == UInt8(ascii: "]") { i += 1; return .list(items) }
                throw fail("expected ',' or ']'")
            }
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): return try literal("true", .bool(true))
        case UInt8(ascii: "f"): return try literal("false", .bool(false))
        case UInt8(ascii: "n"): return try literal("null", .none)
        default: return try number()
        }
    }

    private mutating func number() throws -> JinjaValue {
        let start = i
        if i < b.count, b[i] == UInt8(ascii: "-") { i += 1 }
        var isFloat = false
        let digitsStart = i
        while i < b.count, (0x30...0x39).contains(b[i]) { i += 1 }
        guard i > digitsStart else { throw fail("unexpected character") }
        if i < b.count, b[i] == UInt8(ascii: ".") {
            isFloat = true
            i += 1
            let f = i
            while i < b.count, (0x30...0x39).contains(b[i]) { i += 1 }
            guard i > f else { throw fail("digits expected after '.'") }
        }
        if i < b.count, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
            isFloat = true
            i += 1
            if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
            let e = i
            while i < b.count, (0x30...0x39).contains(b[i]) { i += 1 }
            guard i > e else { throw fail("digits expected in the exponent") }
        }
        let text = String(decoding: b[start..<i], as: UTF8.self)
        if !isFloat, let n = Int(text) { return .int(n) }
        guard let d = Double(text) else { throw fail("bad number") }
        return .double(d)
    }

    private mutating func hex4() throws -> UInt32 {
        guard i + 4 <= b.count, let v = UInt32(String(decoding: b[i..<(i + 4)], as: UTF8.self), radix: 16) else {
            throw fail("bad \\u escape")
        }
        i += 4
        return v
    }

    private mutating func string() throws -> String {
        i += 1  // opening quote
        var out = String.UnicodeScalarView()
        var run = i
        func flush(_ to: Int) throws {
            guard let s = String(validating: b[run..<to], as: UTF8.self) else { throw fail("invalid UTF-8 in a string") }
            out.append(contentsOf: s.unicodeScalars)
        }
        while true {
            guard i < b.count else { throw fail("unterminated string") }
            let c = b[i]
            if c == UInt8(ascii: "\"") { try flush(i); i += 1; return String(out) }
            if c < 0x20 { throw fail("control character in a string") }
            if c != UInt8(ascii: "\\") { i += 1; continue }
            try flush(i)
            i += 1
            guard i < b.count else { throw fail("unterminated string") }
            let e = b[i]
            i += 1
            switch e {
            case UInt8(ascii: "\""): out.append("\"")
            case UInt8(ascii: "\\"): out.append("\\")
            case UInt8(ascii: "/"): out.append("/")
            case UInt8(ascii: "b"): out.append("\u{08}")
            case UInt8(ascii: "f"): out.append("\u{0C}")
            case UInt8(ascii: "n"): out.append("\n")
            case UInt8(ascii: "r"): out.append("\r")
            case UInt8(ascii: "t"): out.append("\t")
            case UInt8(ascii: "u"):
                var v = try hex4()
                if (0xD800..<0xDC00).contains(v), i + 6 <= b.count, b[i] == UInt8(ascii: "\\"), b[i + 1] == UInt8(ascii: "u") {
                    let save = i
                    i += 2
                    let lo = try hex4()
                    if (0xDC00..<0xE000).contains(lo) { v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00) } else { i = save }
                }
                out.append(Unicode.Scalar(v) ?? "\u{FFFD}")  // a lone surrogate cannot be a Swift string
            default: throw fail("bad escape")
            }
            run = i
        }
    }
}
