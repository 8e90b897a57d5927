// Parses jinja2's grammar (parser.py's precedence and statement forms) into JinjaNode/JinjaExpr trees.

struct JinjaParser {
    private var t: [JinjaToken]
    private var i = 0
    private var depth = 0
    /// Nesting bound for hostile input, chains of operators, filters and attributes included (Python itself stops
    /// jinja2 at its recursion limit).
    static let maxDepth = 400

    init(tokens: [JinjaToken]) { t = tokens }

    static func parse(_ source: String) throws -> [JinjaNode] {
        var lexer = JinjaLexer()
        var p = JinjaParser(tokens: try lexer.tokenize(source))
        let body = try p.subparse(until: [])
        guard p.cur.kind == .eof else { throw p.fail("unexpected '\(p.cur.text)'") }
        return body
    }

    // MARK: token stream

    private var cur: JinjaToken { t[i] }
    private func look(_ n: Int = 1) -> JinjaToken { t[min(i + n, t.count - 1)] }
    private mutating func next() -> JinjaToken {
        let tok = t[i]
        if i < t.count - 1 { i += 1 }
        return tok
    }
    private func isOp(_ s: String) -> Bool { cur.kind == .op && cur.text == s }
    private func isName(_ s: String) -> Bool { cur.kind == .name && cur.text == s }
    private mutating func skipOp(_ s: String) -> Bool { if isOp(s) { _ = next(); return true }; return false }
    private mutating func skipName(_ s: String) -> Bool { if isName(s) { _ = next(); return true }; return false }

    private func fail(_ message: String, line: Int? = nil) -> JinjaError {
        JinjaError(.syntax, message, line: line ?? cur.line)
    }
    private func describe(_ tok: JinjaToken) -> String {
        switch tok.kind {
        case .eof: return "end of template"
        case .blockEnd: return "end of statement block"
        case .varEnd: return "end of print statement"
        case .data: return "template data"
        default: return "'\(tok.text)'"
        }
    }
    private mutating func expectOp(_ s: String) throws {
        guard skipOp(s) else { throw fail("expected '\(s)', got \(describe(cur))") }
    }
    private mutating func expectName() throws -> String {
        guard cur.kind == .name else { throw fail("expected a name, got \(describe(cur))") }
        return next().text
    }
    private mutating func expect(_ kind: JinjaToken.Kind, _ what: String) throws {
        guard cur.kind == kind else { throw fail("expected '\(what)', got \(describe(cur))") }
        _ = next()
    }
    private mutating func enter() throws {
        depth += 1
        guard depth <= Self.maxDepth else { throw JinjaError(.limit, "template nested deeper than \(Self.maxDepth) levels", line: cur.line) }
    }

    // MARK: statements

    /// Nodes up to a `{% name %}` in `until` (left as the current token) or the end of the template.
    private mutating func subparse(until: Set<String>) throws -> [JinjaNode] {
        try enter()
        defer { depth -= 1 }
        var body: [JinjaNode] = []
        while true {
            let tok = cur
            switch tok.kind {
            case .eof: return body
            case .data:
                _ = next()
                body.append(JinjaNode(kind: .text(tok.text), line: tok.line))
            case .varBegin:
                _ = next()
                let e = try parseTuple()
                try expect(.varEnd, "end of print statement")
                body.append(JinjaNode(kind: .output(e), line: tok.line))
            case .blockBegin:
                _ = next()
                if cur.kind == .name && until.contains(cur.text) { return body }
                body.append(try statement())
                try expect(.blockEnd, "end of statement block")
            default:
                throw fail("unexpected \(describe(tok))")
            }
        }
    }

    /// Body up to one of `ends`; the end tag's name is consumed (its block end is not).
    private mutating func statements(_ ends: Set<String>, line: Int) throws -> ([JinjaNode], String) {
        _ = skipOp(":")
        try expect(.blockEnd, "end of statement block")
        let body = try subparse(until: ends)
        guard cur.kind == .name else {
            throw fail("Unexpected end of template. Jinja was looking for the following tags: "
                       + ends.sorted().map { "'\($0)'" }.joined(separator: " or ") + ". The innermost block that needs to be closed is at line \(line).")
        }
        return (body, next().text)
    }

