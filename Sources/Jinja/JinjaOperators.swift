// Python's operators, attribute and item access and slicing as jinja2's sandbox applies them to template values.

extension JinjaInterpreter {
    private func overflow(_ op: String) -> JinjaError {
        error(.limit, "integer overflow in '\(op)' (Python would use a big integer)")
    }

    func binary(_ op: String, _ a: JinjaValue, _ b: JinjaValue) throws -> JinjaValue {
        if op == "~" { return try checked(a.pyStr + b.pyStr) }
        if case .undefined(let m) = a { throw error(.undefined, m) }
        if case .undefined(let m) = b { throw error(.undefined, m) }
        switch (op, a, b) {
        case ("+", .markup(let x), .markup(let y)): return .markup(try checked(x + y).pyStr)
        case ("+", .markup(let x), .string(let y)): return .markup(try checked(x + htmlEscape(y)).pyStr)
        case ("+", .string(let x), .markup(let y)): return .markup(try checked(htmlEscape(x) + y).pyStr)
        case ("+", .markup, _): throw error(.type, "unsupported operand type(s) for +: 'Markup' and '\(b.typeName)'")
        default: break
        }
        let a = a.plain, b = b.plain
        let unsupported = error(.type, "unsupported operand type(s) for \(op): '\(a.typeName)' and '\(b.typeName)'")
        switch op {
        case "+":
            switch (a, b) {
            case (.string(let x), .string(let y)): return try checked(x + y)
            case (.string, _): throw error(.type, "can only concatenate str (not \"\(b.typeName)\") to str")
            case (.list(let x, let kx), .list(let y, let ky)) where kx.base == ky.base && kx.isSequence:
                guard x.count + y.count <= limits.maxListItems else { throw error(.limit, "a list longer than \(limits.maxListItems) items") }
                return .list(x + y, kind: kx.base)
            case (.list(_, .list), _): throw error(.type, "can only concatenate list (not \"\(b.typeName)\") to list")
            default:
                if let x = a.integer, let y = b.integer {
                    let (r, o) = x.addingReportingOverflow(y)
                    if o { throw overflow(op) }
                    return .int(r)
                }
                if let x = a.number, let y = b.number { return .double(x + y) }
                throw unsupported
            }
        case "-":
            if let x = a.integer, let y = b.integer {
                let (r, o) = x.subtractingReportingOverflow(y)
                if o { throw overflow(op) }
                return .int(r)
            }
            if let x = a.number, let y = b.number { return .double(x - y) }
            throw unsupported
        case "*":
            if let x = a.integer, let y = b.integer {
                let (r, o) = x.multipliedReportingOverflow(by: y)
                if o { throw overflow(op) }
                return .int(r)
            }
            if let x = a.number, let y = b.number { return .double(x * y) }
            func repeated(_ n: Int, _ count: Int) throws {
                guard n <= 0 || count <= limits.maxOutputScalars / max(n, 1) else { throw error(.limit, "repetition too long") }
            }
            switch (a, b) {
            case (.string(let s), _) where b.integer != nil, (_, .string(let s)) where a.integer != nil:
                let n = max(0, (a.integer ?? b.integer)!)
                try repeated(n, s.unicodeScalars.count)
                return .string(String(repeating: s, count: n))
            case (.list(let items, let k), _) where b.integer != nil && k.isSequence,
                 (_, .list(let items, let k)) where a.integer != nil && k.isSequence:
                let n = max(0, (a.integer ?? b.integer)!)
                guard n <= 0 || items.count <= limits.maxListItems / max(n, 1) else { throw error(.limit, "a list longer than \(limits.maxListItems) items") }
                return .list(Array([[JinjaValue]](repeating: items, count: n).joined()), kind: k)
            default: throw unsupported
            }
        case "/":
            guard let x = a.number, let y = b.number else { throw unsupported }
            guard y != 0 else { throw error(.type, "division by zero") }
            return .double(x / y)
        case "//":
            if let x = a.integer, let y = b.integer {
                guard y != 0 else { throw error(.type, "integer division or modulo by zero") }
                if x == Int.min && y == -1 { throw overflow(op) }
                let q = x / y
                return .int((x % y != 0 && (x < 0) != (y < 0)) ? q - 1 : q)
            }
            guard let x = a.number, let y = b.number else { throw unsupported }
            guard y != 0 else { throw error(.type, "float floor division by zero") }
            return .double((x / y).rounded(.down))
        case "%":
            if case .string(let s) = a { return try checked(try percentFormat(s, b)) }
            if let x = a.integer, let y = b.integer {
                guard y != 0 else { throw error(.type, "integer division or modulo by zero") }
                if y == -1 { return .int(0) }
                let r = x % y
                return .int(r != 0 && (r < 0) != (y < 0) ? r + y : r)
            }
            guard let x = a.number, let y = b.number else { throw unsupported }
            guard y != 0 else { throw error(.type, "float modulo") }
            let r = x.truncatingRemainder(dividingBy: y)
            return .double(r != 0 && (r < 0) != (y < 0) ? r + y : r)
        case "**":
            if let x = a.integer, let y = b.integer, y >= 0 {
                var result = 1, base = x, e = y
                while e > 0 {
                    if e & 1 == 1 {
                        let (r, o) = result.multipliedReportingOverflow(by: base)
                        if o { throw overflow(op) }
                        result = r
                    }
                    e >>= 1
                    if e > 0 {
                        let (sq, o) = base.multipliedReportingOverflow(by: base)
                        if o { throw overflow(op) }
                        base = sq
                    }
                }
                return .int(result)
            }
            guard let x = a.number, let y = b.number else { throw unsupported }
            return .double(Foundation.pow(x, y))
        default:
            throw error(.unsupported, "operator \(op)")
        }
    }

