// A compiled Jinja template: parse once, render with variables, as transformers' apply_chat_template renders.

import Foundation

public struct JinjaTemplate: Sendable {
    let body: [JinjaNode]

    /// Parses `source`; a syntax error or an unknown filter/test (jinja2 refuses those when compiling) names its line.
    public init(_ source: String) throws {
        body = try JinjaParser.parse(source)
        try JinjaNameCheck.check(body)
    }

    /// Renders with `variables` as the template's context. `now` is what `strftime_now` formats.
    public func render(_ variables: [String: JinjaValue], now: JinjaDate = .now(),
                       limits: JinjaInterpreter.Limits = .init()) throws -> String {
        let interpreter = JinjaInterpreter(limits: limits, now: now)
        let scope = JinjaScope(parent: nil)
        scope.variables = variables
        _ = try interpreter.run(body, scope)
        return String(interpreter.out)
    }
}
