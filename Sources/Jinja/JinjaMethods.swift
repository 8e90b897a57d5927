// Python methods templates call on values: str (.strip, .split, .startswith ...), dict (.get, .items ...), list.

extension JinjaInterpreter {
    /// Positional-or-keyword argument `index`/`name` of a call, nil when absent.
    static func argument(_ args: [JinjaValue], _ kwargs: [(String, JinjaValue)], _ index: Int, _ name: String) -> JinjaValue? {
        if index < args.count { return args[index] }
        return kwargs.last { $0.0 == name }?.1
    }

    func stringArgument(_ v: JinjaValue?, _ what: String) throws -> String? {
        guard let v, !v.isNone else { return nil }
        guard case .string(let s) = v else { throw error(.type, "\(what) arg must be None or str") }
        return s
    }

    func intArgument(_ v: JinjaValue?, _ what: String, default d: Int) throws -> Int {
        guard let v else { return d }
        guard let i = v.integer else { throw error(.type, "'\(v.typeName)' object cannot be interpreted as an integer") }
        return i
    }

    private static let unsafe: [String: Set<String>] = [
        // jinja2/sandbox.py _mutable_spec: methods ImmutableSandboxedEnvironment refuses
        "list": ["append", "clear", "extend", "insert", "pop", "remove", "reverse", "sort"],
        "dict": ["clear", "pop", "popitem", "setdefault", "update"],
    ]

    /// A bound method of a str, dict or list, as `obj.name` finds it; nil when the type has no such method.
    func method(_ o: JinjaValue, _ name: String) -> JinjaValue? {
        let o = o.plain
        let typeName: String
        switch o {
        case .string: typeName = "str"
        case .dict: typeName = "dict"
        case .list(_, let k) where k.isSequence: typeName = k.rawValue
        default: return nil
        }
        if typeName != "tuple", Self.unsafe[typeName]?.contains(name) == true {
            return .function(JinjaFunction(name) { _, _, interp in
                throw interp.error(.security, "access to attribute '\(name)' of '\(typeName)' object is unsafe.")
            })
        }
        let body: ((_ args: [JinjaValue], _ kwargs: [(String, JinjaValue)], _ interp: JinjaInterpreter) throws -> JinjaValue)?
        switch o {
        case .string(let s): body = stringMethod(s, name)
        case .dict(let d): body = dictMethod(d, name)
        case .list(let items, let kind): body = listMethod(items, kind, name)
        default: body = nil
        }
        return body.map { .function(JinjaFunction(name, $0)) }
    }