    private mutating func statement() throws -> JinjaNode {
        let tok = cur
        guard tok.kind == .name else { throw fail("tag name expected") }
        let line = tok.line
        _ = next()
        switch tok.text {
        case "if":
            var branches: [(JinjaExpr, [JinjaNode])] = []
            var otherwise: [JinjaNode] = []
            while true {
                let test = try parseTuple(withCondExpr: false)
                let (body, end) = try statements(["elif", "else", "endif"], line: line)
                branches.append((test, body))
                if end == "elif" { continue }
                if end == "else" {
                    otherwise = try statements(["endif"], line: line).0
                }
                break
            }
            return JinjaNode(kind: .ifChain(branches, otherwise: otherwise), line: line)
        case "for":
            let target = try assignTarget(extraEnd: ["in"])
            guard skipName("in") else { throw fail("expected 'in', got \(describe(cur))") }
            let iterable = try parseTuple(withCondExpr: false, extraEnd: ["recursive"])
            var filter: JinjaExpr?
            if skipName("if") { filter = try parseExpression() }
            let recursive = skipName("recursive")
            let (body, end) = try statements(["endfor", "else"], line: line)
            var otherwise: [JinjaNode] = []
            if end == "else" { otherwise = try statements(["endfor"], line: line).0 }
            return JinjaNode(kind: .forLoop(target: target, iterable: iterable, filter: filter, body: body,
                                            otherwise: otherwise, recursive: recursive), line: line)
        case "set":
            let target: JinjaTarget
            if cur.kind == .name && look().kind == .op && look().text == "." {
                let ns = next().text
                _ = next()
                target = .attribute(ns, try expectName())
            } else {
                target = try assignTarget(extraEnd: [])
            }
            if skipOp("=") { return JinjaNode(kind: .set(target, try parseTuple()), line: line) }
            let filters = try filterChain(startInline: false)
            let body = try statements(["endset"], line: line).0
            return JinjaNode(kind: .setBlock(target, filters: filters, body: body), line: line)
        case "macro":
            let name = try expectName()
            let params = try signature()
            let body = try statements(["endmacro"], line: line).0
            return JinjaNode(kind: .macro(name: name, parameters: params, body: body), line: line)
        case "call":
            var params: [(name: String, default: JinjaExpr?)] = []
            if isOp("(") { params = try signature() }
            let call = try parseExpression()
            guard case .call = call.kind else { throw fail("expected call", line: line) }
            let body = try statements(["endcall"], line: line).0
            return JinjaNode(kind: .callBlock(call: call, parameters: params, body: body), line: line)
        case "filter":
            let filters = try filterChain(startInline: true)
            let body = try statements(["endfilter"], line: line).0
            return JinjaNode(kind: .filterBlock(filters: filters, body: body), line: line)
        case "break": return JinjaNode(kind: .breakLoop, line: line)
        case "continue": return JinjaNode(kind: .continueLoop, line: line)
        case "generation":
            let body = try statements(["endgeneration"], line: line).0
            return JinjaNode(kind: .generation(body), line: line)
        case "include", "import", "from", "extends", "block", "with", "autoescape", "do", "trans", "print":
            throw JinjaError(.unsupported, "{% \(tok.text) %} (not used by chat templates)", line: line)
        default:
            throw JinjaError(.syntax, "Encountered unknown tag '\(tok.text)'.", line: line)
        }
    }

    private mutating func signature() throws -> [(name: String, default: JinjaExpr?)] {
        try expectOp("(")
        var params: [(name: String, default: JinjaExpr?)] = []
        while !isOp(")") {
            if !params.isEmpty { try expectOp(",") }
            let name = try expectName()
            if skipOp("=") {
                params.append((name, try parseExpression()))
            } else {
                if params.contains(where: { $0.default != nil }) { throw fail("non-default argument follows default argument") }
                params.append((name, nil))
            }
        }
        try expectOp(")")
        return params
    }

    private mutating func assignTarget(extraEnd: Set<String>) throws -> JinjaTarget {
        let e = try parseTuple(simplified: true, extraEnd: extraEnd)
        func target(_ e: JinjaExpr) throws -> JinjaTarget {
            switch e.kind {
            case .name(let n):
                if ["true", "false", "none", "True", "False", "None"].contains(n) { break }
                return .name(n)
            case .tuple(let items): return .tuple(try items.map(target))
            default: break
            }
            throw JinjaError(.syntax, "can't assign to this expression", line: e.line)
        }
        return try target(e)
    }

