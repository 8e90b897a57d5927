// Renders a parsed template: statements, expressions and scopes with jinja2's semantics, within hard limits.

import Foundation

/// One rendering of a template. Limits keep hostile templates finite: output size, macro/expression
/// recursion depth and a step budget (every statement, expression and loop iteration is a step).
public final class JinjaInterpreter {
    public struct Limits: Sendable {
        public var maxOutputScalars = 16 << 20
        /// Items in one list a template builds (with + or *).
        public var maxListItems = 1 << 20
        /// Macro calls inside macro calls.
        public var maxCallDepth = 100
        /// Expressions evaluated inside one another (macro bodies included).
        public var maxEvalDepth = 1000
        /// Containers inside containers in a value a template builds or assigns (and namespace cycles).
        public var maxNesting = 256
        public var maxSteps = 20_000_000
        public init() {}
    }

    let limits: Limits
    /// What `strftime_now` formats (jinja2 under transformers: `datetime.now()`).
    let now: JinjaDate
    var out = String.UnicodeScalarView()
    private var outCount = 0
    private var steps = 0
    private var callDepth = 0
    private var line = 0

    init(limits: Limits, now: JinjaDate) {
        self.limits = limits
        self.now = now
    }

    enum Flow { case normal, breakLoop, continueLoop }

    // MARK: output

    private func emit(_ s: String) throws {
        outCount += s.unicodeScalars.count
        guard outCount <= limits.maxOutputScalars else {
            throw JinjaError(.limit, "output longer than \(limits.maxOutputScalars) characters", line: line)
        }
        out.append(contentsOf: s.unicodeScalars)
    }

    /// Renders `body` into a string of its own (set blocks, macros, filter blocks).
    func capture(_ body: [JinjaNode], _ scope: JinjaScope) throws -> (String, Flow) {
        let saved = out
        out = String.UnicodeScalarView()
        defer { out = saved }
        let flow = try run(body, scope)
        return (String(out), flow)
    }

    func step() throws {
        steps += 1
        guard steps <= limits.maxSteps else {
            throw JinjaError(.limit, "rendering took more than \(limits.maxSteps) steps", line: line)
        }
    }

    func error(_ kind: JinjaError.Kind, _ message: String) -> JinjaError {
        JinjaError(kind, message, line: line)
    }

    /// A string a template built, checked against the output limit (repetition and concatenation can grow fast).
    func checked(_ s: String) throws -> JinjaValue {
        guard s.unicodeScalars.count <= limits.maxOutputScalars else {
            throw error(.limit, "a string longer than \(limits.maxOutputScalars) characters")
        }
        return .string(s)
    }

    // MARK: statements

    func run(_ body: [JinjaNode], _ scope: JinjaScope) throws -> Flow {
        for node in body {
            let flow = try run(node, scope)
            if flow != .normal { return flow }
        }
        return .normal
    }

    private func run(_ node: JinjaNode, _ scope: JinjaScope) throws -> Flow {
        try step()
        line = node.line
        switch node.kind {
        case .text(let s):
            try emit(s)
        case .output(let e):
            let v = try eval(e, scope)
            line = node.line
            try emit(v.pyStr)
        case .ifChain(let branches, let otherwise):
            for (test, body) in branches where try eval(test, scope).truthy {
                return try run(body, scope)
            }
            return try run(otherwise, scope)
        case .forLoop(let target, let iterable, let filter, let body, let otherwise, let recursive):
            if recursive { throw error(.unsupported, "recursive for loops") }
            return try forLoop(target, iterable, filter, body, otherwise, scope)
        case .set(let target, let e):
            try assign(target, try eval(e, scope), scope)
        case .setBlock(let target, let filters, let body):
            var v = JinjaValue.string(try capture(body, scope).0)
            for (name, args, l) in filters {
                line = l
                v = try applyFilter(name, v, try evalArguments(args, scope), scope)
            }
            try assign(target, v, scope)
        case .macro(let name, let parameters, let body):
            scope.variables[name] = .macro(JinjaMacro(name: name, parameters: parameters, body: body, scope: scope, line: node.line))
        case .callBlock(let call, let parameters, let body):
            guard case .call(let callee, let args) = call.kind else { throw error(.syntax, "expected call") }
            let caller = JinjaMacro(name: "caller", parameters: parameters, body: body, scope: scope, line: node.line)
            var a = try evalArguments(args, scope)
            a.keyword.append(("caller", .macro(caller)))
            try emit(try callValue(try eval(callee, scope), a, scope).pyStr)
        case .filterBlock(let filters, let body):
            var v = JinjaValue.string(try capture(body, scope).0)
            for (name, args, l) in filters {
                line = l
                v = try applyFilter(name, v, try evalArguments(args, scope), scope)
            }
            try emit(v.pyStr)
        case .breakLoop: return .breakLoop
        case .continueLoop: return .continueLoop
        case .generation(let body):
            return try run(body, scope)
        }
        return .normal
    }

