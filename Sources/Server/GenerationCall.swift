// A handler's side of one generation: submit, wait for the device (cancelled if the client leaves), then collect the
// answer or stream it token by token.
import Hummingbird

/// A job that has the device. Created only once the device started it, so every failure before that (queue full,
/// deadline, shutdown) is still answered with its own HTTP status.
struct GenerationCall: Sendable {
    let job: GenerationJob
    let scheduler: DeviceScheduler
    let cachedTokens: Int

    /// Queues `request`, cancels the job when the client's connection closes, and waits until the device starts it.
    static func start(_ request: GenerationRequest, scheduler: DeviceScheduler, context: ServerContext) async throws -> GenerationCall {
        let job = try scheduler.submit(request)
        context.onClose { [weak scheduler, weak job] in
            if let scheduler, let job { scheduler.cancel(job) }
        }
        let first = await withTaskCancellationHandler {
            await job.next()
        } onCancel: {
            scheduler.cancel(job)
        }
        switch first {
        case .started(let cached)?: return GenerationCall(job: job, scheduler: scheduler, cachedTokens: cached)
        case .failed(let error)?: throw error
        case .token?, .finished?: throw OpenAIError.internalError("the device sent an event before starting the request")
        case nil: throw OpenAIError.internalError("the request was dropped before it started")
        }
    }

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
