// Request bodies to GenerationRequests or to OpenAI errors with the right status, type, param and code.
import Hummingbird
import LlamaCore
@testable import Server
import Tokenizers
import XCTest

final class RequestValidationTests: XCTestCase {
    let served = TestModels.byteServed(context: 64)

    func chat(_ json: String) throws -> GenerationRequest {
        try RequestDecoding.decode(ChatCompletionRequest.self, from: ByteBuffer(string: json)).validated(for: served)
    }

    func completion(_ json: String) throws -> GenerationRequest {
        try RequestDecoding.decode(CompletionRequest.self, from: ByteBuffer(string: json)).validated(for: served)
    }

    func assertError(_ body: @autoclosure () throws -> Any, status: Int, param: String?, code: String? = nil,
                     file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            guard let e = error as? OpenAIError else { return XCTFail("not an OpenAIError: \(error)", file: file, line: line) }
            XCTAssertEqual(e.status.code, status, e.message, file: file, line: line)
            XCTAssertEqual(e.param, param, e.message, file: file, line: line)
            if let code { XCTAssertEqual(e.code, code, e.message, file: file, line: line) }
            XCTAssertEqual(e.type, status >= 500 ? "server_error" : "invalid_request_error", file: file, line: line)
        }
    }

    func testAValidChatRequest() throws {
        let r = try chat(#"{"model":"random","messages":[{"role":"system","content":"S"},{"role":"user","content":[{"type":"text","text":"h"},{"type":"text","text":"i"}]}],"temperature":0,"max_tokens":5,"stop":"x","seed":-1,"logprobs":true,"top_logprobs":2}"#)
        XCTAssertEqual(r.promptIDs, try ChatFormat.chatml(defaultSystemPrompt: nil).encode(
            messages: [ChatMessage(role: "system", content: "S"), ChatMessage(role: "user", content: "hi")],
            addGenerationPrompt: true, tokenizer: ByteTokenizer()))
        XCTAssertEqual(r.maxTokens, 5)
        XCTAssertTrue(r.sampling.isGreedy)
        XCTAssertEqual(r.sampling.seed, UInt64.max)
        XCTAssertEqual(r.stopSequences, ["x"])
        XCTAssertEqual(r.topLogprobs, 2)
        XCTAssertEqual(r.stopTokenIDs, [256, 258])
        // max_completion_tokens wins over max_tokens; without either, the rest of the context.
        XCTAssertEqual(try chat(#"{"model":"random","messages":[{"role":"user","content":"hi"}],"max_tokens":9,"max_completion_tokens":3}"#).maxTokens, 3)
        let open = try chat(#"{"model":"random","messages":[{"role":"developer","content":"d"},{"role":"user","content":"hi"}]}"#)
        XCTAssertEqual(open.maxTokens, 64 - open.promptIDs.count)
        XCTAssertEqual(open.sampling.temperature, 1, "OpenAI's default temperature")
    }

    /// presence_penalty and frequency_penalty (OpenAI's −2…2) reach the sampler as llama.cpp's server passes them: its
    /// penalties over the last 64 tokens. Their effect on the distribution is tested in LlamaCoreTests.SamplerTests.
    func testPenaltiesReachTheSampler() throws {
        let chatRequest = try chat(#"{"model":"random","messages":[{"role":"user","content":"a"}],"presence_penalty":0.5,"frequency_penalty":-1.25}"#)
        XCTAssertEqual(chatRequest.sampling.presencePenalty, 0.5)
        XCTAssertEqual(chatRequest.sampling.frequencyPenalty, -1.25)
        XCTAssertEqual(chatRequest.sampling.repeatLastN, 64)
        XCTAssertEqual(chatRequest.sampling.repeatPenalty, 1)
        XCTAssertTrue(chatRequest.sampling.penalizes)
        let plain = try completion(#"{"model":"random","prompt":"ab","presence_penalty":0,"frequency_penalty":0}"#)
        XCTAssertFalse(plain.sampling.penalizes)
        let completionRequest = try completion(#"{"model":"random","prompt":"ab","frequency_penalty":2}"#)
        XCTAssertEqual(completionRequest.sampling.frequencyPenalty, 2)
        assertError(try completion(#"{"model":"random","prompt":"ab","presence_penalty":-3}"#), status: 400, param: "presence_penalty")
    }

    func testBadChatRequests() {
        assertError(try chat("{not json"), status: 400, param: nil, code: "invalid_json")
        assertError(try chat("[1,2]"), status: 400, param: nil, code: "invalid_json")
        assertError(try chat(""), status: 400, param: nil)
        assertError(try chat(#"{"messages":[{"role":"user","content":"hi"}]}"#), status: 400, param: "model", code: "missing_required_parameter")
        assertError(try chat(#"{"model":5,"messages":[]}"#), status: 400, param: "model", code: "invalid_type")
        assertError(try chat(#"{"model":"random","messages":[{"role":"user","content":7}]}"#), status: 400, param: "messages.0.content")
        assertError(try chat(#"{"model":"random","messages":[{"role":"user","content":"a"}],"stream":"yes"}"#), status: 400, param: "stream", code: "invalid_type")
        assertError(try chat(#"{"model":"random","messages":[{"role":"user","content":"a"}],"max_tokens":1.5}"#), status: 400, param: "max_tokens")
        assertError(try chat(#"{"model":"gpt-4o","messages":[{"role":"user","content":"a"}]}"#), status: 404, param: "model", code: "model_not_found")
        assertError(try chat(#"{"model":"random","messages":[]}"#), status: 400, param: "messages")
        assertError(try chat(#"{"model":"random","messages":[{"role":"robot","content":"a"}]}"#), status: 400, param: "messages.0.role", code: "invalid_value")
        assertError(try chat(#"{"model":"random","messages":[{"role":"tool","content":"a"}]}"#), status: 400, param: "messages.0.role", code: "unsupported_parameter")
        assertError(try chat(#"{"model":"random","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}"#),
                    status: 400, param: "messages.0.content.0", code: "unsupported_parameter")
        assertError(try chat(#"{"model":"random","messages":[{"role":"user","content":"a"}],"n":2}"#), status: 400, param: "n", code: "unsupported_parameter")
        assertError(try chat(#"{"model":"random","messages":[{"role":"user","content":"a"}],"temperature":2.5}"#), status: 400, param: "temperature")
        assertError(try chat(#"{"model":"random","messages":[{"role":"user","content":"a"}],"top_p":-0.1}"#), status: 400, param: "top_p")
        assertError(try chat(#"{"model":"random","messages":[{"role":"user","content":"a"}],"max_tokens":0}"#), status: 400, param: "max_tokens")
        assertError(try chat(#"{"model":"random","messages":[{"role":"user","content":"a"}],"stop":["a","b","c","d","e"]}"#), status: 400, param: "stop")
        assertError(try chat(#"{"model":"random","messages":[{"role":"user","content":"a"}],"stop":3}"#), status: 400, param: "stop", code: "invalid_value")
        assertError(try chat(#"{"model":"random","messages":[{"role":"user","content":"a"}],"top_logprobs":2}"#), status: 400, param: "top_logprobs")
        assertError(try chat(#"{"model":"random","messages":[{"role":"user","content":"a"}],"logprobs":true,"top_logprobs":21}"#), status: 400, param: "top_logprobs")
        assertError(try chat(#"{"model":"random","messages":[{"role":"user","content":"a"}],"stream_options":{"include_usage":true}}"#), status: 400, param: "stream_options")
        assertError(try chat(#"{"model":"random","messages":[{"role":"user","content":"a"}],"presence_penalty":2.5}"#), status: 400, param: "presence_penalty")
        assertError(try chat(#"{"model":"random","messages":[{"role":"user","content":"a"}],"frequency_penalty":-2.01}"#), status: 400, param: "frequency_penalty")
        assertError(try chat(#"{"model":"random","messages":[{"role":"user","content":"a"}],"logit_bias":{"5":1}}"#), status: 400, param: "logit_bias")
        assertError(try chat(#"{"model":"random","messages":[{"role":"user","content":"a"}],"tools":[{"type":"function"}]}"#), status: 400, param: "tools.0.function")
        assertError(try chat(#"{"model":"random","messages":[{"role":"user","content":"a"}],"tools":[{"type":"function","function":{"name":"f"}}]}"#),
                    status: 400, param: "tools", code: "unsupported_parameter")   // the built-in format has no tools
        assertError(try chat(#"{"model":"random","messages":[{"role":"user","content":"a"}],"response_format":{"type":"json_object"}}"#), status: 400, param: "response_format")
        assertError(try chat(#"{"model":"random","messages":[{"role":"user","content":"a"}],"seed":99999999999999999999}"#), status: 400, param: "seed")
        let long = String(repeating: "x", count: 60)
        assertError(try chat(#"{"model":"random","messages":[{"role":"user","content":"\#(long)"}]}"#), status: 400, param: "messages", code: "context_length_exceeded")
    }

    func testCompletionPrompts() throws {
        XCTAssertEqual(try completion(#"{"model":"random","prompt":"ab"}"#).promptIDs, [97, 98])
        XCTAssertEqual(try completion(#"{"model":"random","prompt":["ab"]}"#).promptIDs, [97, 98])
        XCTAssertEqual(try completion(#"{"model":"random","prompt":[1,2,258]}"#).promptIDs, [1, 2, 258])
        XCTAssertEqual(try completion(#"{"model":"random","prompt":[[5]]}"#).promptIDs, [5])
        XCTAssertEqual(try completion(#"{"model":"random","prompt":"ab"}"#).maxTokens, 16, "OpenAI's completions default")
        XCTAssertEqual(try completion(#"{"model":"random","prompt":"ab","max_tokens":1000}"#).maxTokens, 62, "clamped to the context")
        XCTAssertEqual(try completion(#"{"model":"random","prompt":"ab","logprobs":0}"#).topLogprobs, 0)
        assertError(try completion(#"{"model":"random","prompt":[1,259]}"#), status: 400, param: "prompt")
        assertError(try completion(#"{"model":"random","prompt":[-1]}"#), status: 400, param: "prompt")
        assertError(try completion(#"{"model":"random","prompt":["a","b"]}"#), status: 400, param: "prompt", code: "unsupported_parameter")
        assertError(try completion(#"{"model":"random","prompt":[]}"#), status: 400, param: "prompt")
        assertError(try completion(#"{"model":"random","prompt":""}"#), status: 400, param: "prompt")
        assertError(try completion(#"{"model":"random","prompt":{"a":1}}"#), status: 400, param: "prompt", code: "invalid_value")
        assertError(try completion(#"{"model":"random","prompt":"a","echo":true}"#), status: 400, param: "echo")
        assertError(try completion(#"{"model":"random","prompt":"a","best_of":3}"#), status: 400, param: "best_of")
        assertError(try completion(#"{"model":"random","prompt":"a","logprobs":6}"#), status: 400, param: "logprobs")
        assertError(try completion(#"{"model":"random","prompt":"a","suffix":"z"}"#), status: 400, param: "suffix")
    }

    func testErrorBodyIsOpenAIs() throws {
        let e = OpenAIError.invalid("bad \"x\"", param: "messages.0")
        let json = try JSONSerialization.jsonObject(with: Data(e.body.serialized().utf8)) as? [String: Any]
        let inner = json?["error"] as? [String: Any]
        XCTAssertEqual(inner?["message"] as? String, "bad \"x\"")
        XCTAssertEqual(inner?["type"] as? String, "invalid_request_error")
        XCTAssertEqual(inner?["param"] as? String, "messages.0")
        XCTAssertTrue(inner?["code"] is NSNull)
        XCTAssertEqual(Set(inner?.keys.map { $0 } ?? []), ["message", "type", "param", "code"])
    }

    func testAPIKeyComparison() {
        XCTAssertTrue(APIKeyMiddleware<ServerContext>.constantTimeEqual(Array("k1".utf8), Array("k1".utf8)))
        XCTAssertFalse(APIKeyMiddleware<ServerContext>.constantTimeEqual(Array("k1".utf8), Array("k2".utf8)))
        XCTAssertFalse(APIKeyMiddleware<ServerContext>.constantTimeEqual(Array("k1".utf8), Array("k1x".utf8)))
        XCTAssertFalse(APIKeyMiddleware<ServerContext>.constantTimeEqual([], Array("k".utf8)))
    }
}