    private func forLoop(_ target: JinjaTarget, _ iterable: JinjaExpr, _ filter: JinjaExpr?, _ body: [JinjaNode],
                         _ otherwise: [JinjaNode], _ scope: JinjaScope) throws -> Flow {
        let loopLine = line
        var items = try iterate(try eval(iterable, scope))
        if let filter {
            items = try items.filter { item in
                let s = JinjaScope(parent: scope)
                try assign(target, item, s)
                return try eval(filter, s).truthy
            }
        }
        if items.isEmpty { return try run(otherwise, scope) }
        let n = items.count
        for (index, item) in items.enumerated() {
            try step()
            line = loopLine
            let s = JinjaScope(parent: scope)
            var loop = JinjaDict()
            loop["index"] = .int(index + 1)
            loop["index0"] = .int(index)
            loop["revindex"] = .int(n - index)
            loop["revindex0"] = .int(n - index - 1)
            loop["first"] = .bool(index == 0)
            loop["last"] = .bool(index == n - 1)
            loop["length"] = .int(n)
            loop["depth"] = .int(1)
            loop["depth0"] = .int(0)
            if index > 0 { loop["previtem"] = items[index - 1] }
            if index < n - 1 { loop["nextitem"] = items[index + 1] }
            loop["cycle"] = .function(JinjaFunction("cycle") { args, _, interp in
                guard !args.isEmpty else { throw interp.error(.type, "no items for cycling given") }
                return args[index % args.count]
            })
            s.variables["loop"] = .dict(loop)
            try assign(target, item, s)
            if try run(body, s) == .breakLoop { break }
        }
        return .normal
    }

    /// What a for loop walks: list/tuple items, dict keys, string code points; Undefined is empty.
    func iterate(_ v: JinjaValue) throws -> [JinjaValue] {
        switch v.plain {
        case .list(let items, _): return items
        case .dict(let d): return d.keys
        case .string(let s): return s.unicodeScalars.map { .string(String($0)) }
        case .undefined: return []
        case .namespace: throw error(.type, "'Namespace' object is not iterable")
        default: throw error(.type, "'\(v.typeName)' object is not iterable")
        }
    }

    /// `v` if it nests no deeper than the limit (deep values would overflow the stack when printed, compared or
    /// freed; a namespace holding itself nests without end). Every item looked at is a step.
    func nested(_ v: JinjaValue) throws -> JinjaValue {
        try checkNesting(v, 0)
        return v
    }

    private func checkNesting(_ v: JinjaValue, _ level: Int) throws {
        guard level <= limits.maxNesting else {
            throw error(.limit, "a value nested deeper than \(limits.maxNesting) levels (or a namespace that holds itself)")
        }
        switch v {
        case .list(let items, _):
            for x in items { try step(); try checkNesting(x, level + 1) }
        case .dict(let d):
            for (k, x) in d.pairs { try step(); try checkNesting(k, level + 1); try checkNesting(x, level + 1) }
        case .namespace(let n):
            for (_, x) in n.attributes.pairs { try step(); try checkNesting(x, level + 1) }
        default: break
        }
    }

