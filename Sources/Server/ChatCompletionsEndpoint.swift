// POST /v1/chat/completions: the chat answer as one `chat.completion` object, or streamed as `chat.completion.chunk` events.
import Hummingbird

struct ChatCompletionsEndpoint: Sendable {
    let scheduler: DeviceScheduler
    let maxBodyBytes: Int

    func handle(_ request: Request, context: ServerContext) async throws -> Response {
        var request = request
        let body = try await RequestDecoding.body(of: &request, limit: maxBodyBytes)
        let chat = try RequestDecoding.decode(ChatCompletionRequest.self, from: body)
        let generation = try chat.validated(for: scheduler.served, body: String(decoding: body.readableBytesView, as: UTF8.self))
        let toolSyntax = chat.toolCallSyntax(for: scheduler.served)
        let call = try await GenerationCall.start(generation, scheduler: scheduler, context: context)
        let (id, created, model, fingerprint) = (ResponseFields.id(prefix: "chatcmpl-"), ResponseFields.now(),
                                                 scheduler.served.id, scheduler.served.fingerprint)
        let wantsLogprobs = generation.topLogprobs != nil
        if chat.isStreamed {
            let includeUsage = chat.includeUsage
            @Sendable func chunk(_ choices: [JSONValue], usage: JSONValue? = nil) -> JSONValue {
                var fields: [(String, JSONValue)] = [("id", .string(id)), ("object", .string("chat.completion.chunk")),
                                                     ("created", .int(created)), ("model", .string(model)),
                                                     ("system_fingerprint", .string(fingerprint)), ("choices", .array(choices))]
                if includeUsage { fields.append(("usage", usage ?? .null)) }
                return .object(fields)
            }
            @Sendable func choice(_ delta: [(String, JSONValue)], logprobs: JSONValue = .null, finish: FinishReason? = nil) -> JSONValue {
                .object([("index", .int(0)), ("delta", .object(delta)), ("logprobs", logprobs),
                         ("finish_reason", .nullable(finish?.rawValue))])
            }
            let tools = toolSyntax.map(ToolCallStream.init)
            return call.streamResponse { item in
                switch item {
                case .begin:
                    return [chunk([choice([("role", .string("assistant")), ("content", .string(""))])])]
                case .token(let t) where tools != nil:
                    let content = tools!.feed(t.text)
                    return content.isEmpty ? [] : [chunk([choice([("content", .string(content))])])]
                case .token(let t):
                    let logprobs: JSONValue = t.logprob.map {
                        .object([("content", .array([ResponseFields.chatLogprob($0)])), ("refusal", .null)])
                    } ?? .null
                    return [chunk([choice([("content", .string(t.text))], logprobs: logprobs)])]
                case .end(let summary) where tools != nil:
                    let (content, calls, finish) = tools!.finish(tail: summary.tailText, reason: summary.finishReason)
                    var out: [JSONValue] = []
                    if !content.isEmpty { out.append(chunk([choice([("content", .string(content))])])) }
                    for (i, c) in calls.enumerated() {
                        let delta: JSONValue = .object([
                            ("index", .int(i)), ("id", .string(c.id ?? ToolCallSyntax.newCallID())), ("type", .string("function")),
                            ("function", .object([("name", .string(c.name)), ("arguments", .string(c.arguments))]))])
                        out.append(chunk([choice([("tool_calls", .array([delta]))])]))
                    }
                    out.append(chunk([.object([("index", .int(0)), ("delta", .object([])), ("logprobs", .null),
                                               ("finish_reason", .string(finish))])]))
                    if includeUsage { out.append(chunk([], usage: ResponseFields.usage(summary))) }
                    return out
                case .end(let summary):
                    var out: [JSONValue] = []
                    if !summary.tailText.isEmpty { out.append(chunk([choice([("content", .string(summary.tailText))])])) }
                    out.append(chunk([choice([], finish: summary.finishReason)]))
                    if includeUsage { out.append(chunk([], usage: ResponseFields.usage(summary))) }
                    return out
                }
            }
        }
        let (tokens, summary) = try await call.collect()
        let (message, finish) = ToolCallSyntax.answer(tokens.map(\.text).joined() + summary.tailText,
                                                      finish: summary.finishReason, syntax: toolSyntax)
        let logprobs: JSONValue = wantsLogprobs
            ? .object([("content", .array(tokens.compactMap { $0.logprob.map(ResponseFields.chatLogprob) })), ("refusal", .null)])
            : .null
        let json: JSONValue = .object([
            ("id", .string(id)), ("object", .string("chat.completion")), ("created", .int(created)), ("model", .string(model)),
            ("system_fingerprint", .string(fingerprint)),
            ("choices", .array([.object([
                ("index", .int(0)),
                ("message", message),
                ("logprobs", logprobs), ("finish_reason", .string(finish)),
            ])])),
            ("usage", ResponseFields.usage(summary)),
        ])
        return JSONResponse.ok(json)
    }
}
