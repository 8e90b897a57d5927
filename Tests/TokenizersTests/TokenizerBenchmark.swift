// Encode throughput benchmark (MB/s, one thread); skipped unless NPULLAMA_BENCH=1. Not a pass/fail test.
import Foundation
import XCTest
@testable import Tokenizers

/// Run in release:
/// `NPULLAMA_BENCH=1 swift test -c release -Xswiftc -enable-testing --filter TokenizerBenchmark`
/// and compare with `Tools/tokenizer/bench_tiktoken.py` (same text).
final class TokenizerBenchmark: XCTestCase {
    /// corpus.json's document_100k repeated to at least 1,000,000 UTF-8 bytes (as bench_tiktoken.py does).
    static func benchText() -> String {
        let doc = Golden.text("document_100k")
        let copies = (1_000_000 + doc.utf8.count - 1) / doc.utf8.count
        return String(repeating: doc, count: copies)
    }

    func measureEncode(_ name: String, _ tokenizer: any Tokenizer) throws {
        let text = Self.benchText()
        let size = text.utf8.count
        let count = try tokenizer.encode(text).count
        var best = Double.infinity
        for _ in 0..<5 {
            let start = DispatchTime.now().uptimeNanoseconds
            _ = try tokenizer.encode(text)
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        print(String(format: "%@ encode, 1 thread: %d bytes -> %d tokens, best of 5 %.1f ms = %.2f MB/s",
                     name, size, count, best * 1e3, Double(size) / best / 1e6))
    }

    func testEncodeThroughput() throws {
        guard ProcessInfo.processInfo.environment["NPULLAMA_BENCH"] == "1" else {
            throw XCTSkip("benchmark: set NPULLAMA_BENCH=1 and build with -c release")
        }
        try measureEncode("llama3 tiktoken", Loaded.llama3.get())
        try measureEncode("smollm2 gguf", Loaded.smolLM2.get())
    }
}
