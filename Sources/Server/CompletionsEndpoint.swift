// POST /v1/completions: a plain continuation as one `text_completion` object, or streamed as `text_completion` events.
import Hummingbird

struct CompletionsEndpoint: Sendable {
    let scheduler: DeviceScheduler
    let maxBodyBytes: Int

    func handle(_ request: Request, context: ServerContext) async throws -> Response {
        var request = request
        let body = try await RequestDecoding.body(of: &request, limit: maxBodyBytes)
        let completion = try RequestDecoding.decode(CompletionRequest.self, from: body)
        let generation = try completion.validated(for: scheduler.served)
        let call = try await GenerationCall.start(generation, scheduler: scheduler, context: context)
        let (id, created, model, fingerprint) = (ResponseFields.id(prefix: "cmpl-"), ResponseFields.now(),
                                                 scheduler.served.id, scheduler.served.fingerprint)
        let wantsLogprobs = generation.topLogprobs != nil
        @Sendable func object(_ choices: [JSONValue], usage: JSONValue?) -> JSONValue {
            var fields: [(String, JSONValue)] = [("id", .string(id)), ("object", .string("text_completion")), ("created", .int(created)),
                                                 ("model", .string(model)), ("system_fingerprint", .string(fingerprint)),
                                                 ("choices", .array(choices))]
            if let usage { fields.append(("usage", usage)) }
            return .object(fields)
        }
        @Sendable func choice(_ text: String, logprobs: JSONValue, finish: FinishReason?) -> JSONValue {
            .object([("text", .string(text)), ("index", .int(0)), ("logprobs", logprobs), ("finish_reason", .nullable(finish?.rawValue))])
        }
        if completion.isStreamed {
            let includeUsage = completion.includeUsage
            let offset = OffsetCounter()
            return call.streamResponse { item in
                switch item {
                case .begin:
                    return []
                case .token(let t):
                    let logprobs: JSONValue = wantsLogprobs ? Self.logprobs([t], startOffset: offset.advance(by: t.text)) : .null
                    return [object([choice(t.text, logprobs: logprobs, finish: nil)], usage: includeUsage ? .null : nil)]
                case .end(let summary):
                    var out = [object([choice(summary.tailText, logprobs: .null, finish: summary.finishReason)],
                                      usage: includeUsage ? .null : nil)]
                    if includeUsage { out.append(object([], usage: ResponseFields.usage(summary))) }
                    return out
                }
            }
        }
        let (tokens, summary) = try await call.collect()
        let text = tokens.map(\.text).joined() + summary.tailText
        let json = object([choice(text, logprobs: wantsLogprobs ? Self.logprobs(tokens, startOffset: 0) : .null,
                                  finish: summary.finishReason)],
                          usage: ResponseFields.usage(summary))
        return JSONResponse.ok(json)
    }

    /// The completions logprobs shape: parallel lists `tokens`, `token_logprobs`, `top_logprobs` (token → logprob, the
    /// most likely first; a token text that repeats keeps its likelier entry) and `text_offset` (characters into the text).
    static func logprobs(_ tokens: [TokenOutput], startOffset: Int) -> JSONValue {
        var offsets: [JSONValue] = []
        var offset = startOffset
        for t in tokens {
            offsets.append(.int(offset))
            offset += t.text.count
        }
        let entries = tokens.compactMap(\.logprob)
        return .object([
            ("tokens", .array(entries.map { .string($0.chosen.token) })),
            ("token_logprobs", .array(entries.map { .double($0.chosen.logprob) })),
            ("top_logprobs", .array(entries.map { entry in
                var seen = Set<String>()
                return .object(entry.top.compactMap { seen.insert($0.token).inserted ? ($0.token, .double($0.logprob)) : nil })
            })),
            ("text_offset", .array(offsets)),
        ])
    }
}

/// Characters of a streamed completion sent so far (for `text_offset`).
final class OffsetCounter: @unchecked Sendable {
    private var count = 0
    /// The offset at which `text` starts; then counts it.
    func advance(by text: String) -> Int {
        defer { count += text.count }
        return count
    }
}
