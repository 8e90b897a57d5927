// Long inputs: ~1 MB without whitespace runs in time linear-ish in its size (heap BPE), and round-trips.
import XCTest
@testable import Tokenizers

final class LongInputTests: XCTestCase {
    static func repeated(_ unit: String, bytes: Int) -> String {
        String(repeating: unit, count: bytes / unit.utf8.count)
    }

    /// One pre-token of 1 MB goes through the O(n log n) heap merge, not the quadratic scan.
    func testOneMegabyteWithoutWhitespace() throws {
        var rng = SplitMix64(seed: 3)
        let letters = Array("abcdefghijklmnopqrstuvwxyz")
        let word = String((0..<(1 << 20)).map { _ in letters[Int(rng.next() % 26)] })
        let inputs = [word, Self.repeated("日本語", bytes: 1 << 20), Self.repeated("+-*/", bytes: 1 << 20),
                      Self.repeated(" ", bytes: 1 << 20), Self.repeated("<|", bytes: 1 << 20)]
        // The committed trained vocabulary always runs; the real ones when their files are present.
        let trained = try BytePairTokenizer(tokenizerJSON: Repo.golden("trained-llama3-layout.tokenizer.json"))
        let real: [any Tokenizer] = [(try? Loaded.llama3.get()) as (any Tokenizer)?, (try? Loaded.smolLM2.get()) as (any Tokenizer)?].compactMap { $0 }
        for t in [trained] + real {
            for text in inputs {
                let ids = try t.encode(text, addBOS: false, allowSpecial: true)
                XCTAssertFalse(ids.isEmpty)
                XCTAssertEqual(try t.decode(ids), text)
            }
        }
    }

    /// The quadratic scan and the heap merge agree on every input (they implement one merge order).
    func testScanAndHeapMergesAgree() throws {
        let t = try Loaded.llama3.get()
        var rng = SplitMix64(seed: 11)
        let alphabet = Array("aaabbcde ".utf8) + [0xC3, 0xA9]
        let scratchA = MergeScratch(), scratchB = MergeScratch()
        t.engine.merges.withView { merges in
            for _ in 0..<300 {
                let n = 2 + Int(rng.next() % 200)
                let ids = (0..<n).map { _ in t.engine.byteIDs[Int(alphabet[Int(rng.next() % UInt64(alphabet.count))])] }
                scratchA.reserve(n); scratchB.reserve(n)
                for (i, id) in ids.enumerated() { scratchA.ids[i] = id; scratchB.ids[i] = id }
                let a = BytePairMerge.mergeByScan(scratchA, count: n, merges: merges)
                let b = BytePairMerge.mergeByHeap(scratchB, count: n, merges: merges)
                XCTAssertEqual(Array(UnsafeBufferPointer(start: scratchA.ids, count: a)),
                               Array(UnsafeBufferPointer(start: scratchB.ids, count: b)))
            }
        }
    }
}
