// Counts every response by endpoint and status for /metrics (outermost, so errors and 404s are counted too).
import Hummingbird

struct RequestMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            let response = try await next(request, context)
            metrics.recordRequest(path: request.uri.path, status: response.status.code)
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            metrics.recordRequest(path: request.uri.path, status: status)
            throw error
        }
    }
}