    private func assign(_ target: JinjaTarget, _ v: JinjaValue, _ scope: JinjaScope) throws {
        switch target {
        case .name(let n):
            scope.variables[n] = v
        case .tuple(let targets):
            let items = try iterate(v)
            guard items.count == targets.count else {
                throw error(.type, items.count > targets.count ? "too many values to unpack (expected \(targets.count))"
                            : "not enough values to unpack (expected \(targets.count), got \(items.count))")
            }
            for (t, x) in zip(targets, items) { try assign(t, x, scope) }
        case .attribute(let ns, let attr):
            guard case .namespace(let n)? = scope.lookup(ns) else {
                throw error(.type, "cannot assign attribute on non-namespace object")
            }
            if attr.hasPrefix("_") {
                throw error(.security, "Chat templates cannot store underscore-prefixed attributes on a namespace, but got '\(attr)'. Please rename the attribute.")
            }
            n.attributes[attr] = v
            do { try checkNesting(.namespace(n), 0) } catch {
                n.attributes[attr] = JinjaValue.none   // break the cycle before reporting it
                throw error
            }
        }
    }

    // MARK: expressions

    func evalArguments(_ a: JinjaArguments, _ scope: JinjaScope) throws -> (positional: [JinjaValue], keyword: [(String, JinjaValue)]) {
        var positional = try a.positional.map { try eval($0, scope) }
        var keyword = try a.keyword.map { ($0.0, try eval($0.1, scope)) }
        if let spread = a.spread { positional += try iterate(try eval(spread, scope)) }
        if let ks = a.keywordSpread {
            guard case .dict(let d) = try eval(ks, scope) else { throw error(.type, "argument after ** must be a mapping") }
            for (k, v) in d.pairs {
                guard case .string(let name) = k else { throw error(.type, "keywords must be strings") }
                keyword.append((name, v))
            }
        }
        return (positional, keyword)
    }

    func eval(_ e: JinjaExpr, _ scope: JinjaScope) throws -> JinjaValue {
        try step()
        callDepth += 1
        defer { callDepth -= 1 }
        guard callDepth <= limits.maxEvalDepth else {
            throw JinjaError(.limit, "expressions nested deeper than \(limits.maxEvalDepth) levels", line: e.line)
        }
        line = e.line
        switch e.kind {
        case .literal(let v): return v
        case .name(let n):
            if let v = scope.lookup(n) { return v }
            if let g = globalValue(n) { return g }
            return .undefined("'\(n)' is undefined")
        case .list(let items): return try nested(.list(try items.map { try eval($0, scope) }))
        case .tuple(let items): return try nested(.list(try items.map { try eval($0, scope) }, kind: .tuple))
        case .dict(let pairs):
            var d = JinjaDict()
            for (k, v) in pairs {
                let key = try eval(k, scope)
                if case .list(_, .list) = key { throw error(.type, "unhashable type: 'list'") }
                if case .dict = key { throw error(.type, "unhashable type: 'dict'") }
                d[key] = try eval(v, scope)
            }
            return try nested(.dict(d))
        case .attribute(let obj, let name):
            let o = try eval(obj, scope)
            line = e.line
            return try getAttribute(o, name)
        case .item(let obj, let index):
            let o = try eval(obj, scope)
            let i = try eval(index, scope)
            line = e.line
            return try getItem(o, i)
        case .slice(let obj, let a, let b, let c):
            let o = try eval(obj, scope)
            let start = try a.map { try eval($0, scope) }
            let stop = try b.map { try eval($0, scope) }
            let stride = try c.map { try eval($0, scope) }
            line = e.line
            return try slice(o, start, stop, stride)
        case .call(let callee, let args):
            let f = try eval(callee, scope)
            let a = try evalArguments(args, scope)
            line = e.line
            return try callValue(f, a, scope)
        case .filter(let value, let name, let args):
            let v = try eval(value, scope)
            let a = try evalArguments(args, scope)
            line = e.line
            return try applyFilter(name, v, a, scope)
        case .test(let value, let name, let args, let negated):
            let v = try eval(value, scope)
            let a = try evalArguments(args, scope)
            line = e.line
            return .bool(try applyTest(name, v, a) != negated)
        case .not(let x): return .bool(!(try eval(x, scope).truthy))
        case .negate(let x):
            let v = try eval(x, scope)
            line = e.line
            switch v {
            case .int(let i): return .int(0 &- i)
            case .bool(let b): return .int(b ? -1 : 0)
            case .double(let d): return .double(-d)
            case .undefined(let m): throw error(.undefined, m)
            default: throw error(.type, "bad operand type for unary -: '\(v.typeName)'")
            }
        case .plus(let x):
            let v = try eval(x, scope)
            guard v.number != nil else { throw error(.type, "bad operand type for unary +: '\(v.typeName)'") }
            if case .bool(let b) = v { return .int(b ? 1 : 0) }
            return v
        case .and(let a, let b):
            let x = try eval(a, scope)
            return x.truthy ? try eval(b, scope) : x
        case .or(let a, let b):
            let x = try eval(a, scope)
            return x.truthy ? x : try eval(b, scope)
        case .binary(let op, let a, let b):
            let x = try eval(a, scope)
            let y = try eval(b, scope)
            line = e.line
            return try binary(op, x, y)
        case .compare(let first, let ops):
            var left = try eval(first, scope)
            for (op, rightExpr) in ops {
                let right = try eval(rightExpr, scope)
                line = e.line
                guard try compare(op, left, right) else { return .bool(false) }
                left = right
            }
            return .bool(true)
        case .conditional(let then, let condition, let otherwise):
            if try eval(condition, scope).truthy { return try eval(then, scope) }
            if let otherwise { return try eval(otherwise, scope) }
            return .undefined("the inline if-expression on line \(e.line) evaluated to false and no else section was defined.")
        }
    }

