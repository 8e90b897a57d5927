// A handler's side of one generation: submit, wait for the device (cancelled if the client leaves), then collect the
// answer or stream it token by token.
import Hummingbird

/// A job that has the device. Created only once the device started it, so every failure before that (queue full,
/// deadline, shutdown) is still answered with its own HTTP status.
struct GenerationCall: Sendable {
    let job: GenerationJob
    let scheduler: DeviceScheduler
    let cachedTokens: Int
    let watcher: ClientDisconnectWatcher?
    let watch: Int

    /// Queues `request`, cancels the job when the client leaves, and waits until the device starts it.
    static func start(_ request: GenerationRequest, scheduler: DeviceScheduler, context: ServerContext) async throws -> GenerationCall {
        let watcher = await context.disconnectWatcher()
        let job = try scheduler.submit(request)
        let watch = watcher?.whenClientLeaves { scheduler.cancel(job) } ?? -1
        let first = await withTaskCancellationHandler {
            await job.next()
        } onCancel: {
            scheduler.cancel(job)
        }
        switch first {
        case .started(let cached)?:
            return GenerationCall(job: job, scheduler: scheduler, cachedTokens: cached, watcher: watcher, watch: watch)
        case .failed(let error)?:
            watcher?.forget(watch)
            throw error
        case .token?, .finished?, nil:
            watcher?.forget(watch)
            throw OpenAIError.internalError("the request was dropped before it started")
        }
    }

    /// The request is answered: stop watching its connection for it.
    func done() { watcher?.forget(watch) }

    /// The next token or the end. Throws the device's error; `nil` only if the job was cancelled.
    func next() async throws -> GenerationEvent? {
        let event = await withTaskCancellationHandler {
            await job.next()
        } onCancel: { [scheduler, job] in
            scheduler.cancel(job)
        }
        if case .failed(let error)? = event { throw error }
        return event
    }

    /// Runs to the end: every token, then the summary.
    func collect() async throws -> (tokens: [TokenOutput], summary: GenerationSummary) {
        defer { done() }
        var tokens: [TokenOutput] = []
        while let event = try await next() {
            switch event {
            case .token(let t): tokens.append(t)
            case .finished(let summary): return (tokens, summary)
            case .started, .failed: continue
            }
        }
        throw OpenAIError.internalError("the request was cancelled before it finished")
    }

    /// A 200 text/event-stream response whose body writes `render`'s events as the device produces them, then
    /// `data: [DONE]`. A failed write (the client left) cancels the job, freeing the device at its next token.
    func streamResponse(render: @escaping @Sendable (StreamItem) -> [JSONValue]) -> Response {
        let call = self
        return Response(status: .ok, headers: ServerSentEvents.headers, body: ResponseBody { writer in
            defer { call.done() }
            do {
                for json in render(.begin) { try await writer.write(ServerSentEvents.event(json)) }
                loop: while true {
                    let event: GenerationEvent?
                    do {
                        event = try await call.next()
                    } catch let error as OpenAIError {
                        // Headers are sent: the failure goes in the stream, as OpenAI does.
                        try await writer.write(ServerSentEvents.event(error.body))
                        break loop
                    }
                    switch event {
                    case .token(let t)?:
                        for json in render(.token(t)) { try await writer.write(ServerSentEvents.event(json)) }
                    case .finished(let summary)?:
                        for json in render(.end(summary)) { try await writer.write(ServerSentEvents.event(json)) }
                        break loop
                    case .started?, .failed?: continue
                    case nil: return   // cancelled: nobody reads
                    }
                }
                try await writer.write(ServerSentEvents.done)
                try await writer.finish(nil)
            } catch {
                call.scheduler.cancel(call.job)
                throw error
            }
        })
    }
}

/// What a stream renderer is asked to write.
enum StreamItem: Sendable {
    case begin
    case token(TokenOutput)
    case end(GenerationSummary)
}