    private mutating func filterChain(startInline: Bool) throws -> [(String, JinjaArguments, Int)] {
        var out: [(String, JinjaArguments, Int)] = []
        var inline = startInline
        while isOp("|") || inline {
            if !inline { _ = next() }
            inline = false
            let line = cur.line
            var name = try expectName()
            while skipOp(".") { name += "." + (try expectName()) }
            let args = isOp("(") ? try callArguments() : JinjaArguments()
            out.append((name, args, line))
        }
        return out
    }

    // MARK: expressions

    private func isTupleEnd(_ extraEnd: Set<String>) -> Bool {
        switch cur.kind {
        case .varEnd, .blockEnd, .eof: return true
        case .op: return cur.text == ")"
        case .name: return extraEnd.contains(cur.text)
        default: return false
        }
    }

    private mutating func parseTuple(simplified: Bool = false, withCondExpr: Bool = true, extraEnd: Set<String> = [],
                                     explicitParentheses: Bool = false) throws -> JinjaExpr {
        let line = cur.line
        var items: [JinjaExpr] = []
        var isTuple = false
        while true {
            if !items.isEmpty { try expectOp(",") }
            if isTupleEnd(extraEnd) { break }
            items.append(simplified ? try primary() : try parseExpression(withCondExpr: withCondExpr))
            if isOp(",") { isTuple = true } else { break }
        }
        if !isTuple {
            if let only = items.first { return only }
            if !explicitParentheses { throw fail("Expected an expression, got \(describe(cur))") }
        }
        return JinjaExpr(kind: .tuple(items), line: line)
    }

    private mutating func parseExpression(withCondExpr: Bool = true) throws -> JinjaExpr {
        try enter()
        defer { depth -= 1 }
        return withCondExpr ? try condExpr() : try orExpr()
    }

    private mutating func condExpr() throws -> JinjaExpr {
        var e = try orExpr()
        var links = 0
        defer { depth -= links }
        while isName("if") {
            try enter(); links += 1
            let line = next().line
            let condition = try orExpr()
            let otherwise = skipName("else") ? try condExprNested() : nil
            e = JinjaExpr(kind: .conditional(then: e, condition: condition, otherwise: otherwise), line: line)
        }
        return e
    }

    private mutating func condExprNested() throws -> JinjaExpr {
        try enter()
        defer { depth -= 1 }
        return try condExpr()
    }

    private mutating func orExpr() throws -> JinjaExpr {
        var e = try andExpr()
        var links = 0
        defer { depth -= links }
        while isName("or") {
            try enter(); links += 1
            let line = next().line
            e = JinjaExpr(kind: .or(e, try andExpr()), line: line)
        }
        return e
    }

    private mutating func andExpr() throws -> JinjaExpr {
        var e = try notExpr()
        var links = 0
        defer { depth -= links }
        while isName("and") {
            try enter(); links += 1
            let line = next().line
            e = JinjaExpr(kind: .and(e, try notExpr()), line: line)
        }
        return e
    }

    private mutating func notExpr() throws -> JinjaExpr {
        if isName("not") {
            let line = next().line
            try enter()
            defer { depth -= 1 }
            return JinjaExpr(kind: .not(try notExpr()), line: line)
        }
        return try compareExpr()
    }

    private mutating func compareExpr() throws -> JinjaExpr {
        let line = cur.line
        let e = try math1()
        var ops: [(String, JinjaExpr)] = []
        while true {
            if cur.kind == .op, ["==", "!=", "<", "<=", ">", ">="].contains(cur.text) {
                let op = next().text
                ops.append((op, try math1()))
            } else if skipName("in") {
                ops.append(("in", try math1()))
            } else if isName("not") && look().kind == .name && look().text == "in" {
                _ = next(); _ = next()
                ops.append(("notin", try math1()))
            } else {
                break
            }
        }
        return ops.isEmpty ? e : JinjaExpr(kind: .compare(e, ops), line: line)
    }

