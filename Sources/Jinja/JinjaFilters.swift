// jinja2's built-in filters that chat templates use, with transformers' tojson (json.dumps, ensure_ascii off).

import Foundation

extension JinjaInterpreter {
    typealias Arguments = (positional: [JinjaValue], keyword: [(String, JinjaValue)])

    func applyFilter(_ name: String, _ v: JinjaValue, _ a: Arguments, _ scope: JinjaScope) throws -> JinjaValue {
        let arg = { (i: Int, n: String) in JinjaInterpreter.argument(a.positional, a.keyword, i, n)?.plain }
        let original = v
        let v = v.plain
        func text() throws -> String {
            return v.pyStr
        }
        func sequence() throws -> [JinjaValue] { try iterate(v) }
        switch name {
        case "tojson":
            // transformers' tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)
            var d = PyJSONDumps()
            d.ensureASCII = arg(0, "ensure_ascii")?.truthy ?? false
            if let indent = arg(1, "indent"), !indent.isNone {
                switch indent {
                case .string(let s): d.indent = s
                default:
                    guard let n = indent.integer else { throw error(.type, "indent must be an int or a string") }
                    d.indent = String(repeating: " ", count: max(0, min(n, 1 << 10)))
                }
            }
            if let sep = arg(2, "separators"), !sep.isNone {
                guard case .list(let parts, let k) = sep, k.isSequence, parts.count == 2,
                      case .string(let item) = parts[0], case .string(let key) = parts[1] else {
                    throw error(.type, "separators must be a pair of strings")
                }
                d.separators = (item, key)
            }
            d.sortKeys = arg(3, "sort_keys")?.truthy ?? false
            if case .undefined(let m) = v { throw error(.type, "Object of type Undefined is not JSON serializable (\(m))") }
            do { return try checked(try d.dumps(v)) } catch let e as JinjaError { throw error(e.kind, e.message) }
        case "trim":
            return .string(pyStrip(try text(), try stringArgument(arg(0, "chars"), "trim"), left: true, right: true))
        case "length", "count":
            switch v {
            case .string(let s): return .int(s.unicodeScalars.count)
            case .list(let items, let k) where k != .generator: return .int(items.count)   // lists, tuples, dict views
            case .dict(let d): return .int(d.count)
            case .undefined: return .int(0)
            default: throw error(.type, "object of type '\(v.typeName)' has no len()")
            }
        case "upper": return .string(pyUpper(try text()))
        case "lower": return .string(pyLower(try text()))
        case "capitalize": return .string(pyCapitalize(try text()))
        case "title":
            // jinja2 do_title: split on runs of [-\s({\[<], upper-case each part's first character, lower-case the rest
            var out = "", word = ""
            func flush() {
                guard let first = word.unicodeScalars.first else { return }
                out += String(first).uppercased() + pyLower(String(scalars: word.unicodeScalars.dropFirst()))
                word = ""
            }
            for u in try text().unicodeScalars {
                if pyIsSpace(u) || "-({[<".unicodeScalars.contains(u) { flush(); out.unicodeScalars.append(u) }
                else { word.unicodeScalars.append(u) }
            }
            flush()
            return .string(out)
        case "replace":
            guard let old = arg(0, "old"), let new = arg(1, "new") else { throw error(.type, "replace needs old and new") }
            let count = try intArgument(arg(2, "count"), "replace", default: -1)
            return try checked(pyReplace(try text(), old.pyStr, new.pyStr, count: count))
        case "join":
            var items = try sequence()
            if let attribute = arg(1, "attribute"), !attribute.isNone { items = try items.map { try attributeGetter($0, attribute) } }
            return try checked(items.map(\.pyStr).joined(separator: (arg(0, "d") ?? .string("")).pyStr))
        case "default", "d":
            let fallback = arg(0, "default_value") ?? .string("")
            if v.isUndefined || (arg(1, "boolean")?.truthy == true && !v.truthy) { return fallback }
            return v
        case "first":
            return try sequence().first ?? .undefined("No first item, sequence was empty.")
        case "last":
            if case .list(_, .generator) = v { throw error(.type, "'generator' object is not reversible") }
            return try sequence().last ?? .undefined("No last item, sequence was empty.")
        case "list": return .list(try sequence())
        case "string": if case .markup = original { return original }; return .string(v.pyStr)
        case "safe": if case .markup = original { return original }; return .markup(v.pyStr)
        case "escape", "e": if case .markup = original { return original }; return .markup(htmlEscape(v.pyStr))
        case "forceescape": return .markup(htmlEscape(v.pyStr))
        case "items":
            if v.isUndefined { return .list([], kind: .generator) }
            guard case .dict(let d) = v else { throw error(.type, "Can only get item pairs from a mapping.") }
            return try nested(.list(d.pairs.map { .list([$0.key, $0.value], kind: .tuple) }, kind: .generator))
        case "unique":
            var seen: [JinjaValue] = [], kept: [JinjaValue] = []
            let caseSensitive = arg(0, "case_sensitive")?.truthy ?? false
            let attribute = arg(1, "attribute")
            for x in try sequence() {
                var key = try attribute.map { $0.isNone ? x : try attributeGetter(x, $0) } ?? x
                if !caseSensitive, case .string(let s) = key { key = .string(pyLower(s)) }
                if !seen.contains(where: { pyEqual($0, key) }) {
                    seen.append(key)
                    kept.append(x)
                }
            }
            return .list(kept, kind: .generator)
        case "reverse":
            if case .string(let s) = v { return .string(String(scalars: s.unicodeScalars.reversed())) }
            return .list(try sequence().reversed(), kind: .generator)
        case "map":
            let items = try sequence()
            if a.positional.isEmpty, let attribute = a.keyword.first(where: { $0.0 == "attribute" })?.1 {
                let fallback = a.keyword.first(where: { $0.0 == "default" })?.1
                return .list(try items.map { x in
                    let r = try attributeGetter(x, attribute)
                    if let fallback, r.isUndefined { return fallback }
                    return r
                }, kind: .generator)
            }
            guard case .string(let filter)? = a.positional.first else { throw error(.type, "map requires a filter argument") }
            let rest: Arguments = (Array(a.positional.dropFirst()), a.keyword)
            return .list(try items.map { try applyFilter(filter, $0, rest, scope) }, kind: .generator)
        case "select", "reject", "selectattr", "rejectattr":
            guard v.truthy else { return .list([], kind: .generator) }
            let byAttribute = name.hasSuffix("attr")
            let keep = name.hasPrefix("select")
            var off = 0
            var attribute: JinjaValue?
            if byAttribute {
                guard let first = a.positional.first else { throw error(.type, "Missing parameter for attribute name") }
                attribute = first
                off = 1
            }
            let test: String?
            if off < a.positional.count {
                guard case .string(let t) = a.positional[off] else { throw error(.type, "test name must be a string") }
                test = t
            } else {
                test = nil
            }
            let rest: Arguments = (Array(a.positional.dropFirst(off + 1)), a.keyword)
            var out: [JinjaValue] = []
            for x in try sequence() {
                let subject = try attribute.map { try attributeGetter(x, $0) } ?? x
                let passed = try test.map { try applyTest($0, subject, rest) } ?? subject.truthy
                if passed == keep { out.append(x) }
            }
            return .list(out, kind: .generator)
        case "indent":
            let width = arg(0, "width") ?? .int(4)
            let indention: String
            if case .string(let s) = width { indention = s } else {
                guard let n = width.integer else { throw error(.type, "indent width must be an int or a string") }
                indention = String(repeating: " ", count: max(0, min(n, 1 << 10)))
            }
            let first = arg(1, "first")?.truthy ?? false
            let blank = arg(2, "blank")?.truthy ?? false
            let lines = pySplitLines(try text() + "\n")
            var rv: String
            if blank {
                rv = lines.joined(separator: "\n" + indention)
            } else {
                rv = lines.first ?? ""
                let rest = lines.dropFirst()
                if !rest.isEmpty { rv += "\n" + rest.map { $0.isEmpty ? $0 : indention + $0 }.joined(separator: "\n") }
            }
            if first { rv = indention + rv }
            return try checked(rv)
        case "int":
            let fallback = arg(0, "default") ?? .int(0)
            switch v {
            case .bool(let b): return .int(b ? 1 : 0)
            case .int: return v
            case .double(let d): return d.isFinite && abs(d) < 9.2e18 ? .int(Int(d.rounded(.towardZero))) : fallback
            case .string(let s):
                let base = try intArgument(arg(1, "base"), "int", default: 10)
                let t = pyStrip(s, nil, left: true, right: true).replacingOccurrences(of: "_", with: "")
                if let n = Int(t, radix: base) { return .int(n) }
                if let d = Double(t), d.isFinite, abs(d) < 9.2e18 { return .int(Int(d.rounded(.towardZero))) }
                return fallback
            default: return fallback
            }
        case "float":
            switch v {
            case .string(let s): return Double(pyStrip(s, nil, left: true, right: true)).map { .double($0) } ?? (arg(0, "default") ?? .double(0))
            default: return v.number.map { .double($0) } ?? (arg(0, "default") ?? .double(0))
            }
        case "abs":
            switch v {
            case .int(let i): return i == Int.min ? .double(-Double(i)) : .int(abs(i))
            case .bool(let b): return .int(b ? 1 : 0)
            case .double(let d): return .double(abs(d))
            default: throw error(.type, "bad operand type for abs(): '\(v.typeName)'")
            }
        case "round":
            guard let x = v.number else { throw error(.type, "type \(v.typeName) doesn't define __round__ method") }
            let precision = try intArgument(arg(0, "precision"), "round", default: 0)
            let method = (arg(1, "method") ?? .string("common")).pyStr
            let scale = Foundation.pow(10.0, Double(max(-300, min(300, precision))))
            switch method {
            case "common": return .double((x * scale).rounded(.toNearestOrEven) / scale)
            case "ceil": return .double((x * scale).rounded(.up) / scale)
            case "floor": return .double((x * scale).rounded(.down) / scale)
            default: throw error(.type, "method must be common, ceil or floor")
            }
        case "dictsort":
            guard case .dict(let d) = v else { throw error(.type, "dictsort needs a mapping") }
            let caseSensitive = arg(0, "case_sensitive")?.truthy ?? false
            let by = (arg(1, "by") ?? .string("key")).pyStr
            guard by == "key" || by == "value" else { throw error(.type, "You can only sort by either \"key\" or \"value\"") }
            let reverse = arg(2, "reverse")?.truthy ?? false
            func key(_ p: (key: JinjaValue, value: JinjaValue)) -> JinjaValue {
                let x = by == "key" ? p.key : p.value
                if !caseSensitive, case .string(let s) = x { return .string(pyLower(s)) }
                return x
            }
            let sorted = try stableSort(d.pairs, reverse: reverse) { try self.order(key($0), key($1)) }
            return try nested(.list(sorted.map { .list([$0.key, $0.value], kind: .tuple) }))
        case "sort":
            let reverse = arg(0, "reverse")?.truthy ?? false
            let caseSensitive = arg(1, "case_sensitive")?.truthy ?? false
            let attribute = arg(2, "attribute")
            func key(_ x: JinjaValue) throws -> JinjaValue {
                let k = try attribute.map { $0.isNone ? x : try attributeGetter(x, $0) } ?? x
                if !caseSensitive, case .string(let s) = k { return .string(pyLower(s)) }
                return k
            }
            return .list(try stableSort(try sequence(), reverse: reverse) { try self.order(try key($0), try key($1)) })
        case "sum":
            var total: JinjaValue = arg(1, "start") ?? .int(0)
            let attribute = arg(0, "attribute")
            for x in try sequence() { total = try binary("+", total, try attribute.map { try attributeGetter(x, $0) } ?? x) }
            return total
        case "min", "max":
            let items = try sequence()
            guard var best = items.first else { return .undefined("No aggregated item, sequence was empty.") }
            for x in items.dropFirst() {
                let c = try order(x, best)
                if name == "min" ? c < 0 : c > 0 { best = x }
            }
            return best
        case "attr":
            guard let n = arg(0, "name") else { throw error(.type, "attr needs a name") }
            return try getAttribute(v, n.pyStr)
        case "wordcount":
            return .int(try pySplit(try text(), nil, maxsplit: -1).count)
        case "center":
            let width = try intArgument(arg(0, "width"), "center", default: 80)
            let s = try text()
            let n = s.unicodeScalars.count
            guard width > n else { return .string(s) }
            let total = min(width, limits.maxOutputScalars) - n
            let left = total / 2 + (total & width & 1)
            return .string(String(repeating: " ", count: left) + s + String(repeating: " ", count: total - left))
        case "batch":
            let count = try intArgument(arg(0, "linecount"), "batch", default: 0)
            guard count > 0 else { throw error(.type, "batch: linecount must be positive") }
            let fill = arg(1, "fill_with")
            var out: [JinjaValue] = [], row: [JinjaValue] = []
            for x in try sequence() {
                row.append(x)
                if row.count == count { out.append(.list(row)); row = [] }
            }
            if !row.isEmpty {
                if let fill, !fill.isNone { row += Array(repeating: fill, count: count - row.count) }
                out.append(.list(row))
            }
            return try nested(.list(out, kind: .generator))
        case "slice", "groupby", "format", "truncate":
            return try groupingFilter(name, original, a)
        case "wordwrap", "urlize", "urlencode", "xmlattr",
             "striptags", "filesizeformat", "pprint", "random":
            throw error(.unsupported, "the '\(name)' filter")
        default:
            throw error(.syntax, "No filter named '\(name)'.")
        }
    }

