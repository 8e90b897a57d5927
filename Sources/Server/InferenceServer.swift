// `npu-llama serve`'s HTTP server: the routes, the middleware stack, and the Hummingbird application that runs them.
import Foundation
import Hummingbird
import LlamaCore
import Logging
import NIOCore

public final class InferenceServer: Sendable {
    public let configuration: ServerConfiguration
    public let scheduler: DeviceScheduler
    public let metrics: ServerMetrics

    /// Takes the backend: from here on only the scheduler's device thread runs it.
    public init(backend: Backend, served: ServedModel, configuration: ServerConfiguration) {
        self.configuration = configuration
        metrics = ServerMetrics()
        scheduler = DeviceScheduler(backend: backend, served: served, capacity: configuration.queueCapacity,
                                    requestTimeout: configuration.requestTimeout, metrics: metrics)
    }

    /// The endpoints and which methods each takes (others: 405 with Allow; HEAD wherever GET is).
    static let routes: [(path: String, methods: [HTTPRequest.Method])] = [
        ("/health", [.get]), ("/metrics", [.get]), ("/openapi.json", [.get]), ("/v1/models", [.get]),
        ("/v1/models/{model}", [.get]), ("/v1/chat/completions", [.post]), ("/v1/completions", [.post]),
    ]

    public func makeRouter() -> Router<ServerContext> {
        let router = Router(context: ServerContext.self, options: .autoGenerateHeadEndpoints)
        router.add(middleware: RequestMetricsMiddleware(metrics: metrics))
        if configuration.cors {
            router.add(middleware: CORSMiddleware(allowOrigin: .all, allowHeaders: [.authorization, .contentType, .accept],
                                                  allowMethods: [.get, .post, .options]))
        }
        router.add(middleware: ErrorMiddleware())
        if let key = configuration.apiKey { router.add(middleware: APIKeyMiddleware(key: key)) }

        let service = ServiceEndpoints(scheduler: scheduler, metrics: metrics)
        let chat = ChatCompletionsEndpoint(scheduler: scheduler, maxBodyBytes: configuration.maxBodyBytes)
        let completions = CompletionsEndpoint(scheduler: scheduler, maxBodyBytes: configuration.maxBodyBytes)
        router.get("/health") { _, _ in service.health() }
        router.get("/metrics") { _, _ in service.prometheus() }
        router.get("/openapi.json") { _, _ in try service.openAPI() }
        router.get("/v1/models") { _, _ in service.models() }
        router.get("/v1/models/{model}") { _, context in try service.model(context.parameters.get("model") ?? "") }
        router.post("/v1/chat/completions") { request, context in try await chat.handle(request, context: context) }
        router.post("/v1/completions") { request, context in try await completions.handle(request, context: context) }
        for route in Self.routes {
            let allowed = route.methods.map(\.rawValue)
            let others: [HTTPRequest.Method] = [.get, .post, .put, .delete, .patch, .options] + (route.methods.contains(.get) ? [] : [.head])
            for method in others where !route.methods.contains(method) {
                router.on(RouterPath(stringLiteral: route.path), method: method) { request, _ -> Response in
                    throw OpenAIError.methodNotAllowed(request.method.rawValue, request.uri.path, allowed: allowed)
                }
            }
        }
        return router
    }

    /// Serves until SIGINT or SIGTERM; then stops taking connections, lets running requests finish, answers the
    /// waiting ones 503. `onRunning` gets the bound port (the configured one, or the one picked for port 0).
    public func run(onRunning: @escaping @Sendable (Int) -> Void) async throws {
        var logger = Logger(label: "npu-llama.serve")
        logger.logLevel = .warning
        let app = Application(
            router: makeRouter(),
            server: .http1(configuration: .init(additionalChannelHandlers: [ClientDisconnectWatcher()],
                                                idleTimeout: .milliseconds(Int64(configuration.idleTimeout * 1000)))),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "npu-llama"),
            onServerRunning: { channel in onRunning(channel.localAddress?.port ?? -1) },
            logger: logger)
        try await app.runService()
        scheduler.shutdown()
    }
}