    // MARK: calls

    func callValue(_ f: JinjaValue, _ a: (positional: [JinjaValue], keyword: [(String, JinjaValue)]), _ scope: JinjaScope) throws -> JinjaValue {
        switch f {
        case .function(let fn): return try fn.call(a.positional, a.keyword, self)
        case .macro(let m): return try callMacro(m, a.positional, a.keyword)
        case .undefined(let message): throw error(.undefined, message)
        default: throw error(.type, "'\(f.typeName)' object is not callable")
        }
    }

    private func callMacro(_ m: JinjaMacro, _ positional: [JinjaValue], _ keyword: [(String, JinjaValue)]) throws -> JinjaValue {
        callDepth += 1
        defer { callDepth -= 1 }
        guard callDepth <= limits.maxEvalDepth, macroDepth < limits.maxCallDepth else {
            throw error(.limit, "macro '\(m.name)' called recursively deeper than \(limits.maxCallDepth) levels")
        }
        macroDepth += 1
        defer { macroDepth -= 1 }
        guard positional.count <= m.parameters.count else {
            throw error(.type, "macro '\(m.name)' takes not more than \(m.parameters.count) argument(s)")
        }
        let s = JinjaScope(parent: m.scope)
        var caller: JinjaValue?
        for (k, v) in keyword {
            if k == "caller" { caller = v; continue }
            guard let idx = m.parameters.firstIndex(where: { $0.name == k }) else {
                throw error(.type, "macro '\(m.name)' takes no keyword argument '\(k)'")
            }
            if idx < positional.count { throw error(.type, "macro '\(m.name)' got multiple values for argument '\(k)'") }
            s.variables[k] = v
        }
        for (idx, p) in m.parameters.enumerated() {
            if idx < positional.count {
                s.variables[p.name] = positional[idx]
            } else if s.variables[p.name] == nil {
                if let d = p.default { s.variables[p.name] = try eval(d, s) }
                else { s.variables[p.name] = .undefined("parameter '\(p.name)' was not provided") }
            }
        }
        if let caller { s.variables["caller"] = caller }
        let savedLine = line
        let (text, _) = try capture(m.body, s)
        line = savedLine
        return .string(text)
    }
    private var macroDepth = 0
}
