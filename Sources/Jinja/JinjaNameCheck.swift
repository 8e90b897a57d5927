// jinja2 refuses an unknown filter or test when compiling, except inside if blocks and if-expressions (checked when reached).

enum JinjaNameCheck {
    /// jinja2/filters.py FILTERS (transformers adds nothing but its own tojson).
    static let filters: Set<String> = [
        "abs", "attr", "batch", "capitalize", "center", "count", "d", "default", "dictsort", "e", "escape",
        "filesizeformat", "first", "float", "forceescape", "format", "groupby", "indent", "int", "join", "last",
        "length", "list", "lower", "items", "map", "min", "max", "pprint", "random", "reject", "rejectattr",
        "replace", "reverse", "round", "safe", "select", "selectattr", "slice", "sort", "string", "striptags",
        "sum", "title", "trim", "truncate", "unique", "upper", "urlencode", "urlize", "wordcount", "wordwrap",
        "xmlattr", "tojson",
    ]
    /// jinja2/tests.py TESTS.
    static let tests: Set<String> = [
        "odd", "even", "divisibleby", "defined", "undefined", "filter", "test", "none", "boolean", "false", "true",
        "integer", "float", "number", "string", "mapping", "sequence", "iterable", "callable", "sameas", "escaped",
        "in", "==", "eq", "equalto", "!=", "ne", ">", "gt", "greaterthan", "ge", ">=", "<", "lt", "lessthan",
        "<=", "le", "lower", "upper",
    ]

    static func check(_ body: [JinjaNode]) throws {
        for n in body { try node(n) }
    }

    private static func node(_ n: JinjaNode) throws {
        switch n.kind {
        case .text, .breakLoop, .continueLoop, .ifChain: return   // if blocks: names are checked when reached
        case .output(let e): try expr(e)
        case .forLoop(_, let iterable, let filter, let body, let otherwise, _):
            try expr(iterable)
            if let filter { try expr(filter) }
            try check(body)
            try check(otherwise)
        case .set(_, let e): try expr(e)
        case .setBlock(_, let filters, let body), .filterBlock(let filters, let body):
            for (name, args, line) in filters {
                guard Self.filters.contains(name) else { throw JinjaError(.syntax, "No filter named '\(name)'.", line: line) }
                try arguments(args)
            }
            try check(body)
        case .macro(_, let parameters, let body):
            for p in parameters { if let d = p.default { try expr(d) } }
            try check(body)
        case .callBlock(let call, _, let body):
            try expr(call)
            try check(body)
        case .generation(let body): try check(body)
        }
    }

    private static func arguments(_ a: JinjaArguments) throws {
        for e in a.positional { try expr(e) }
        for (_, e) in a.keyword { try expr(e) }
        if let s = a.spread { try expr(s) }
        if let s = a.keywordSpread { try expr(s) }
    }

    private static func expr(_ e: JinjaExpr) throws {
        switch e.kind {
        case .literal, .name, .conditional: return
        case .list(let items), .tuple(let items): for x in items { try expr(x) }
        case .dict(let pairs): for (k, v) in pairs { try expr(k); try expr(v) }
        case .attribute(let x, _), .not(let x), .negate(let x), .plus(let x): try expr(x)
        case .item(let x, let y), .and(let x, let y), .or(let x, let y), .binary(_, let x, let y): try expr(x); try expr(y)
        case .slice(let x, let a, let b, let c):
            try expr(x)
            for y in [a, b, c] { if let y { try expr(y) } }
        case .call(let x, let a): try expr(x); try arguments(a)
        case .filter(let x, let name, let a):
            guard filters.contains(name) else { throw JinjaError(.syntax, "No filter named '\(name)'.", line: e.line) }
            try expr(x)
            try arguments(a)
        case .test(let x, let name, let a, _):
            guard tests.contains(name) else { throw JinjaError(.syntax, "No test named '\(name)'.", line: e.line) }
            try expr(x)
            try arguments(a)
        case .compare(let x, let ops): try expr(x); for (_, y) in ops { try expr(y) }
        }
    }
}
