// Turns every error a route throws (and the router's own 404) into OpenAI's error object with its status.
import Hummingbird

struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            return Self.openAIError(error, request: request).response()
        }
    }

    static func openAIError(_ error: any Error, request: Request) -> OpenAIError {
        switch error {
        case let e as OpenAIError:
            return e
        case let e as HTTPError where e.status == .notFound:
            return .notFound(request.method.rawValue, request.uri.path)
        case let e as any HTTPResponseError:
            let type: String
            switch e.status.code {
            case 401: type = "authentication_error"
            case 429: type = "rate_limit_error"
            case 500...: type = "server_error"
            default: type = "invalid_request_error"
            }
            let message = (e as? HTTPError)?.body ?? e.status.reasonPhrase
            return OpenAIError(status: e.status, message: message, type: type)
        default:
            return .internalError("\(error)")
        }
    }
}
