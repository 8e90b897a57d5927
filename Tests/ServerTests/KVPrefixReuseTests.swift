// KV prefix reuse through the Backend protocol: a request that shares its first tokens with the previous one runs with
// step(start: common prefix) and must give the tokens a fresh prefill of its whole prompt gives.
import LlamaCore
import Scheduler
@testable import Server
import Tokenizers
import XCTest

final class KVPrefixReuseTests: XCTestCase {
    func chat(_ messages: [ChatMessage], _ served: ServedModel, maxTokens: Int, sampling: SamplingParameters = .greedy,
              logprobs: Int? = nil) throws -> GenerationRequest {
        GenerationRequest(promptIDs: try served.chat!.encode(messages, addGenerationPrompt: true, tokenizer: served.tokenizer),
                          maxTokens: maxTokens, sampling: sampling, stopTokenIDs: served.chatStopTokenIDs, topLogprobs: logprobs)
    }

    /// SmolLM2 on the CPU reference: a conversation's second turn (its prompt holds the first turn's prompt and answer)
    /// reuses the cached K/V — including that of the answer's tokens, computed one by one in decode — and gives the
    /// same tokens as a fresh server prefilling the whole prompt; each token's logprob agrees within 1e-3.
    func testConversationTurnReusesTheCacheAndMatchesAFreshPrefill() async throws {
        let (backend, served) = try TestModels.smolLM2()
        let scheduler = DeviceScheduler(backend: backend, served: served, capacity: 4, requestTimeout: 600, metrics: ServerMetrics())
        let turn1 = [ChatMessage(role: "user", content: "What is the capital of France?")]
        let first = await drain(try scheduler.submit(try chat(turn1, served, maxTokens: 24)))
        XCTAssertEqual(first.cached, 0)
        let answer = first.tokens.map(\.text).joined() + (first.summary?.tailText ?? "")
        XCTAssertTrue(answer.contains("Paris"), answer)

        let turn2 = turn1 + [ChatMessage(role: "assistant", content: answer), ChatMessage(role: "user", content: "And of Germany? Answer in one word.")]
        let second = try chat(turn2, served, maxTokens: 12, logprobs: 3)
        let reused = await drain(try scheduler.submit(second))

        let (freshBackend, _) = try TestModels.smolLM2()
        let fresh = DeviceScheduler(backend: freshBackend, served: served, capacity: 4, requestTimeout: 600, metrics: ServerMetrics())
        let baseline = await drain(try fresh.submit(second))

        let firstPromptCount = try chat(turn1, served, maxTokens: 1).promptIDs.count
        XCTAssertGreaterThan(reused.cached ?? 0, firstPromptCount, "the first turn's prompt and answer tokens are reused")
        XCTAssertEqual(reused.summary?.cachedTokens, reused.cached)
        XCTAssertEqual(baseline.cached, 0)
        XCTAssertEqual(reused.tokens.map(\.id), baseline.tokens.map(\.id))
        XCTAssertEqual(reused.summary?.finishReason, baseline.summary?.finishReason)
        XCTAssertFalse(reused.tokens.isEmpty)
        for (a, b) in zip(reused.tokens, baseline.tokens) {
            let (la, lb) = (try XCTUnwrap(a.logprob), try XCTUnwrap(b.logprob))
            XCTAssertEqual(la.chosen.logprob, lb.chosen.logprob, accuracy: 1e-3, "token \(a.id)")
            XCTAssertEqual(la.top.map(\.id), lb.top.map(\.id))
        }
        scheduler.shutdown()
        fresh.shutdown()
    }

    /// A random-weight model: requests whose prompts share 0, some, or all-but-one of the cached ids (including ids that
    /// were generated, and a prompt that diverges inside the cached answer), greedy and seeded sampling, each equal to a
    /// fresh backend's run.
    func testEveryOverlapGivesTheFreshTokens() async throws {
        let served = TestModels.byteServed()
        let scheduler = DeviceScheduler(backend: try TestModels.randomBackend(), served: served, capacity: 4, requestTimeout: 600, metrics: ServerMetrics())
        let base = Array("The quick brown fox jumps".utf8).map(Int.init)
        let first = await drain(try scheduler.submit(GenerationRequest(promptIDs: base, maxTokens: 10)))
        let generated = first.tokens.map(\.id)
        XCTAssertEqual(generated.count, 10)
        let sampled = SamplingParameters(temperature: 0.9, topK: 0, topP: 0.95, seed: 7)
        let cases: [(prompt: [Int], expectCached: Int, sampling: SamplingParameters)] = [
            (base + generated.prefix(9) + [65, 66], base.count + 9, .greedy),          // all fed-back answer tokens reused
            (base + generated.prefix(4) + [67], base.count + 4, sampled),            // diverges inside the cached answer
            (Array(base.prefix(7)) + [90, 91, 92], 7, .greedy),                        // a shorter shared prefix
            (Array(base.prefix(7)) + [90, 91, 92], 9, .greedy),                        // the same prompt again: all but its last token
            ([200, 201, 202], 0, sampled),                                             // nothing shared
        ]
        for (i, c) in cases.enumerated() {
            let request = GenerationRequest(promptIDs: c.prompt, maxTokens: 8, sampling: c.sampling)
            let reused = await drain(try scheduler.submit(request))
            let fresh = DeviceScheduler(backend: try TestModels.randomBackend(), served: served, capacity: 1, requestTimeout: 600, metrics: ServerMetrics())
            let baseline = await drain(try fresh.submit(request))
            fresh.shutdown()
            XCTAssertEqual(reused.cached, c.expectCached, "case \(i)")
            XCTAssertEqual(baseline.cached, 0)
            XCTAssertEqual(reused.tokens.map(\.id), baseline.tokens.map(\.id), "case \(i)")
            XCTAssertEqual(reused.tokens.count, 8)
        }
        scheduler.shutdown()
    }

    func testReusableCountKeepsOnePromptTokenToRun() {
        var cache = PrefixCache()
        XCTAssertEqual(cache.reusableCount(for: [1, 2, 3]), 0)
        cache.record(prompt: [1, 2, 3], generated: [4, 5, 6])
        XCTAssertEqual(cache.ids, [1, 2, 3, 4, 5], "the last generated token was never fed back")
        XCTAssertEqual(cache.reusableCount(for: [1, 2, 3, 4, 5, 6, 7]), 5)
        XCTAssertEqual(cache.reusableCount(for: [1, 2, 3, 4, 5]), 4, "one prompt token must run to give logits")
        XCTAssertEqual(cache.reusableCount(for: [1, 2, 9]), 2)
        XCTAssertEqual(cache.reusableCount(for: [9]), 0)
        cache.invalidate()
        XCTAssertEqual(cache.reusableCount(for: [1, 2, 3]), 0)
    }
}