    private mutating func math1() throws -> JinjaExpr {
        var e = try concat()
        var links = 0
        defer { depth -= links }
        while cur.kind == .op && (cur.text == "+" || cur.text == "-") {
            try enter(); links += 1
            let tok = next()
            e = JinjaExpr(kind: .binary(tok.text, e, try concat()), line: tok.line)
        }
        return e
    }

    private mutating func concat() throws -> JinjaExpr {
        var e = try math2()
        var links = 0
        defer { depth -= links }
        while isOp("~") {
            try enter(); links += 1
            let line = next().line
            e = JinjaExpr(kind: .binary("~", e, try math2()), line: line)
        }
        return e
    }

    private mutating func math2() throws -> JinjaExpr {
        var e = try pow()
        var links = 0
        defer { depth -= links }
        while cur.kind == .op && ["*", "/", "//", "%"].contains(cur.text) {
            try enter(); links += 1
            let tok = next()
            e = JinjaExpr(kind: .binary(tok.text, e, try pow()), line: tok.line)
        }
        return e
    }

    private mutating func pow() throws -> JinjaExpr {
        var e = try unary()
        var links = 0
        defer { depth -= links }
        while isOp("**") {
            try enter(); links += 1
            let line = next().line
            e = JinjaExpr(kind: .binary("**", e, try unary()), line: line)
        }
        return e
    }

    private mutating func unary(withFilter: Bool = true) throws -> JinjaExpr {
        try enter()
        defer { depth -= 1 }
        var e: JinjaExpr
        if isOp("-") {
            let line = next().line
            e = JinjaExpr(kind: .negate(try unary(withFilter: false)), line: line)
        } else if isOp("+") {
            let line = next().line
            e = JinjaExpr(kind: .plus(try unary(withFilter: false)), line: line)
        } else {
            e = try primary()
        }
        e = try postfix(e)
        if withFilter { e = try filterExpr(e) }
        return e
    }

    private mutating func primary() throws -> JinjaExpr {
        try enter()
        defer { depth -= 1 }
        let tok = cur
        switch tok.kind {
        case .name:
            _ = next()
            switch tok.text {
            case "true", "True": return JinjaExpr(kind: .literal(.bool(true)), line: tok.line)
            case "false", "False": return JinjaExpr(kind: .literal(.bool(false)), line: tok.line)
            case "none", "None": return JinjaExpr(kind: .literal(.none), line: tok.line)
            default: return JinjaExpr(kind: .name(tok.text), line: tok.line)
            }
        case .string:
            var s = next().text
            while cur.kind == .string { s += next().text }
            return JinjaExpr(kind: .literal(.string(s)), line: tok.line)
        case .integer:
            _ = next()
            return JinjaExpr(kind: .literal(.int(tok.intValue)), line: tok.line)
        case .float:
            _ = next()
            return JinjaExpr(kind: .literal(.double(tok.doubleValue)), line: tok.line)
        case .op where tok.text == "(":
            _ = next()
            let e = try parseTuple(explicitParentheses: true)
            try expectOp(")")
            return e
        case .op where tok.text == "[":
            _ = next()
            var items: [JinjaExpr] = []
            while !isOp("]") {
                if !items.isEmpty { try expectOp(",") }
                if isOp("]") { break }
                items.append(try parseExpression())
            }
            try expectOp("]")
            return JinjaExpr(kind: .list(items), line: tok.line)
        case .op where tok.text == "{":
            _ = next()
            var items: [(JinjaExpr, JinjaExpr)] = []
            while !isOp("}") {
                if !items.isEmpty { try expectOp(",") }
                if isOp("}") { break }
                let k = try parseExpression()
                try expectOp(":")
                items.append((k, try parseExpression()))
            }
            try expectOp("}")
            return JinjaExpr(kind: .dict(items), line: tok.line)
        default:
            throw fail("unexpected \(describe(tok))")
        }
    }

    private mutating func postfix(_ node: JinjaExpr) throws -> JinjaExpr {
        var e = node
        var links = 0
        defer { depth -= links }
        while true {
            try enter(); links += 1
            if isOp(".") || isOp("[") {
                e = try subscriptExpr(e)
            } else if isOp("(") {
                let line = cur.line
                e = JinjaExpr(kind: .call(e, try callArguments()), line: line)
            } else {
                return e
            }
        }
    }

