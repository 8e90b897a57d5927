// Streaming decode: never splits a character; the pieces concatenate to the one-shot decode.
import XCTest
@testable import Tokenizers

final class StreamingDecoderTests: XCTestCase {
    func stream(_ t: any Tokenizer, _ ids: [Int]) throws -> [String] {
        var d = StreamingDecoder(tokenizer: t)
        var out = try ids.map { try d.append($0) }
        out.append(d.finish())
        return out
    }

    func testLlamaEmojiIsHeldUntilComplete() throws {
        let t = try Loaded.llama3.get()
        // " 🦙" is three tokens: 11410 = " " F0 9F, 99 = A6, 247 = 99 (REFERENCE.md §2).
        XCTAssertEqual(try stream(t, [11410, 99, 247]), [" ", "", "🦙", ""])
    }

    func testCorpusStreamsToTheOneShotDecode() throws {
        for (t, golden) in [(try Loaded.llama3.get() as any Tokenizer, "llama3-tiktoken.json"),
                            (try Loaded.smolLM2.get() as any Tokenizer, "smollm2-hf.json")] {
            let g = try Golden.json(golden)
            for (name, text) in Golden.corpus {
                let pieces = try stream(t, Golden.ids(g, name, special: false))
                XCTAssertEqual(pieces.joined(), text, name)
                for p in pieces { XCTAssertFalse(p.contains("\u{FFFD}") && !text.contains("\u{FFFD}"), name) }
            }
        }
    }

    /// Random ids, many of them partial or invalid UTF-8: the stream equals `decode` (U+FFFD included).
    func testRandomIdsStreamToTheOneShotDecode() throws {
        let t = try Loaded.llama3.get()
        var rng = SplitMix64(seed: 42)
        for _ in 0..<300 {
            let ids = (0..<Int(rng.next() % 12)).map { _ in
                rng.next() % 3 == 0 ? Int(rng.next() % 256) : Int(rng.next() % 128_256)
            }
            XCTAssertEqual(try stream(t, ids).joined(), try t.decode(ids), "\(ids)")
        }
    }

    func testUnfinishedCharacterAtEndBecomesOneReplacement() throws {
        let t = try Loaded.llama3.get()
        var d = StreamingDecoder(tokenizer: t)
        XCTAssertEqual(try d.append(11410), " ")
        XCTAssertEqual(d.heldBytes, [0xF0, 0x9F])
        XCTAssertEqual(d.finish(), "\u{FFFD}")
        XCTAssertEqual(try t.decode([11410]), " \u{FFFD}")
    }

    func testOutOfRangeIdThrows() throws {
        var d = StreamingDecoder(tokenizer: try Loaded.llama3.get())
        XCTAssertThrowsError(try d.append(200_000)) {
            XCTAssertEqual($0 as? TokenizerError, .tokenIDOutOfRange(id: 200_000, vocabularySize: 128_256))
        }
    }
}

/// Deterministic random numbers for tests.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
