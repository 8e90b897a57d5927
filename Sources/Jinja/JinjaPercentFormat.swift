// Python's printf-style `str % args` (what jinja2's `%` operator and `format` filter call), for %s %r %d %i %u %f %F %x %X %o %%.

import Foundation

extension JinjaInterpreter {
    /// `format % args` with CPython's rules (Objects/unicodeobject.c PyUnicode_Format): a tuple gives the
    /// positional values, any other single value is one value; a mapping (dict, or any non-tuple non-str
    /// subscriptable such as a list) serves `%(key)s` and silences "not all arguments converted".
    /// Flags `-+ #0`, a width and a `.precision` (digits only; `*` is refused as unsupported), length modifiers h/l/L ignored.
    func percentFormat(_ format: String, _ args: JinjaValue) throws -> String {
        let args = args.plain
        var values: [JinjaValue]
        var single = false
        if case .list(let items, let k) = args, k == .tuple || k == .groupTuple { values = items } else { values = [args]; single = true }
        var mapping: JinjaValue?
        switch args {
        case .dict: mapping = args
        case .list(_, let k) where k == .list: mapping = args
        default: break
        }
        let f = Array(format.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        var used = 0
        func next() throws -> JinjaValue {
            guard used < values.count else { throw error(.type, "not enough arguments for format string") }
            used += 1
            return values[used - 1]
        }
        while i < f.count {
            let u = f[i]
            i += 1
            guard u == "%" else { out.append(u); continue }
            guard i < f.count else { throw error(.type, "incomplete format") }
            var keyed: JinjaValue?
            if f[i] == "(" {
                guard let m = mapping else { throw error(.type, "format requires a mapping") }
                var depth = 1, j = i + 1
                while j < f.count && depth > 0 {
                    if f[j] == "(" { depth += 1 } else if f[j] == ")" { depth -= 1 }
                    j += 1
                }
                guard depth == 0 else { throw error(.type, "incomplete format key") }
                let key = String(String.UnicodeScalarView(f[(i + 1)..<(j - 1)]))
                if case .dict(let d) = m {
                    guard let v = d[.string(key)] else { throw error(.type, "KeyError: \(JinjaValue.string(key).pyRepr)") }
                    keyed = v
                } else {
                    throw error(.type, "\(m.typeName) indices must be integers or slices, not str")
                }
                i = j
            }
            var left = false, plus = false, space = false, alt = false, zero = false
            flags: while i < f.count {
                switch f[i] {
                case "-": left = true
                case "+": plus = true
                case " ": space = true
                case "#": alt = true
                case "0": zero = true
                default: break flags
                }
                i += 1
            }
            func number() throws -> Int? {
                guard i < f.count else { return nil }
                if f[i] == "*" { throw error(.unsupported, "'*' width or precision in a %-format string") }
                var n: Int?
                while i < f.count, let d = Int(String(f[i])), f[i].isASCII {
                    n = (n ?? 0) * 10 + d
                    guard n! <= limits.maxOutputScalars else { throw error(.limit, "a %-format width or precision above \(limits.maxOutputScalars)") }
                    i += 1
                }
                return n
            }
            let width = try number() ?? 0
            var precision: Int?
            if i < f.count, f[i] == "." { i += 1; precision = try number() ?? 0 }
            while i < f.count, f[i] == "h" || f[i] == "l" || f[i] == "L" { i += 1 }
            guard i < f.count else { throw error(.type, "incomplete format") }
            let c = f[i]
            i += 1
            if c == "%" { out.append("%"); continue }
            let v = try keyed ?? next()
            var sign = "", prefix = "", body: String
            var numeric = true
            switch c {
            case "s", "r":
                numeric = false
                body = c == "s" ? v.plain.pyStr : v.pyRepr
                if let p = precision { body = String(String.UnicodeScalarView(body.unicodeScalars.prefix(p))) }
            case "d", "i", "u", "x", "X", "o":
                let digits: String
                let negative: Bool
                switch v.plain {
                case .bool, .int:
                    let n = v.plain.integer!
                    negative = n < 0
                    let m = n.magnitude
                    digits = c == "x" ? String(m, radix: 16) : c == "X" ? String(m, radix: 16, uppercase: true)
                        : c == "o" ? String(m, radix: 8) : String(m)
                case .double(let d) where "diu".unicodeScalars.contains(c):
                    guard !d.isNaN else { throw error(.type, "cannot convert float NaN to integer") }
                    guard d.isFinite else { throw error(.type, "cannot convert float infinity to integer") }
                    let t = d.rounded(.towardZero)
                    negative = t < 0
                    digits = String(format: "%.0f", abs(t))
                case .double:
                    throw error(.type, "%\(Character(c)) format: an integer is required, not float")
                default:
                    let what = "diu".unicodeScalars.contains(c) ? "a real number" : "an integer"
                    throw error(.type, "%\(Character(c)) format: \(what) is required, not \(v.plain.typeName)")
                }
                sign = negative ? "-" : plus ? "+" : space ? " " : ""
                if alt { prefix = c == "x" ? "0x" : c == "X" ? "0X" : c == "o" ? "0o" : "" }
                body = digits
                if let p = precision, body.count < p { body = String(repeating: "0", count: p - body.count) + body }
            case "f", "F":
                guard let d = v.plain.number else { throw error(.type, "must be real number, not \(v.plain.typeName)") }
                let p = precision ?? 6
                if d.isNaN || d.isInfinite {
                    body = d.isNaN ? "nan" : "inf"
                    if c == "F" { body = body.uppercased() }
                } else {
                    body = String(format: alt ? "%#.*f" : "%.*f", p, abs(d))
                }
                let negative = d.sign == .minus && !d.isNaN
                sign = negative ? "-" : plus ? "+" : space ? " " : ""
                if !d.isFinite { zero = false }
            default:
                throw error(.unsupported, "%\(Character(c)) in a %-format string")
            }
            let length = sign.unicodeScalars.count + prefix.count + body.unicodeScalars.count
            let pad = max(0, width - length)
            if left {
                out.append(contentsOf: (sign + prefix + body + String(repeating: " ", count: pad)).unicodeScalars)
            } else if zero && numeric {
                out.append(contentsOf: (sign + prefix + String(repeating: "0", count: pad) + body).unicodeScalars)
            } else {
                out.append(contentsOf: (String(repeating: " ", count: pad) + sign + prefix + body).unicodeScalars)
            }
            guard out.count <= limits.maxOutputScalars else { throw error(.limit, "a string longer than \(limits.maxOutputScalars) characters") }
        }
        if mapping == nil && (single ? used == 0 : used < values.count) {
            throw error(.type, "not all arguments converted during string formatting")
        }
        return String(out)
    }
}
