// Fields both generation endpoints answer with: response ids, `created`, `usage`, one token's logprobs.
import Foundation

enum ResponseFields {
    /// `chatcmpl-…` / `cmpl-…`: a prefix and 24 random alphanumerics, unique per response.
    static func id(prefix: String) -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        return prefix + String((0..<24).map { _ in alphabet.randomElement()! })
    }

    static func now() -> Int { Int(Date().timeIntervalSince1970) }

    /// OpenAI's `usage`, with the prompt tokens reused from the KV cache as `prompt_tokens_details.cached_tokens`.
    static func usage(_ s: GenerationSummary) -> JSONValue {
        .object([("prompt_tokens", .int(s.promptTokens)), ("completion_tokens", .int(s.completionTokens)),
                 ("total_tokens", .int(s.promptTokens + s.completionTokens)),
                 ("prompt_tokens_details", .object([("cached_tokens", .int(s.cachedTokens))]))])
    }

    /// A chat logprobs entry: `{"token", "logprob", "bytes", "top_logprobs": [{"token", "logprob", "bytes"}]}`.
    static func chatLogprob(_ l: TokenLogprob) -> JSONValue {
        func entry(_ e: TokenLogprob.Entry) -> [(String, JSONValue)] {
            [("token", .string(e.token)), ("logprob", .double(e.logprob)), ("bytes", .bytes(e.bytes))]
        }
        return .object(entry(l.chosen) + [("top_logprobs", .array(l.top.map { .object(entry($0)) }))])
    }
}
