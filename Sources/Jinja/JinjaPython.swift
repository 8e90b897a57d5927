// Python's text forms of values (str, repr, float repr) and the str methods' whitespace rules, as jinja2 prints them.

import Foundation

/// Python `str.isspace()` for one code point: Unicode White_Space plus the separators U+001C...U+001F.
func pyIsSpace(_ u: Unicode.Scalar) -> Bool {
    switch u.value {
    case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000: return true
    default: return false
    }
}

/// Python `str.splitlines()` line boundaries.
func pyIsLineBreak(_ u: Unicode.Scalar) -> Bool {
    switch u.value {
    case 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x85, 0x2028, 0x2029: return true
    default: return false
    }
}

extension String {
    var scalars: [Unicode.Scalar] { Array(unicodeScalars) }
    init(scalars: some Sequence<Unicode.Scalar>) {
        var v = String.UnicodeScalarView()
        v.append(contentsOf: scalars)
        self = String(v)
    }
}

/// Python `s.strip(chars)` / `lstrip` / `rstrip`; `chars` nil strips whitespace.
func pyStrip(_ s: String, _ chars: String?, left: Bool, right: Bool) -> String {
    let a = s.scalars
    let set = chars.map { Set($0.unicodeScalars) }
    let strip = { (u: Unicode.Scalar) in set.map { $0.contains(u) } ?? pyIsSpace(u) }
    var lo = 0, hi = a.count
    if left { while lo < hi && strip(a[lo]) { lo += 1 } }
    if right { while hi > lo && strip(a[hi - 1]) { hi -= 1 } }
    return String(scalars: a[lo..<hi])
}

/// Python `s.split(sep, maxsplit)`: nil `sep` splits on whitespace runs and drops empty parts.
func pySplit(_ s: String, _ sep: String?, maxsplit: Int) throws -> [String] {
    let a = s.scalars
    var out: [String] = []
    guard let sep else {
        var i = 0
        while i < a.count {
            while i < a.count && pyIsSpace(a[i]) { i += 1 }
            if i == a.count { break }
            if maxsplit >= 0 && out.count == maxsplit {
                var hi = a.count
                while hi > i && pyIsSpace(a[hi - 1]) { hi -= 1 }
                out.append(String(scalars: a[i..<hi]))
                return out
            }
            let start = i
            while i < a.count && !pyIsSpace(a[i]) { i += 1 }
            out.append(String(scalars: a[start..<i]))
        }
        return out
    }
    let p = sep.scalars
    guard !p.isEmpty else { throw JinjaError(.type, "empty separator") }
    var start = 0, i = 0
    while i + p.count <= a.count {
        if (maxsplit < 0 || out.count < maxsplit) && a[i..<(i + p.count)].elementsEqual(p) {
            out.append(String(scalars: a[start..<i]))
            i += p.count
            start = i
        } else {
            i += 1
        }
    }
    out.append(String(scalars: a[start...]))
    return out
}

/// Python `str.splitlines()` (without keepends); "\r\n" is one break.
func pySplitLines(_ s: String) -> [String] {
    let a = s.scalars
    var out: [String] = []
    var start = 0, i = 0
    while i < a.count {
        if pyIsLineBreak(a[i]) {
            out.append(String(scalars: a[start..<i]))
            if a[i] == "\r" && i + 1 < a.count && a[i + 1] == "\n" { i += 1 }
            start = i + 1
        }
        i += 1
    }
    if start < a.count { out.append(String(scalars: a[start...])) }
    return out
}

/// Python `str.replace(old, new, count)`, by code points (an empty `old` inserts between every code point).
func pyReplace(_ s: String, _ old: String, _ new: String, count: Int = -1) -> String {
    let a = s.scalars, o = old.scalars, n = new.scalars
    var out: [Unicode.Scalar] = []
    var done = 0
    if o.isEmpty {
        for (i, u) in a.enumerated() {
            if count < 0 || done < count { out += n; done += 1 }
            out.append(u)
            _ = i
        }
        if count < 0 || done < count { out += n }
        return String(scalars: out)
    }
    var i = 0
    while i < a.count {
        if (count < 0 || done < count) && i + o.count <= a.count && a[i..<(i + o.count)].elementsEqual(o) {
            out += n
            i += o.count
            done += 1
        } else {
            out.append(a[i])
            i += 1
        }
    }
    return String(scalars: out)
}

/// Python `str.upper()`/`lower()`; Foundation's mappings are Unicode's full case mappings as Python's are.
func pyUpper(_ s: String) -> String { s.uppercased() }
func pyLower(_ s: String) -> String { s.lowercased() }

/// Python `str.capitalize()`: first code point upper-cased (title case), the rest lower-cased.
func pyCapitalize(_ s: String) -> String {
    let a = s.scalars
    guard let first = a.first else { return s }
    return String(String(first).uppercased()) + pyLower(String(scalars: a.dropFirst()))
}