    /// jinja2's make_attrgetter: "a.b" walks attributes/items; an integer indexes.
    func attributeGetter(_ x: JinjaValue, _ attribute: JinjaValue) throws -> JinjaValue {
        guard case .string(let path) = attribute else { return try getItem(x, attribute) }
        var v = x
        for part in path.split(separator: ".", omittingEmptySubsequences: false) {
            if let i = Int(part) { v = try getItem(v, .int(i)) } else { v = try getItem(v, .string(String(part))) }
        }
        return v
    }

    /// A stable merge sort by a throwing three-way comparison (Python's sort is stable; `reverse` keeps ties in order).
    func stableSort<T>(_ items: [T], reverse: Bool, _ compare: (T, T) throws -> Int) throws -> [T] {
        if items.count < 2 { return items }
        let mid = items.count / 2
        let l = try stableSort(Array(items[..<mid]), reverse: reverse, compare)
        let r = try stableSort(Array(items[mid...]), reverse: reverse, compare)
        var out: [T] = []
        out.reserveCapacity(items.count)
        var i = 0, j = 0
        while i < l.count && j < r.count {
            let c = try compare(r[j], l[i])
            if reverse ? c > 0 : c < 0 { out.append(r[j]); j += 1 } else { out.append(l[i]); i += 1 }
        }
        out += l[i...]
        out += r[j...]
        return out
    }
}
