// The one error type of the Jinja interpreter: what went wrong and on which template line.

/// A template that cannot be parsed or rendered. `line` is the 1-based template line (0 when unknown).
public struct JinjaError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Kind: String, Sendable {
        case syntax            // jinja2: TemplateSyntaxError
        case undefined         // jinja2: UndefinedError
        case type              // Python TypeError / ValueError raised while rendering
        case raised            // the template's own raise_exception(message) (jinja2: TemplateError)
        case unsupported       // a construct this interpreter does not implement
        case limit             // output size, recursion depth or step budget exceeded
        case security          // jinja2's ImmutableSandboxedEnvironment refuses it (SecurityError)
    }
    public var kind: Kind
    public var message: String
    public var line: Int

    public init(_ kind: Kind, _ message: String, line: Int = 0) {
        self.kind = kind
        self.message = message
        self.line = line
    }

    public var description: String {
        let at = line > 0 ? "template line \(line): " : ""
        switch kind {
        case .raised: return "\(at)the template raised: \(message)"
        case .unsupported: return "\(at)unsupported Jinja construct: \(message)"
        default: return "\(at)\(message)"
        }
    }
}
