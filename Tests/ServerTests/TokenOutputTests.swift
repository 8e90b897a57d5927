// Streamed text never breaks a UTF-8 character and cuts stop sequences across tokens; logprobs are log-softmax numbers.
import Foundation
import LlamaCore
@testable import Server
import XCTest

final class TokenOutputTests: XCTestCase {
    func testTextStreamHoldsPartialCharactersAndCutsStops() {
        var s = TokenTextStream(tokenizer: ByteTokenizer(), stopSequences: ["END"])
        let euro = Array("€".utf8).map(Int.init)   // 3 bytes, one token each
        XCTAssertEqual(s.feed(euro[0]).text, "")
        XCTAssertEqual(s.feed(euro[1]).text, "")
        XCTAssertEqual(s.feed(euro[2]).text, "€")
        XCTAssertEqual(s.feed(Int(UInt8(ascii: "a"))).text, "a")
        XCTAssertEqual(s.feed(Int(UInt8(ascii: "E"))).text, "", "may begin END: held")
        XCTAssertEqual(s.feed(Int(UInt8(ascii: "N"))).text, "")
        let last = s.feed(Int(UInt8(ascii: "D")))
        XCTAssertEqual(last.text, "")
        XCTAssertTrue(last.stopped)
        XCTAssertEqual(s.finish(), "")

        var t = TokenTextStream(tokenizer: ByteTokenizer(), stopSequences: ["END"])
        _ = t.feed(Int(UInt8(ascii: "E")))
        XCTAssertEqual(t.feed(Int(UInt8(ascii: "x"))).text, "Ex", "released once it cannot begin END")
        _ = t.feed(0xE2)   // an unfinished character at the end becomes one U+FFFD
        XCTAssertEqual(t.finish(), "\u{FFFD}")
    }

    func testLogprobsAreLogSoftmax() {
        let logits: [Float] = [2, 1, 0.5, -Float.infinity, 2]
        let l = TokenLogprob(logits: logits, chosen: 1, top: 3, tokenizer: ByteTokenizer())
        let z = log(exp(2.0) + exp(1.0) + exp(0.5) + exp(2.0))
        XCTAssertEqual(l.chosen.logprob, 1 - z, accuracy: 1e-9)
        XCTAssertEqual(l.chosen.bytes, [1])
        XCTAssertEqual(l.top.map(\.id), [0, 4, 1], "most likely first, lower id first among equals")
        XCTAssertEqual(l.top[0].logprob, 2 - z, accuracy: 1e-9)
        XCTAssertEqual(TokenLogprob(logits: logits, chosen: 3, top: 0, tokenizer: ByteTokenizer()).chosen.logprob, -9999, "OpenAI's floor for -inf")
        XCTAssertTrue(TokenLogprob(logits: logits, chosen: 3, top: 0, tokenizer: ByteTokenizer()).top.isEmpty)
        let probabilities = (0..<5).map { exp(TokenLogprob(logits: logits, chosen: $0, top: 0, tokenizer: ByteTokenizer()).chosen.logprob) }
        XCTAssertEqual(probabilities.reduce(0, +), 1, accuracy: 1e-6)
    }

    func testPrometheusHistogramAndText() {
        var h = PrometheusHistogram(bounds: [0.1, 1])
        for v in [0.05, 0.5, 0.5, 3] { h.observe(v) }
        XCTAssertEqual(h.lines("x"), ["x_bucket{le=\"0.1\"} 1", "x_bucket{le=\"1\"} 3", "x_bucket{le=\"+Inf\"} 4", "x_sum 4.05", "x_count 4"])
        let m = ServerMetrics()
        m.recordRequest(path: "/v1/chat/completions", status: 200)
        m.recordRequest(path: "/v1/chat/completions", status: 429)
        m.recordRequest(path: "/wp-admin/../x", status: 404)
        let text = m.render(waiting: 3, running: true, capacity: 4, device: "CPU reference")
        XCTAssertTrue(text.contains("npu_llama_requests_total{endpoint=\"/v1/chat/completions\",status=\"200\"} 1"))
        XCTAssertTrue(text.contains("npu_llama_requests_total{endpoint=\"/v1/chat/completions\",status=\"429\"} 1"))
        XCTAssertTrue(text.contains("npu_llama_requests_total{endpoint=\"other\",status=\"404\"} 1"))
        XCTAssertTrue(text.contains("npu_llama_requests_rejected_total 1"))
        XCTAssertTrue(text.contains("npu_llama_queue_depth 3"))
        XCTAssertTrue(text.contains("npu_llama_device_busy{device=\"CPU reference\"} 1"))
        XCTAssertTrue(text.contains("# TYPE npu_llama_time_to_first_token_seconds histogram"))
        XCTAssertTrue(text.contains("# TYPE npu_llama_decode_tokens_per_second histogram"))
    }

    func testServerSentEventFraming() {
        let event = ServerSentEvents.event(.object([("a", .string("x\ny"))]))
        XCTAssertEqual(String(buffer: event), "data: {\"a\":\"x\\ny\"}\n\n", "one data line per event: JSON escapes newlines")
        XCTAssertEqual(String(buffer: ServerSentEvents.done), "data: [DONE]\n\n")
    }
}