    func compare(_ op: String, _ a: JinjaValue, _ b: JinjaValue) throws -> Bool {
        let a = a.plain, b = b.plain
        switch op {
        case "==": return pyEqual(a, b)
        case "!=": return !pyEqual(a, b)
        case "in": return try contains(b, a)
        case "notin": return !(try contains(b, a))
        default:
            let c = try order(a, b, op)
            switch op {
            case "<": return c < 0
            case "<=": return c <= 0
            case ">": return c > 0
            default: return c >= 0
            }
        }
    }

    /// Python ordering: numbers, strings by code point, lists/tuples lexicographically.
    func order(_ a: JinjaValue, _ b: JinjaValue, _ op: String = "<") throws -> Int {
        switch (a.plain, b.plain) {
        case (.string(let x), .string(let y)):
            if x.unicodeScalars.elementsEqual(y.unicodeScalars) { return 0 }
            return x.unicodeScalars.lexicographicallyPrecedes(y.unicodeScalars) { $0.value < $1.value } ? -1 : 1
        case (.list(let x, let kx), .list(let y, let ky)) where kx.base == ky.base && kx.isSequence:
            for (p, q) in zip(x, y) where !pyEqual(p, q) { return try order(p, q, op) }
            return x.count == y.count ? 0 : x.count < y.count ? -1 : 1
        default:
            if let x = a.integer, let y = b.integer { return x == y ? 0 : x < y ? -1 : 1 }
            if let x = a.number, let y = b.number { return x == y ? 0 : x < y ? -1 : 1 }
            if case .undefined(let m) = a { throw error(.undefined, m) }
            if case .undefined(let m) = b { throw error(.undefined, m) }
            throw error(.type, "'\(op)' not supported between instances of '\(a.typeName)' and '\(b.typeName)'")
        }
    }

    /// Python `needle in container`.
    func contains(_ container: JinjaValue, _ needle: JinjaValue) throws -> Bool {
        switch container.plain {
        case .string(let s):
            guard case .string(let n) = needle.plain else {
                throw error(.type, "'in <string>' requires string as left operand, not \(needle.typeName)")
            }
            if n.isEmpty { return true }
            let h = s.scalars, p = n.scalars
            guard p.count <= h.count else { return false }
            for i in 0...(h.count - p.count) where h[i] == p[0] && h[i..<(i + p.count)].elementsEqual(p) { return true }
            return false
        case .list(let items, _): return items.contains { pyEqual($0, needle) }
        case .dict(let d): return d[needle] != nil
        case .undefined: return false
        case .namespace: throw error(.type, "argument of type 'Namespace' is not iterable")
        default: throw error(.type, "argument of type '\(container.typeName)' is not iterable")
        }
    }

