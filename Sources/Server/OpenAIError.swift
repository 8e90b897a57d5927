// OpenAI's error object ({"error": {"message", "type", "param", "code"}}) with its HTTP status: every failure the server answers.
import Foundation
import HTTPTypes
import Hummingbird

/// A failure answered to the client as OpenAI answers it. Thrown anywhere in a handler; `ErrorMiddleware`
/// turns any other error into one of these, so no response leaves without the error object.
public struct OpenAIError: Error, Sendable, HTTPResponseError, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var message: String
    /// OpenAI's `type`: invalid_request_error, authentication_error, rate_limit_error, server_error.
    public var type: String
    /// The request field at fault, as a path (`messages.0.content`), when there is one.
    public var param: String?
    public var code: String?
    /// Extra response headers (`Retry-After` on 429 and 503, `Allow` on 405, `WWW-Authenticate` on 401).
    public var headers: [(HTTPField.Name, String)] = []

    public init(status: HTTPResponse.Status, message: String, type: String, param: String? = nil, code: String? = nil,
                headers: [(HTTPField.Name, String)] = []) {
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers = headers
    }

    public var description: String { "\(status.code) \(type)\(code.map { "/" + $0 } ?? ""): \(message)" }

    /// The body: `{"error": {"message", "type", "param", "code"}}`, nulls written out.
    public var body: JSONValue {
        .object([("error", .object([("message", .string(message)), ("type", .string(type)),
                                    ("param", .nullable(param)), ("code", .nullable(code))]))])
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        response()
    }

    public func response() -> Response {
        var fields = HTTPFields()
        fields[.contentType] = "application/json"
        for (name, value) in headers { fields[name] = value }
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(string: body.serialized())))
    }
}

extension OpenAIError {
    /// 400: a request the server understood and will not run (wrong type, out of range, unsupported feature).
    public static func invalid(_ message: String, param: String? = nil, code: String? = nil) -> OpenAIError {
        OpenAIError(status: .badRequest, message: message, type: "invalid_request_error", param: param, code: code)
    }

    /// 400 for a field the server knows but does not implement (tools, n > 1, penalties, ...): said, never ignored.
    public static func unsupported(_ param: String, _ why: String) -> OpenAIError {
        invalid("'\(param)' is not supported by npu-llama serve: \(why)", param: param, code: "unsupported_parameter")
    }

    public static func modelNotFound(_ model: String, served: String) -> OpenAIError {
        OpenAIError(status: .notFound, message: "The model '\(model)' does not exist; this server serves '\(served)' (GET /v1/models)",
                    type: "invalid_request_error", param: "model", code: "model_not_found")
    }

    public static func contextLengthExceeded(promptTokens: Int, contextLength: Int, param: String) -> OpenAIError {
        invalid("This model's context is \(contextLength) tokens (the server's --context); the prompt is \(promptTokens) tokens, and at least one must remain for the answer",
                param: param, code: "context_length_exceeded")
    }

    public static func notFound(_ method: String, _ path: String) -> OpenAIError {
        OpenAIError(status: .notFound, message: "Unknown endpoint: \(method) \(path) (GET /openapi.json lists the endpoints)",
                    type: "invalid_request_error", code: "unknown_url")
    }

    public static func methodNotAllowed(_ method: String, _ path: String, allowed: [String]) -> OpenAIError {
        OpenAIError(status: .methodNotAllowed, message: "\(method) is not allowed on \(path); use \(allowed.joined(separator: ", "))",
                    type: "invalid_request_error", code: "method_not_allowed", headers: [(.allow, allowed.joined(separator: ", "))])
    }

    public static func bodyTooLarge(limit: Int) -> OpenAIError {
        OpenAIError(status: .contentTooLarge, message: "The request body is larger than the server's limit of \(limit) bytes (--max-body)",
                    type: "invalid_request_error", code: "request_too_large")
    }

    public static let unauthorized = OpenAIError(
        status: .unauthorized, message: "Incorrect or missing API key: send the server's --api-key as 'Authorization: Bearer KEY'",
        type: "invalid_request_error", code: "invalid_api_key", headers: [(.wwwAuthenticate, "Bearer")])

    /// 429: the queue in front of the device is full; retry after `seconds`.
    public static func queueFull(capacity: Int, retryAfter seconds: Int) -> OpenAIError {
        OpenAIError(status: .tooManyRequests,
                    message: "The server is busy: one request runs on the device and \(capacity) wait (--queue \(capacity)); retry after \(seconds) s",
                    type: "rate_limit_error", code: "queue_full", headers: [(.retryAfter, String(seconds))])
    }

    /// 503: the request's deadline passed while it waited for the device.
    public static func deadlineExceeded(seconds: Double) -> OpenAIError {
        OpenAIError(status: .serviceUnavailable,
                    message: "The request waited for the device past its deadline of \(formatSeconds(seconds)) s (--timeout) and was not run",
                    type: "server_error", code: "deadline_exceeded", headers: [(.retryAfter, "1")])
    }

    public static let shuttingDown = OpenAIError(status: .serviceUnavailable, message: "The server is shutting down",
                                                 type: "server_error", code: "shutting_down")

    /// 500: the device failed while running the request (the message names what failed).
    public static func deviceFailed(_ what: String) -> OpenAIError {
        OpenAIError(status: .internalServerError, message: "The device failed while running the request: \(what)",
                    type: "server_error", code: "device_error")
    }

    public static func internalError(_ what: String) -> OpenAIError {
        OpenAIError(status: .internalServerError, message: "Internal error: \(what)", type: "server_error", code: "internal_error")
    }
}

func formatSeconds(_ s: Double) -> String {
    s == s.rounded() ? String(Int(s)) : String(format: "%.3g", s)
}