    private mutating func filterExpr(_ node: JinjaExpr) throws -> JinjaExpr {
        var e = node
        var links = 0
        defer { depth -= links }
        while true {
            try enter(); links += 1
            if isOp("|") {
                for (name, args, line) in try filterChain(startInline: false) {
                    try enter(); links += 1
                    e = JinjaExpr(kind: .filter(e, name, args), line: line)
                }
            } else if isName("is") {
                let line = next().line
                let negated = skipName("not")
                var name = try expectName()
                while skipOp(".") { name += "." + (try expectName()) }
                var args = JinjaArguments()
                if isOp("(") {
                    args = try callArguments()
                } else if [.name, .string, .integer, .float].contains(cur.kind) || isOp("[") || isOp("{"),
                          !(isName("else") || isName("or") || isName("and")) {
                    if isName("is") { throw fail("You cannot chain multiple tests with is") }
                    args.positional = [try postfix(try primary())]
                }
                e = JinjaExpr(kind: .test(e, name, args, negated: negated), line: line)
            } else if isOp("(") {
                let line = cur.line
                e = JinjaExpr(kind: .call(e, try callArguments()), line: line)
            } else {
                return e
            }
        }
    }

    private mutating func subscriptExpr(_ node: JinjaExpr) throws -> JinjaExpr {
        let tok = next()
        if tok.text == "." {
            let attr = next()
            if attr.kind == .name { return JinjaExpr(kind: .attribute(node, attr.text), line: tok.line) }
            guard attr.kind == .integer else { throw fail("expected name or number", line: attr.line) }
            return JinjaExpr(kind: .item(node, JinjaExpr(kind: .literal(.int(attr.intValue)), line: attr.line)), line: tok.line)
        }
        var args: [JinjaExpr] = []
        while !isOp("]") {
            if !args.isEmpty { try expectOp(",") }
            args.append(try subscribed())
        }
        try expectOp("]")
        if args.count == 1, case .slice(_, let a, let b, let c) = args[0].kind {
            return JinjaExpr(kind: .slice(node, a, b, c), line: tok.line)
        }
        let index = args.count == 1 ? args[0] : JinjaExpr(kind: .tuple(args), line: tok.line)
        return JinjaExpr(kind: .item(node, index), line: tok.line)
    }

    /// An index or a slice `start:stop:step` (the slice is returned as `.slice` over a placeholder).
    private mutating func subscribed() throws -> JinjaExpr {
        let line = cur.line
        var parts: [JinjaExpr?] = []
        if isOp(":") {
            _ = next()
            parts = [nil]
        } else {
            let e = try parseExpression()
            if !isOp(":") { return e }
            _ = next()
            parts = [e]
        }
        if isOp(":") || isOp("]") || isOp(",") { parts.append(nil) } else { parts.append(try parseExpression()) }
        if skipOp(":") {
            if isOp("]") || isOp(",") { parts.append(nil) } else { parts.append(try parseExpression()) }
        } else {
            parts.append(nil)
        }
        let placeholder = JinjaExpr(kind: .literal(.none), line: line)
        return JinjaExpr(kind: .slice(placeholder, parts[0], parts[1], parts[2]), line: line)
    }

    private mutating func callArguments() throws -> JinjaArguments {
        try expectOp("(")
        var a = JinjaArguments()
        var requireComma = false
        while !isOp(")") {
            if requireComma {
                try expectOp(",")
                if isOp(")") { break }
            }
            if isOp("*") {
                _ = next()
                a.spread = try parseExpression()
            } else if isOp("**") {
                _ = next()
                a.keywordSpread = try parseExpression()
            } else if cur.kind == .name && look().kind == .op && look().text == "=" {
                guard a.keywordSpread == nil else { throw fail("invalid syntax for function call expression") }
                let key = next().text
                _ = next()
                a.keyword.append((key, try parseExpression()))
            } else {
                guard a.spread == nil, a.keywordSpread == nil, a.keyword.isEmpty else {
                    throw fail("invalid syntax for function call expression")
                }
                a.positional.append(try parseExpression())
            }
            requireComma = true
        }
        try expectOp(")")
        return a
    }
}
