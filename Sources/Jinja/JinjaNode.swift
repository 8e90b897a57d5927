// The parsed template: statements and expressions of the Jinja subset chat templates use, each with its line.

/// An expression and the template line it starts on.
struct JinjaExpr: @unchecked Sendable {
    indirect enum Kind {
        case literal(JinjaValue)
        case name(String)
        case list([JinjaExpr])
        case tuple([JinjaExpr])
        case dict([(JinjaExpr, JinjaExpr)])
        case attribute(JinjaExpr, String)                         // a.b
        case item(JinjaExpr, JinjaExpr)                           // a[b]
        case slice(JinjaExpr, JinjaExpr?, JinjaExpr?, JinjaExpr?) // a[start:stop:step]
        case call(JinjaExpr, JinjaArguments)
        case filter(JinjaExpr, String, JinjaArguments)
        case test(JinjaExpr, String, JinjaArguments, negated: Bool)
        case not(JinjaExpr)
        case negate(JinjaExpr)
        case plus(JinjaExpr)
        case binary(String, JinjaExpr, JinjaExpr)                 // + - * / // % ** ~
        case and(JinjaExpr, JinjaExpr)
        case or(JinjaExpr, JinjaExpr)
        case compare(JinjaExpr, [(String, JinjaExpr)])            // == != < <= > >= in notin
        case conditional(then: JinjaExpr, condition: JinjaExpr, otherwise: JinjaExpr?)
    }
    var kind: Kind
    var line: Int
}

/// Call arguments: positional, keyword (in order), and `*args`/`**kwargs` spreads.
struct JinjaArguments {
    var positional: [JinjaExpr] = []
    var keyword: [(String, JinjaExpr)] = []
    var spread: JinjaExpr? = nil
    var keywordSpread: JinjaExpr? = nil
}

/// What `{% set %}` and `{% for %}` assign to.
enum JinjaTarget {
    case name(String)
    case tuple([JinjaTarget])
    case attribute(String, String)   // namespace attribute: ns.x
}

/// A statement and the template line it starts on.
struct JinjaNode: @unchecked Sendable {
    indirect enum Kind {
        case text(String)
        case output(JinjaExpr)
        case ifChain([(JinjaExpr, [JinjaNode])], otherwise: [JinjaNode])
        case forLoop(target: JinjaTarget, iterable: JinjaExpr, filter: JinjaExpr?, body: [JinjaNode],
                     otherwise: [JinjaNode], recursive: Bool)
        case set(JinjaTarget, JinjaExpr)
        case setBlock(JinjaTarget, filters: [(String, JinjaArguments, Int)], body: [JinjaNode])
        case macro(name: String, parameters: [(name: String, default: JinjaExpr?)], body: [JinjaNode])
        case callBlock(call: JinjaExpr, parameters: [(name: String, default: JinjaExpr?)], body: [JinjaNode])
        case filterBlock(filters: [(String, JinjaArguments, Int)], body: [JinjaNode])
        case breakLoop
        case continueLoop
        /// transformers' `{% generation %}` extension: renders its body (the tracking itself is not needed here).
        case generation([JinjaNode])
    }
    var kind: Kind
    var line: Int
}
