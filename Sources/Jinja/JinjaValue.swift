// Values a Jinja template sees, with Python's semantics as jinja2 gives them (truthiness, equality, ordering).

/// A Python value as a chat template sees it. Strings compare and index by Unicode scalar (Python's code
/// points), never by Swift's canonical equivalence. Mappings keep insertion order (Python dicts do).
public indirect enum JinjaValue: Sendable {
    /// jinja2's `Undefined`; the name is what the error message names when it is used.
    case undefined(String)
    case none
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    /// markupsafe's Markup (from `|safe`): a str whose `+` HTML-escapes a plain str operand.
    case markup(String)
    /// Python list, tuple (printed `(1, 2)`) or a filter's generator (jinja2's select/map/unique... yield
    /// lazily: always true, no length, not JSON).
    case list([JinjaValue], kind: JinjaSequenceKind)
    case dict(JinjaDict)
    case namespace(JinjaNamespace)
    case macro(JinjaMacro)
    case function(JinjaFunction)

    public static func list(_ items: [JinjaValue]) -> JinjaValue { .list(items, kind: .list) }

    /// Python `bool(x)` (jinja2's Undefined is false).
    public var truthy: Bool {
        switch self {
        case .undefined, .none: return false
        case .bool(let b): return b
        case .int(let i): return i != 0
        case .double(let d): return d != 0
        case .string(let s), .markup(let s): return !s.isEmpty
        case .list(let a, let kind): return kind == .generator || !a.isEmpty
        case .dict(let d): return !d.isEmpty
        case .namespace, .macro, .function: return true
        }
    }

    /// Markup as the str it is (everything but `+` treats it as one).
    public var plain: JinjaValue {
        if case .markup(let s) = self { return .string(s) }
        return self
    }

    public var isUndefined: Bool { if case .undefined = self { return true } else { return false } }

    /// Python's type name, for error messages as Python words them.
    public var typeName: String {
        switch self {
        case .undefined: return "Undefined"
        case .none: return "NoneType"
        case .bool: return "bool"
        case .int: return "int"
        case .double: return "float"
        case .string: return "str"
        case .markup: return "Markup"
        case .list(_, let kind): return kind.rawValue
        case .dict: return "dict"
        case .namespace: return "Namespace"
        case .macro: return "Macro"
        case .function: return "builtin_function_or_method"
        }
    }

    /// A number as Double (bool counts as int, as in Python); nil for non-numbers.
    var number: Double? {
        switch self {
        case .bool(let b): return b ? 1 : 0
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }

    /// An integer (bool is an int in Python); nil for others.
    var integer: Int? {
        switch self {
        case .bool(let b): return b ? 1 : 0
        case .int(let i): return i
        default: return nil
        }
    }
}

/// Python `==`: numbers by value across int/float/bool, strings by code points, lists/tuples itemwise
/// (a list never equals a tuple), dicts as unordered maps; Undefined equals only Undefined.
public func pyEqual(_ a: JinjaValue, _ b: JinjaValue) -> Bool {
    switch (a.plain, b.plain) {
    case (.undefined, .undefined), (.none, .none): return true
    case (.string(let x), .string(let y)): return x.unicodeScalars.elementsEqual(y.unicodeScalars)
    case (.list(let x, let tx), .list(let y, let ty)):
        return tx.base == ty.base && tx.isSequence && x.count == y.count && zip(x, y).allSatisfy { pyEqual($0, $1) }
    case (.dict(let x), .dict(let y)):
        guard x.count == y.count else { return false }
        for (k, v) in x.pairs { guard let w = y[k], pyEqual(v, w) else { return false } }
        return true
    case (.namespace(let x), .namespace(let y)): return x === y
    case (.macro(let x), .macro(let y)): return x === y
    default:
        if let x = a.number, let y = b.number { return x == y && exactIntEqual(a, b) }
        return false
    }
}

/// Two ints compare exactly (a Double conversion would merge large neighbours).
private func exactIntEqual(_ a: JinjaValue, _ b: JinjaValue) -> Bool {
    if let x = a.integer, let y = b.integer { return x == y }
    return true
}

public enum JinjaSequenceKind: String, Sendable {
    case list, tuple, generator
    /// A dict's `.items()`, `.keys()`, `.values()` views: sized and iterable, not indexable, printed as `dict_items([...])`.
    case dictItems = "dict_items", dictKeys = "dict_keys", dictValues = "dict_values"
    /// jinja2's groupby item (filters.py _GroupTuple): a tuple `(grouper, list)` that also has `.grouper` and `.list`.
    case groupTuple = "_GroupTuple"

    /// list and tuple (what Python can index and slice).
    var isSequence: Bool { self == .list || self == .tuple || self == .groupTuple }

    /// The kind Python compares and concatenates as (a namedtuple is a tuple).
    var base: JinjaSequenceKind { self == .groupTuple ? .tuple : self }
}

/// An ordered Python dict. String keys are found through a hash index (verified by code points, since Swift's
/// String equality is canonical equivalence and Python's is not); other keys by a linear search.
public struct JinjaDict: Sendable {
    public private(set) var pairs: [(key: JinjaValue, value: JinjaValue)] = []
    private var index: [String: Int] = [:]

    public init() {}
    public init(_ pairs: [(String, JinjaValue)]) {
        for (k, v) in pairs { self[.string(k)] = v }
    }

    public var count: Int { pairs.count }
    public var isEmpty: Bool { pairs.isEmpty }
    public var keys: [JinjaValue] { pairs.map(\.key) }
    public var values: [JinjaValue] { pairs.map(\.value) }

    private func position(_ key: JinjaValue) -> Int? {
        if case .string(let s) = key.plain, let i = index[s], case .string(let t) = pairs[i].key.plain,
           s.unicodeScalars.elementsEqual(t.unicodeScalars) {
            return i
        }
        return pairs.firstIndex { pyEqual($0.key, key) }
    }

    public subscript(key: JinjaValue) -> JinjaValue? {
        get { position(key).map { pairs[$0].value } }
        set {
            if let i = position(key) {
                if let newValue {
                    pairs[i].value = newValue
                } else {
                    pairs.remove(at: i)
                    index = [:]
                    for (n, p) in pairs.enumerated() { if case .string(let s) = p.key.plain, index[s] == nil { index[s] = n } }
                }
            } else if let newValue {
                if case .string(let s) = key.plain, index[s] == nil { index[s] = pairs.count }
                pairs.append((key, newValue))
            }
        }
    }

    public subscript(key: String) -> JinjaValue? {
        get { self[.string(key)] }
        set { self[.string(key)] = newValue }
    }
}

/// jinja2's `namespace(...)`: the one mutable object a template has (`{% set ns.x = ... %}`).
public final class JinjaNamespace: @unchecked Sendable {
    var attributes = JinjaDict()
    init(_ attributes: JinjaDict) { self.attributes = attributes }
}

/// A callable given to templates (globals such as `range`, bound methods such as `"s".split`).
public final class JinjaFunction: @unchecked Sendable {
    public let name: String
    let call: (_ args: [JinjaValue], _ kwargs: [(String, JinjaValue)], _ interpreter: JinjaInterpreter) throws -> JinjaValue

    public init(_ name: String,
                _ call: @escaping (_ args: [JinjaValue], _ kwargs: [(String, JinjaValue)], _ interpreter: JinjaInterpreter) throws -> JinjaValue) {
        self.name = name
        self.call = call
    }
}

/// A `{% macro %}` with the scope it was defined in.
public final class JinjaMacro: @unchecked Sendable {
    let name: String
    let parameters: [(name: String, default: JinjaExpr?)]
    let body: [JinjaNode]
    let scope: JinjaScope
    let line: Int

    init(name: String, parameters: [(name: String, default: JinjaExpr?)], body: [JinjaNode], scope: JinjaScope, line: Int) {
        self.name = name
        self.parameters = parameters
        self.body = body
        self.scope = scope
        self.line = line
    }
}

/// A variable scope: the template's top level, one for-loop iteration, or one macro call (jinja2 gives a
/// loop body a fresh scope per iteration; `if` blocks share their enclosing scope).
final class JinjaScope {
    var variables: [String: JinjaValue] = [:]
    let parent: JinjaScope?
    init(parent: JinjaScope?) { self.parent = parent }

    func lookup(_ name: String) -> JinjaValue? {
        var s: JinjaScope? = self
        while let scope = s {
            if let v = scope.variables[name] { return v }
            s = scope.parent
        }
        return nil
    }
}