/// Python `str.title()`: a letter after a non-letter upper-cased, other letters lower-cased.
func pyTitle(_ s: String) -> String {
    var out = ""
    var previousCased = false
    for u in s.unicodeScalars {
        let cased = u.properties.isCased || u.properties.isAlphabetic
        if cased {
            out += previousCased ? String(u).lowercased() : String(u).uppercased()
        } else {
            out.unicodeScalars.append(u)
        }
        previousCased = cased
    }
    return out
}

/// Python `repr(float)` (also what `str(float)` and `json.dumps` print): shortest round-trip digits,
/// positional for exponents -4...15, else `d.ddde±XX`.
func pyFloatRepr(_ d: Double) -> String {
    if d.isNaN { return "nan" }
    if d.isInfinite { return d < 0 ? "-inf" : "inf" }
    if d == 0 { return d.sign == .minus ? "-0.0" : "0.0" }
    // Swift's description has the shortest round-trip digits too; take them apart into digits and exponent.
    var text = "\(abs(d))"
    var exp = 0
    if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
        exp = Int(text[text.index(after: e)...]) ?? 0
        text = String(text[..<e])
    }
    var intPart = text, frac = ""
    if let dot = text.firstIndex(of: ".") {
        intPart = String(text[..<dot])
        frac = String(text[text.index(after: dot)...])
    }
    var digits = intPart + frac
    exp += intPart.count - 1
    // strip leading zeros (0.00123 → digits 123, exponent shifts)
    while digits.count > 1 && digits.first == "0" { digits.removeFirst(); exp -= 1 }
    while digits.count > 1 && digits.last == "0" { digits.removeLast() }
    let sign = d < 0 ? "-" : ""
    if exp >= -5 + 1 && exp < 16 {
        if exp >= 0 {
            if digits.count <= exp + 1 {
                return sign + digits + String(repeating: "0", count: exp + 1 - digits.count) + ".0"
            }
            let i = digits.index(digits.startIndex, offsetBy: exp + 1)
            return sign + digits[..<i] + "." + digits[i...]
        }
        return sign + "0." + String(repeating: "0", count: -exp - 1) + digits
    }
    let mantissa = digits.count == 1 ? digits : String(digits.first!) + "." + digits.dropFirst()
    let e = abs(exp) < 10 ? "0\(abs(exp))" : "\(abs(exp))"
    return sign + mantissa + "e" + (exp < 0 ? "-" : "+") + e
}

/// Python `repr(str)`: single quotes unless the text has ' and no ", escapes as Python writes them.
func pyStringRepr(_ s: String) -> String {
    let quote: Unicode.Scalar = s.unicodeScalars.contains("'") && !s.unicodeScalars.contains("\"") ? "\"" : "'"
    var out = String(quote)
    for u in s.unicodeScalars {
        switch u {
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case quote: out += "\\" + String(u)
        default:
            if u.value < 0x20 || u.value == 0x7F {
                out += String(format: "\\x%02x", u.value)
            } else if u.value >= 0x80 && !pyIsPrintable(u) {
                out += u.value <= 0xFF ? String(format: "\\x%02x", u.value)
                    : u.value <= 0xFFFF ? String(format: "\\u%04x", u.value) : String(format: "\\U%08x", u.value)
            } else {
                out.unicodeScalars.append(u)
            }
        }
    }
    out.unicodeScalars.append(quote)
    return out
}

/// Python `str.isprintable()` for one code point: not in categories Cc, Cf, Cs, Co, Cn, Zl, Zp, Zs (except space).
private func pyIsPrintable(_ u: Unicode.Scalar) -> Bool {
    if u == " " { return true }
    switch u.properties.generalCategory {
    case .control, .format, .surrogate, .privateUse, .unassigned, .lineSeparator, .paragraphSeparator, .spaceSeparator:
        return false
    default: return true
    }
}

extension JinjaValue {
    /// Python `str(value)` as `{{ value }}` prints it (jinja2's Undefined prints as nothing).
    public var pyStr: String {
        switch self {
        case .undefined: return ""
        case .string(let s), .markup(let s): return s
        default: return pyRepr
        }
    }

    /// Python `repr(value)` (inside lists and dicts).
    public var pyRepr: String {
        switch self {
        case .undefined: return ""
        case .none: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let i): return String(i)
        case .double(let d): return pyFloatRepr(d)
        case .string(let s): return pyStringRepr(s)
        case .markup(let s): return "Markup(\(pyStringRepr(s)))"
        case .list(let items, let kind):
            let inner = items.map(\.pyRepr).joined(separator: ", ")
            switch kind {
            case .tuple, .groupTuple: return items.count == 1 ? "(\(inner),)" : "(\(inner))"
            case .list: return "[\(inner)]"
            case .generator: return "<generator object>"
            case .dictItems, .dictKeys, .dictValues: return "\(kind.rawValue)([\(inner)])"
            }
        case .dict(let d):
            return "{" + d.pairs.map { "\($0.key.pyRepr): \($0.value.pyRepr)" }.joined(separator: ", ") + "}"
        case .namespace(let n): return "<Namespace \(JinjaValue.dict(n.attributes).pyRepr)>"
        case .macro(let m): return "<Macro '\(m.name)'>"
        case .function(let f): return "<built-in function \(f.name)>"
        }
    }
}