    private func stringMethod(_ s: String, _ name: String) -> ((_ args: [JinjaValue], _ kwargs: [(String, JinjaValue)], _ interp: JinjaInterpreter) throws -> JinjaValue)? {
        let arg = Self.argument
        switch name {
        case "strip", "lstrip", "rstrip":
            return { a, k, i in
                let chars = try i.stringArgument(arg(a, k, 0, "chars"), name)
                return .string(pyStrip(s, chars, left: name != "rstrip", right: name != "lstrip"))
            }
        case "split", "rsplit":
            return { a, k, i in
                let sep = try i.stringArgument(arg(a, k, 0, "sep"), name)
                let maxsplit = try i.intArgument(arg(a, k, 1, "maxsplit"), name, default: -1)
                if name == "rsplit" && maxsplit >= 0 {
                    let reversed = String(scalars: s.unicodeScalars.reversed())
                    let parts = try pySplit(reversed, sep.map { String(scalars: $0.unicodeScalars.reversed()) }, maxsplit: maxsplit)
                    return .list(parts.reversed().map { JinjaValue.string(String(scalars: $0.unicodeScalars.reversed())) })
                }
                return .list(try pySplit(s, sep, maxsplit: maxsplit).map { .string($0) })
            }
        case "splitlines": return { _, _, _ in .list(pySplitLines(s).map { .string($0) }) }
        case "startswith", "endswith":
            return { a, k, i in
                guard let p = arg(a, k, 0, "prefix") else { throw i.error(.type, "\(name)() takes at least 1 argument (0 given)") }
                let candidates: [JinjaValue]
                if case .list(let items, let k) = p, k.base == .tuple { candidates = items } else { candidates = [p] }
                let h = s.scalars
                for c in candidates {
                    guard case .string(let x) = c else {
                        throw i.error(.type, "\(name) first arg must be str or a tuple of str, not \(c.typeName)")
                    }
                    let n = x.scalars
                    if n.count <= h.count && (name == "startswith" ? h.prefix(n.count).elementsEqual(n) : h.suffix(n.count).elementsEqual(n)) {
                        return .bool(true)
                    }
                }
                return .bool(false)
            }
        case "upper": return { _, _, _ in .string(pyUpper(s)) }
        case "lower": return { _, _, _ in .string(pyLower(s)) }
        case "title": return { _, _, _ in .string(pyTitle(s)) }
        case "capitalize": return { _, _, _ in .string(pyCapitalize(s)) }
        case "replace":
            return { a, k, i in
                guard case .string(let old)? = arg(a, k, 0, "old"), case .string(let new)? = arg(a, k, 1, "new") else {
                    throw i.error(.type, "replace() arguments must be str")
                }
                let count = try i.intArgument(arg(a, k, 2, "count"), name, default: -1)
                return try i.checked(pyReplace(s, old, new, count: count))
            }
        case "find", "rfind", "index", "rindex", "count":
            return { a, k, i in
                guard case .string(let sub)? = arg(a, k, 0, "sub") else { throw i.error(.type, "\(name)() argument must be str") }
                let h = s.scalars, n = sub.scalars
                var hits: [Int] = []
                if n.count <= h.count {
                    var p = 0
                    while p + n.count <= h.count {
                        if h[p..<(p + n.count)].elementsEqual(n) {
                            hits.append(p)
                            if name == "count" { p += max(n.count, 1); continue }
                        }
                        p += 1
                    }
                }
                switch name {
                case "count": return .int(n.isEmpty ? h.count + 1 : hits.count)
                case "find": return .int(hits.first ?? -1)
                case "rfind": return .int(hits.last ?? -1)
                default:
                    guard let hit = name == "index" ? hits.first : hits.last else { throw i.error(.type, "substring not found") }
                    return .int(hit)
                }
            }
        case "join":
            return { a, _, i in
                guard let seq = a.first else { throw i.error(.type, "join() takes exactly one argument (0 given)") }
                var parts: [String] = []
                for (n, x) in try i.iterate(seq).enumerated() {
                    guard case .string(let p) = x else { throw i.error(.type, "sequence item \(n): expected str instance, \(x.typeName) found") }
                    parts.append(p)
                }
                return try i.checked(parts.joined(separator: s))
            }
        case "isdigit", "isalpha", "isalnum", "isspace", "islower", "isupper", "isnumeric", "isdecimal":
            return { _, _, _ in
                let u = s.unicodeScalars
                guard !u.isEmpty else { return .bool(false) }
                switch name {
                case "isspace": return .bool(u.allSatisfy(pyIsSpace))
                case "isalpha": return .bool(u.allSatisfy { $0.properties.isAlphabetic })
                case "isdigit", "isnumeric", "isdecimal": return .bool(u.allSatisfy { $0.properties.numericType != nil })
                case "isalnum": return .bool(u.allSatisfy { $0.properties.isAlphabetic || $0.properties.numericType != nil })
                case "islower": return .bool(u.contains { $0.properties.isCased } && pyLower(s) == s)
                default: return .bool(u.contains { $0.properties.isCased } && pyUpper(s) == s)
                }
            }
        case "removeprefix", "removesuffix":
            return { a, _, i in
                guard case .string(let x)? = a.first else { throw i.error(.type, "\(name)() argument must be str") }
                let h = s.scalars, n = x.scalars
                if name == "removeprefix", h.prefix(n.count).elementsEqual(n), n.count <= h.count { return .string(String(scalars: h.dropFirst(n.count))) }
                if name == "removesuffix", !n.isEmpty, h.suffix(n.count).elementsEqual(n), n.count <= h.count { return .string(String(scalars: h.dropLast(n.count))) }
                return .string(s)
            }
        case "format": return { _, _, i in throw i.error(.unsupported, "str.format") }
        default: return nil
        }
    }

    private func dictMethod(_ d: JinjaDict, _ name: String) -> ((_ args: [JinjaValue], _ kwargs: [(String, JinjaValue)], _ interp: JinjaInterpreter) throws -> JinjaValue)? {
        switch name {
        case "get":
            return { a, _, i in
                guard let key = a.first else { throw i.error(.type, "get expected at least 1 argument, got 0") }
                return d[key] ?? (a.count > 1 ? a[1] : .none)
            }
        case "items": return { _, _, i in try i.nested(.list(d.pairs.map { .list([$0.key, $0.value], kind: .tuple) }, kind: .dictItems)) }
        case "keys": return { _, _, _ in .list(d.keys, kind: .dictKeys) }
        case "values": return { _, _, _ in .list(d.values, kind: .dictValues) }
        case "copy": return { _, _, _ in .dict(d) }
        case "fromkeys": return { _, _, i in throw i.error(.unsupported, "dict.fromkeys") }
        default: return nil
        }
    }

    private func listMethod(_ items: [JinjaValue], _ kind: JinjaSequenceKind, _ name: String) -> ((_ args: [JinjaValue], _ kwargs: [(String, JinjaValue)], _ interp: JinjaInterpreter) throws -> JinjaValue)? {
        switch name {
        case "index":
            return { a, _, i in
                guard let x = a.first, let n = items.firstIndex(where: { pyEqual($0, x) }) else {
                    throw i.error(.type, "\(a.first?.pyRepr ?? "") is not in \(kind.rawValue)")
                }
                return .int(n)
            }
        case "count": return { a, _, _ in .int(items.filter { pyEqual($0, a.first ?? .none) }.count) }
        case "copy" where kind == .list: return { _, _, _ in .list(items) }
        default: return nil
        }
    }
}
