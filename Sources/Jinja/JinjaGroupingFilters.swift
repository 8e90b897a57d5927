// jinja2 3.1's slice, groupby, truncate and format filters (jinja2/filters.py sync_do_slice, sync_do_groupby, do_truncate, do_format).

import Foundation

extension JinjaInterpreter {
    /// `value|slice(slices, fill_with=None)`: `slices` columns; the first `len % slices` get one extra item and,
    /// when `fill_with` is not None, every other column gets `fill_with` appended (jinja2 does so even when the
    /// items divide evenly). A generator of lists.
    func sliceFilter(_ items: [JinjaValue], _ slices: Int, _ fill: JinjaValue?) throws -> JinjaValue {
        guard slices != 0 else { throw error(.type, "integer division or modulo by zero") }
        guard slices > 0 else { return .list([], kind: .generator) }
        guard slices <= limits.maxListItems else { throw error(.limit, "a list longer than \(limits.maxListItems) items") }
        let length = items.count
        // Python floor division and modulo (slices > 0 here, length >= 0)
        let per = length / slices, extra = length % slices
        var offset = 0
        var out: [JinjaValue] = []
        for n in 0..<slices {
            let start = offset + n * per
            if n < extra { offset += 1 }
            let end = offset + (n + 1) * per
            var column = Array(items[min(start, length)..<min(end, length)])
            if let fill, !fill.isNone, n >= extra { column.append(fill) }
            out.append(.list(column))
        }
        return try nested(.list(out, kind: .generator))
    }

    /// `value|groupby(attribute, default=None, case_sensitive=False)`: sorted by the attribute (lower-cased strings
    /// unless case_sensitive), consecutive equal keys grouped; each group is a `_GroupTuple(grouper, list)` whose
    /// grouper keeps the case of the group's first item. A list.
    func groupbyFilter(_ items: [JinjaValue], _ attribute: JinjaValue, _ fallback: JinjaValue?, caseSensitive: Bool) throws -> JinjaValue {
        // make_attrgetter: each dotted part looked up in turn; an Undefined part becomes `default` when one is given
        let parts: [JinjaValue]
        switch attribute {
        case .string(let path):
            parts = path.split(separator: ".", omittingEmptySubsequences: false).map { Int($0).map(JinjaValue.int) ?? .string(String($0)) }
        default: parts = [attribute]
        }
        func key(_ x: JinjaValue, lower: Bool) throws -> JinjaValue {
            var v = x
            for p in parts {
                v = try getItem(v, p)
                if let fallback, !fallback.isNone, v.isUndefined { v = fallback }
            }
            if lower, case .string(let s) = v.plain { return .string(pyLower(s)) }
            return v
        }
        let keyed = try items.map { (try key($0, lower: !caseSensitive), $0) }
        let sorted = try stableSort(keyed, reverse: false) { try self.order($0.0, $1.0) }
        var groups: [(JinjaValue, [JinjaValue])] = []
        for (k, x) in sorted {
            if let last = groups.last, pyEqual(last.0, k) { groups[groups.count - 1].1.append(x) } else { groups.append((k, [x])) }
        }
        return try nested(.list(try groups.map { k, members in
            let grouper = caseSensitive ? k : try key(members[0], lower: false)
            return .list([grouper, .list(members)], kind: .groupTuple)
        }))
    }

    /// `s|truncate(length=255, killwords=False, end='...', leeway=None)`; leeway None is the environment's
    /// `truncate.leeway` policy, 5 (jinja2/defaults.py DEFAULT_POLICIES). Lengths count code points.
    func truncateFilter(_ s: String, length: Int, killwords: Bool, end: String, leeway: Int) throws -> JinjaValue {
        let endCount = end.unicodeScalars.count
        guard length >= endCount else { throw error(.type, "AssertionError: expected length >= \(endCount), got \(length)") }
        guard leeway >= 0 else { throw error(.type, "AssertionError: expected leeway >= 0, got \(leeway)") }
        let scalars = Array(s.unicodeScalars)
        if scalars.count <= length + leeway { return .string(s) }
        var kept = Array(scalars.prefix(length - endCount))
        if !killwords, let space = kept.lastIndex(of: " ") { kept = Array(kept[..<space]) }
        return try checked(String(String.UnicodeScalarView(kept)) + end)
    }

    /// The four filters above, with jinja2's argument names and defaults.
    func groupingFilter(_ name: String, _ v: JinjaValue, _ a: Arguments) throws -> JinjaValue {
        let arg = { (i: Int, n: String) in JinjaInterpreter.argument(a.positional, a.keyword, i, n)?.plain }
        switch name {
        case "slice":
            guard let n = arg(0, "slices") else { throw error(.type, "slice() missing 1 required positional argument: 'slices'") }
            guard let slices = n.integer else { throw error(.type, "'\(n.typeName)' object cannot be interpreted as an integer") }
            return try sliceFilter(try iterate(v), slices, arg(1, "fill_with"))
        case "groupby":
            guard let attribute = arg(0, "attribute") else { throw error(.type, "groupby() missing 1 required positional argument: 'attribute'") }
            return try groupbyFilter(try iterate(v), attribute, arg(1, "default"), caseSensitive: arg(2, "case_sensitive")?.truthy ?? false)
        case "truncate":
            let length = try intArgument(arg(0, "length"), "truncate", default: 255)
            let end = arg(2, "end") ?? .string("...")
            guard case .string(let endText) = end else { throw error(.type, "truncate: end must be a string") }
            var leeway = 5
            if let l = arg(3, "leeway"), !l.isNone { leeway = try intArgument(l, "truncate", default: 5) }
            return try truncateFilter(v.plain.pyStr, length: length, killwords: arg(1, "killwords")?.truthy ?? false, end: endText, leeway: leeway)
        case "format":
            if !a.positional.isEmpty && !a.keyword.isEmpty {
                throw error(.type, "can't handle positional and keyword arguments at the same time")
            }
            let values: JinjaValue = a.keyword.isEmpty ? .list(a.positional, kind: .tuple)
                : .dict(JinjaDict(a.keyword.map { ($0.0, $0.1) }))
            return try checked(try percentFormat(v.plain.pyStr, values))
        default:
            throw error(.syntax, "No filter named '\(name)'.")
        }
    }
}
