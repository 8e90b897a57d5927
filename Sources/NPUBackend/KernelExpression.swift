// A tiny integer expression language for the kernel manifest: shapes, buffer sizes and tiling constraints.

/// A parsed integer expression: literals, names, + - * / %, comparisons and && || (true is 1),
/// parentheses, min(a, b), max(a, b), ceildiv(a, b). Arithmetic is overflow-checked; division by
/// zero is an error, never a trap. Parsing is bounded (length, nesting), so hostile text is safe.
public indirect enum KernelExpression: Sendable, Equatable, CustomStringConvertible {
    case literal(Int)
    case name(String)
    case negate(KernelExpression)
    case binary(String, KernelExpression, KernelExpression)
    case call(String, [KernelExpression])

    public static let maxLength = 256
    static let maxDepth = 32

    public struct Failure: Error, Equatable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// Parses `text`; the failure message says what is wrong and where.
    public init(parsing text: String) throws {
        guard text.utf8.count <= Self.maxLength else {
            throw Failure(message: "expression is longer than \(Self.maxLength) characters")
        }
        var parser = Parser(tokens: try Self.tokenize(text))
        let e = try parser.parseOr(depth: 0)
        guard parser.index == parser.tokens.count else {
            throw Failure(message: "unexpected '\(parser.tokens[parser.index])' in '\(text)'")
        }
        self = e
    }

    /// Every name the expression reads.
    public var names: Set<String> {
        switch self {
        case .literal: return []
        case .name(let n): return [n]
        case .negate(let e): return e.names
        case .binary(_, let a, let b): return a.names.union(b.names)
        case .call(_, let args): return args.reduce(into: Set<String>()) { $0.formUnion($1.names) }
        }
    }

    /// The value with `variables` bound; unknown names, overflow and division by zero fail.
    public func evaluate(_ variables: [String: Int]) throws -> Int {
        switch self {
        case .literal(let v): return v
        case .name(let n):
            guard let v = variables[n] else { throw Failure(message: "unknown name '\(n)'") }
            return v
        case .negate(let e):
            let (v, o) = Int(0).subtractingReportingOverflow(try e.evaluate(variables))
            if o { throw Failure(message: "overflow in \(self)") }
            return v
        case let .call(f, args):
            let v = try args.map { try $0.evaluate(variables) }
            switch f {
            case "min": return min(v[0], v[1])
            case "max": return max(v[0], v[1])
            default: // ceildiv
                guard v[1] > 0 else { throw Failure(message: "ceildiv by \(v[1]) in \(self)") }
                return v[0] / v[1] + (v[0] % v[1] > 0 ? 1 : 0)
            }
        case let .binary(op, a, b):
            let x = try a.evaluate(variables)
            if op == "&&" && x == 0 { return 0 }
            if op == "||" && x != 0 { return 1 }
            let y = try b.evaluate(variables)
            let result: (Int, Bool)
            switch op {
            case "+": result = x.addingReportingOverflow(y)
            case "-": result = x.subtractingReportingOverflow(y)
            case "*": result = x.multipliedReportingOverflow(by: y)
            case "/", "%":
                guard y != 0 else { throw Failure(message: "division by zero in \(self)") }
                result = op == "/" ? x.dividedReportingOverflow(by: y) : x.remainderReportingOverflow(dividingBy: y)
            case "==": result = (x == y ? 1 : 0, false)
            case "!=": result = (x != y ? 1 : 0, false)
            case "<": result = (x < y ? 1 : 0, false)
            case "<=": result = (x <= y ? 1 : 0, false)
            case ">": result = (x > y ? 1 : 0, false)
            case ">=": result = (x >= y ? 1 : 0, false)
            default: result = (y != 0 ? 1 : 0, false)   // && / || with a deciding right side
            }
            if result.1 { throw Failure(message: "overflow in \(self)") }
            return result.0
        }
    }

    public var description: String {
        switch self {
        case .literal(let v): return String(v)
        case .name(let n): return n
        case .negate(let e): return "-\(e)"
        case let .binary(op, a, b): return "(\(a) \(op) \(b))"
        case let .call(f, args): return "\(f)(\(args.map(\.description).joined(separator: ", ")))"
        }
    }

    // MARK: - Lexing and parsing

    static func tokenize(_ text: String) throws -> [String] {
        var tokens: [String] = []
        let chars = Array(text.unicodeScalars)
        var i = 0
        func isIdent(_ c: Unicode.Scalar) -> Bool { c == "_" || (c.isASCII && (c.properties.isAlphabetic || ("0"..."9").contains(c))) }
        while i < chars.count {
            let c = chars[i]
            if c == " " || c == "\t" { i += 1; continue }
            if ("0"..."9").contains(c) || (c.isASCII && c.properties.isAlphabetic) || c == "_" {
                var j = i
                while j < chars.count && isIdent(chars[j]) { j += 1 }
                tokens.append(String(String.UnicodeScalarView(chars[i..<j])))
                i = j
                continue
            }
            let two = i + 1 < chars.count ? String(String.UnicodeScalarView([c, chars[i + 1]])) : ""
            if ["==", "!=", "<=", ">=", "&&", "||"].contains(two) { tokens.append(two); i += 2; continue }
            if "+-*/%()<>,".unicodeScalars.contains(c) { tokens.append(String(c)); i += 1; continue }
            throw Failure(message: "unexpected character '\(c)' in '\(text)'")
        }
        return tokens
    }

    struct Parser {
        let tokens: [String]
        var index = 0

        mutating func take(_ t: String) -> Bool {
            if index < tokens.count && tokens[index] == t { index += 1; return true }
            return false
        }

        mutating func binaryLevel(_ ops: [String], depth: Int,
                                  next: (inout Parser, Int) throws -> KernelExpression) throws -> KernelExpression {
            var lhs = try next(&self, depth)
            while index < tokens.count, ops.contains(tokens[index]) {
                let op = tokens[index]
                index += 1
                lhs = .binary(op, lhs, try next(&self, depth))
            }
            return lhs
        }

        mutating func parseOr(depth: Int) throws -> KernelExpression {
            guard depth < KernelExpression.maxDepth else { throw Failure(message: "expression nests too deeply") }
            return try binaryLevel(["||"], depth: depth) { try $0.parseAnd(depth: $1) }
        }
        mutating func parseAnd(depth: Int) throws -> KernelExpression {
            try binaryLevel(["&&"], depth: depth) { try $0.parseComparison(depth: $1) }
        }
        mutating func parseComparison(depth: Int) throws -> KernelExpression {
            let lhs = try parseSum(depth: depth)
            for op in ["==", "!=", "<=", ">=", "<", ">"] where take(op) {
                return .binary(op, lhs, try parseSum(depth: depth))
            }
            return lhs
        }
        mutating func parseSum(depth: Int) throws -> KernelExpression {
            try binaryLevel(["+", "-"], depth: depth) { try $0.parseTerm(depth: $1) }
        }
        mutating func parseTerm(depth: Int) throws -> KernelExpression {
            try binaryLevel(["*", "/", "%"], depth: depth) { try $0.parseUnary(depth: $1) }
        }
        mutating func parseUnary(depth: Int) throws -> KernelExpression {
            guard depth < KernelExpression.maxDepth else { throw Failure(message: "expression nests too deeply") }
            if take("-") { return .negate(try parseUnary(depth: depth + 1)) }
            return try parsePrimary(depth: depth)
        }
        mutating func parsePrimary(depth: Int) throws -> KernelExpression {
            guard index < tokens.count else { throw Failure(message: "expression ends early") }
            let t = tokens[index]
            index += 1
            if t == "(" {
                let e = try parseOr(depth: depth + 1)
                guard take(")") else { throw Failure(message: "missing ')'") }
                return e
            }
            if let first = t.unicodeScalars.first, ("0"..."9").contains(first) {
                guard let v = Int(t), v <= 1 << 40 else { throw Failure(message: "'\(t)' is not an integer up to 2^40") }
                return .literal(v)
            }
            guard let first = t.unicodeScalars.first, first == "_" || first.properties.isAlphabetic else {
                throw Failure(message: "unexpected '\(t)'")
            }
            if take("(") {
                guard ["min", "max", "ceildiv"].contains(t) else { throw Failure(message: "unknown function '\(t)'") }
                var args: [KernelExpression] = [try parseOr(depth: depth + 1)]
                while take(",") { args.append(try parseOr(depth: depth + 1)) }
                guard take(")") else { throw Failure(message: "missing ')' after the arguments of \(t)") }
                guard args.count == 2 else { throw Failure(message: "\(t) takes 2 arguments, not \(args.count)") }
                return .call(t, args)
            }
            return .name(t)
        }
    }
}