    /// How jinja2 names an object in "has no attribute" messages (utils.object_type_repr).
    private func objectTypeRepr(_ v: JinjaValue) -> String {
        if case .none = v { return "None" }
        return "\(v.typeName) object"
    }

    /// `obj.name`: jinja2 tries the Python attribute (a dict's or str's methods) first, then `obj["name"]`.
    func getAttribute(_ o: JinjaValue, _ name: String) throws -> JinjaValue {
        let o = o.plain
        if case .undefined(let m) = o { throw error(.undefined, m) }
        if let m = method(o, name) { return m }
        switch o {
        case .dict(let d):
            if let v = d[name] { return v }
        case .namespace(let n):
            if let v = n.attributes[name] { return v }
        case .list(let items, .groupTuple) where items.count == 2 && (name == "grouper" || name == "list"):
            return items[name == "grouper" ? 0 : 1]
        default: break
        }
        return .undefined("'\(objectTypeRepr(o))' has no attribute '\(name)'")
    }

    /// `obj[key]`: jinja2 tries the item first, then (for a string key) the attribute.
    func getItem(_ o: JinjaValue, _ key: JinjaValue) throws -> JinjaValue {
        let o = o.plain, key = key.plain
        if case .undefined(let m) = o { throw error(.undefined, m) }
        switch (o, key) {
        case (.dict(let d), _):
            if let v = d[key] { return v }
        case (.list(let items, let kind), _) where kind.isSequence && key.integer != nil:
            var i = key.integer!
            if i < 0 { i += items.count }
            if i >= 0 && i < items.count { return items[i] }
        case (.string(let s), _) where key.integer != nil:
            let a = s.scalars
            var i = key.integer!
            if i < 0 { i += a.count }
            if i >= 0 && i < a.count { return .string(String(a[i])) }
        default: break
        }
        if case .string(let name) = key { return try getAttribute(o, name) }
        return .undefined("'\(objectTypeRepr(o))' has no attribute \(key.pyRepr)")
    }

    /// Python slicing `o[start:stop:step]` of lists, tuples and strings.
    func slice(_ o: JinjaValue, _ start: JinjaValue?, _ stop: JinjaValue?, _ step: JinjaValue?) throws -> JinjaValue {
        let o = o.plain
        if case .undefined(let m) = o { throw error(.undefined, m) }
        func bound(_ v: JinjaValue?) throws -> Int? {
            guard let v, !(v.isNone) else { return nil }
            guard let i = v.integer else { throw error(.type, "slice indices must be integers or None or have an __index__ method") }
            return i
        }
        let st = try bound(step) ?? 1
        guard st != 0 else { throw error(.type, "slice step cannot be zero") }
        func indices(_ n: Int) throws -> [Int] {
            var lo = try bound(start), hi = try bound(stop)
            if st > 0 {
                var a = lo ?? 0, b = hi ?? n
                if a < 0 { a = max(0, a + n) }; if a > n { a = n }
                if b < 0 { b = max(0, b + n) }; if b > n { b = n }
                return a < b ? Array(stride(from: a, to: b, by: st)) : []
            }
            var a = lo ?? (n - 1), b = hi ?? -1 - n
            if lo != nil { if a < 0 { a = max(-1, a + n) }; if a >= n { a = n - 1 } }
            if hi != nil { if b < 0 { b = max(-1, b + n) }; if b >= n { b = n - 1 } } else { b = -1 }
            lo = nil; hi = nil
            return a > b ? Array(stride(from: a, to: b, by: st)) : []
        }
        switch o {
        case .list(let items, let kind) where kind.isSequence:
            return .list(try indices(items.count).map { items[$0] }, kind: kind)
        case .string(let s):
            let a = s.scalars
            return .string(String(scalars: try indices(a.count).map { a[$0] }))
        default:
            return .undefined("'\(objectTypeRepr(o))' has no attribute slice")
        }
    }
}

/// markupsafe.escape: & < > " ' as HTML entities.
func htmlEscape(_ s: String) -> String {
    var out = ""
    for u in s.unicodeScalars {
        switch u {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&#34;"
        case "'": out += "&#39;"
        default: out.unicodeScalars.append(u)
        }
    }
    return out
}

extension JinjaValue {
    public var isNone: Bool { if case .none = self { return true } else { return false } }
}

import Foundation
