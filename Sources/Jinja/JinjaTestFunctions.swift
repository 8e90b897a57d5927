// jinja2's tests (`x is defined`, `is string`, `is mapping` ...) with Python's type rules.

extension JinjaInterpreter {
    func applyTest(_ name: String, _ v: JinjaValue, _ a: Arguments) throws -> Bool {
        if name == "escaped" { if case .markup = v { return true }; return false }
        let v = v.plain
        let other = JinjaInterpreter.argument(a.positional, a.keyword, 0, name == "divisibleby" ? "num" : "other")
        func needOther() throws -> JinjaValue {
            guard let other else { throw error(.type, "test '\(name)' needs an argument") }
            return other
        }
        switch name {
        case "defined": return !v.isUndefined
        case "undefined": return v.isUndefined
        case "none": return v.isNone
        case "boolean": if case .bool = v { return true }; return false
        case "true": if case .bool(true) = v { return true }; return false
        case "false": if case .bool(false) = v { return true }; return false
        case "integer": if case .int = v { return true }; return false
        case "float": if case .double = v { return true }; return false
        case "number": return v.number != nil
        case "string": if case .string = v { return true }; return false
        case "mapping": if case .dict = v { return true }; return false
        case "iterable":
            // Python iter(): str, list, tuple, dict, generators, and jinja2's Undefined (it iterates as empty)
            switch v {
            case .string, .list, .dict, .undefined: return true
            default: return false
            }
        case "sequence":
            switch v {
            case .string, .dict: return true
            case .list(_, let k): return k.isSequence
            default: return false
            }
        case "callable":
            switch v {
            case .macro, .function: return true
            default: return false
            }
        case "odd", "even":
            guard let i = v.integer else { throw error(.type, "odd/even need an integer") }
            return (i % 2 != 0) == (name == "odd")
        case "divisibleby":
            guard let i = v.integer, let n = try needOther().integer else { throw error(.type, "divisibleby needs integers") }
            guard n != 0 else { throw error(.type, "integer division or modulo by zero") }
            return i % n == 0
        case "eq", "equalto", "==": return pyEqual(v, try needOther())
        case "ne", "!=": return !pyEqual(v, try needOther())
        case "lt", "lessthan", "<": return try order(v, try needOther(), "<") < 0
        case "le", "<=": return try order(v, try needOther(), "<=") <= 0
        case "gt", "greaterthan", ">": return try order(v, try needOther(), ">") > 0
        case "ge", ">=": return try order(v, try needOther(), ">=") >= 0
        case "in": return try contains(try JinjaInterpreter.argument(a.positional, a.keyword, 0, "seq") ?? needOther(), v)
        case "sameas":
            let o = try needOther()
            switch (v, o) {
            case (.none, .none): return true
            case (.bool(let x), .bool(let y)): return x == y
            case (.namespace(let x), .namespace(let y)): return x === y
            default: return false
            }
        case "lower": if case .string(let s) = v { return pyLower(s) == s }; return pyLower(v.pyStr) == v.pyStr
        case "upper": if case .string(let s) = v { return pyUpper(s) == s }; return pyUpper(v.pyStr) == v.pyStr
        case "escaped": return false
        case "filter", "test": throw error(.unsupported, "the '\(name)' test")
        default: throw error(.syntax, "No test named '\(name)'.")
        }
    }
}
