// Seeded hostile-input fuzzing of the tokenizer parsers (tokenizer.json, GGUF vocabularies): load, encode, decode never crash.
import Foundation
import LlamaCore
import XCTest
@testable import Tokenizers

/// Deterministic mutations of valid tokenizer files, bounded in time (about 8 s in total by default;
/// `NPULLAMA_FUZZ_SECONDS` sets the total). Every load must succeed or throw `ModelFileError`; a loaded tokenizer
/// must encode hostile texts and decode any ids in range without crashing, failing only with `TokenizerError`.
final class TokenizerFuzzTests: XCTestCase {
    static var totalSeconds: Double {
        ProcessInfo.processInfo.environment["NPULLAMA_FUZZ_SECONDS"].flatMap(Double.init) ?? 10
    }

    static let texts = ["", " ", "  a  b ", "Hello world", "<s>x</s><unk>", "<|endoftext|>ab", "▁▁", "\n\r\t",
                        "日本語 🦙 e\u{301}", "<0x41>", "abcabcabc ab c", String(repeating: "ab ", count: 50)]

    /// A small SentencePiece-style tokenizer.json (Llama 2 legacy layout), so that mutations hit its structure.
    static let spmSeed = Array(#"""
    {"version":"1.0","added_tokens":[{"id":0,"content":"<unk>","special":true,"normalized":false},
     {"id":1,"content":"<s>","special":true,"normalized":false},{"id":2,"content":"</s>","special":true,"normalized":false}],
     "normalizer":{"type":"Sequence","normalizers":[{"type":"Prepend","prepend":"▁"},{"type":"Replace","pattern":{"String":" "},"content":"▁"}]},
     "pre_tokenizer":null,
     "post_processor":{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"<s>","type_id":0}},{"Sequence":{"id":"A","type_id":0}}],"pair":[],"special_tokens":{"<s>":{"id":"<s>","ids":[1],"tokens":["<s>"]}}},
     "decoder":{"type":"Sequence","decoders":[{"type":"Replace","pattern":{"String":"▁"},"content":" "},{"type":"ByteFallback"},{"type":"Fuse"},{"type":"Strip","content":" ","start":1,"stop":0}]},
     "model":{"type":"BPE","dropout":null,"unk_token":"<unk>","continuing_subword_prefix":null,"end_of_word_suffix":null,"fuse_unk":true,"byte_fallback":true,"ignore_merges":false,
      "vocab":{"<unk>":0,"<s>":1,"</s>":2,"<0x41>":3,"<0xE6>":4,"<0x97>":5,"<0xA5>":6,"▁":7,"a":8,"b":9,"c":10,"ab":11,"▁a":12,"abc":13,"▁ab":14},
      "merges":["a b","▁ a","ab c",["▁a","b"]]}}
    """#.utf8)

    static let replacements = ["0", "1", "2", "-1", "7", "15", "16", "4294967296", "9223372036854775807", "1e308", "2.5",
                               "true", "false", "null", "[]", "{}", #""""#, #""x""#, #""▁""#, #""<0x41>""#, #""<0xZZ>""#,
                               #""Metaspace""#, #""ByteFallback""#, #""Fuse""#, #""Strip""#, #""Replace""#, #""Prepend""#,
                               #""Sequence""#, #""ByteLevel""#, #""NFC""#, #""NFKC""#, #""Split""#, #""Unigram""#,
                               #""always""#, #""first""#, #""never""#, #""a b""#, #""\ud800""#, #""\u0000""#, "[\"a\",\"b\"]",
                               #"{"String":""}"#, #"{"Regex":"(("}"#]

    /// Replaces one to three JSON tokens (string literals, numbers, literals) with hostile ones, or mutates bytes.
    static func mutate(_ json: [UInt8], rng: inout SplitMix64) -> [UInt8] {
        var b = json
        for _ in 0..<Int(rng.next() % 3 + 1) {
            guard !b.isEmpty else { break }
            if rng.next() % 4 == 0 {
                let i = Int(rng.next() % UInt64(b.count))
                switch rng.next() % 4 {
                case 0: b[i] ^= UInt8(1 << (rng.next() % 8))
                case 1: b[i] = Array(#"{}[],:"0123456789-\ "#.utf8)[Int(rng.next() % 20)]
                case 2: b.removeSubrange(i..<min(b.count, i + Int(rng.next() % 16 + 1)))
                default: b.removeSubrange(i...)
                }
                continue
            }
            var tokens: [Range<Int>] = []
            var i = 0
            while i < b.count {
                if b[i] == UInt8(ascii: "\"") {
                    var j = i + 1
                    while j < b.count, b[j] != UInt8(ascii: "\"") { j += b[j] == UInt8(ascii: "\\") ? 2 : 1 }
                    tokens.append(i..<min(j + 1, b.count)); i = j + 1
                } else if b[i] == UInt8(ascii: "-") || (b[i] >= 48 && b[i] <= 57) || b[i] == UInt8(ascii: "t")
                            || b[i] == UInt8(ascii: "f") || b[i] == UInt8(ascii: "n") {
                    var j = i + 1
                    while j < b.count, (b[j] >= 48 && b[j] <= 57) || (b[j] >= 97 && b[j] <= 122) { j += 1 }
                    tokens.append(i..<j); i = j
                } else { i += 1 }
            }
            guard !tokens.isEmpty else { break }
            let t = tokens[Int(rng.next() % UInt64(tokens.count))]
            b.replaceSubrange(t, with: Array(replacements[Int(rng.next() % UInt64(replacements.count))].utf8))
        }
        return b
    }

    /// Encodes the hostile texts and decodes random ids; only TokenizerError may be thrown.
    static func exercise(_ t: any Tokenizer, rng: inout SplitMix64) throws {
        for text in texts {
            for special in [false, true] {
                let ids = try t.encode(text, addBOS: false, allowSpecial: special)
                XCTAssertTrue(ids.allSatisfy { $0 >= 0 && $0 < t.vocabularySize }, "id out of range for \(String(reflecting: text))")
                _ = try t.decode(ids)
            }
        }
        let n = max(1, t.vocabularySize)
        let ids = (0..<8).map { _ in Int(rng.next() % UInt64(n + 2)) - 1 }
        do { _ = try t.decode(ids) } catch is TokenizerError {}
        var stream = StreamingDecoder(tokenizer: t, startOfText: true)
        for id in ids.filter({ $0 >= 0 && $0 < n }) { _ = try stream.append(id) }
        _ = stream.finish()
        _ = try t.encode(bytes: [0x61, 0xFF, 0xE2, 0x82], addBOS: false, allowSpecial: true, invalidUTF8: .replace)
    }

    func fuzzJSON(_ label: String, seed: [UInt8], rngSeed: UInt64, seconds: Double) {
        var rng = SplitMix64(seed: rngSeed)
        let deadline = Date().addingTimeInterval(seconds)
        var runs = 0, loaded = 0
        while Date() < deadline {
            let input = Self.mutate(seed, rng: &rng)
            runs += 1
            do {
                let t = try TokenizerLoader.tokenizerJSON(input, file: "fuzz.json")
                loaded += 1
                try Self.exercise(t, rng: &rng)
            } catch is ModelFileError {
            } catch {
                XCTFail("\(label) run \(runs): \(error) is neither a ModelFileError nor allowed; input \(String(decoding: input.prefix(400), as: UTF8.self))")
                return
            }
        }
        print("fuzz \(label): \(runs) mutations, \(loaded) loaded and exercised, no crash")
        XCTAssertGreaterThan(runs, 0)
    }

    func testTokenizerJSONMutations() throws {
        let share = Self.totalSeconds / 5
        fuzzJSON("spm tokenizer.json (small)", seed: Self.spmSeed, rngSeed: 1, seconds: share)
        XCTAssertNoThrow(try TokenizerLoader.tokenizerJSON(Self.spmSeed, file: "seed.json"))
        for (i, name) in ["spm-metaspace-split", "trained-qwen2-layout"].enumerated() {
            let seed = try FileBytes.read(Repo.golden("\(name).tokenizer.json"))
            fuzzJSON(name, seed: seed, rngSeed: UInt64(2 + i), seconds: share / 2)
        }
    }

    // MARK: GGUF vocabularies

    /// A small SentencePiece ("llama") vocabulary as GGUF metadata.
    static func spmMetadata() -> [String: GGUFValue] {
        let tokens = ["<unk>", "<s>", "</s>"] + (0..<256).map { "<0x" + String(format2: $0) + ">" } + ["▁", "a", "b", "ab", "▁a", "▁ab"]
        let types: [Int32] = [2, 3, 3] + Array(repeating: 6, count: 256) + Array(repeating: 1, count: 6)
        return [
            "tokenizer.ggml.model": .string("llama"),
            "tokenizer.ggml.tokens": .array(tokens.map { .string($0) }),
            "tokenizer.ggml.scores": .array(tokens.indices.map { .float32(-Float($0)) }),
            "tokenizer.ggml.token_type": .array(types.map { .int32($0) }),
            "tokenizer.ggml.bos_token_id": .uint32(1), "tokenizer.ggml.eos_token_id": .uint32(2),
            "tokenizer.ggml.add_bos_token": .bool(true),
        ]
    }

    static func hostileValue(_ old: GGUFValue?, rng: inout SplitMix64) -> GGUFValue? {
        let pick = rng.next() % 14
        switch pick {
        case 0: return nil
        case 1: return .string(["llama", "gpt2", "bert", "t5", "qwen2", "smollm", "", "default", "kimi-k2", "no-such"][Int(rng.next() % 10)])
        case 2: return .uint32(UInt32.max)
        case 3: return .int32(-1)
        case 4: return .uint64(UInt64.max)
        case 5: return .float32(.nan)
        case 6: return .bool(rng.next() % 2 == 0)
        case 7: return .array([])
        default:
            guard case .array(var a)? = old, !a.isEmpty else { return .int64(Int64(bitPattern: rng.next())) }
            let i = Int(rng.next() % UInt64(a.count))
            switch pick {
            case 8: a.removeLast(Int(rng.next() % UInt64(a.count)) + 1)
            case 9: a.append(a[i])
            case 10: a[i] = .string(["", "a", "<s>", "▁", "<0x41>", "<0xZZ>", "a b", " a", "a  b", "\u{0}", "ab c"][Int(rng.next() % 11)])
            case 11: a[i] = .int32(Int32(truncatingIfNeeded: Int64(rng.next() % 9) - 1))
            case 12: a[i] = .float32([Float.nan, .infinity, -.infinity, 0, -0.0][Int(rng.next() % 5)])
            default: a[i] = .array([.uint8(1)])
            }
            return .array(a)
        }
    }

    func fuzzGGUF(_ label: String, seed: [String: GGUFValue], rngSeed: UInt64, seconds: Double) {
        var rng = SplitMix64(seed: rngSeed)
        let keys = seed.keys.sorted() + ["tokenizer.ggml.merges", "tokenizer.ggml.pre", "tokenizer.ggml.unknown_token_id",
                                         "tokenizer.ggml.padding_token_id", "tokenizer.ggml.add_space_prefix",
                                         "tokenizer.ggml.eot_token_id", "general.name"]
        let deadline = Date().addingTimeInterval(seconds)
        var runs = 0, loaded = 0
        while Date() < deadline {
            var m = seed
            for _ in 0..<Int(rng.next() % 3 + 1) {
                let key = keys[Int(rng.next() % UInt64(keys.count))]
                m[key] = Self.hostileValue(m[key], rng: &rng)
            }
            runs += 1
            do {
                let t = try TokenizerLoader.gguf(metadata: m, file: "fuzz.gguf")
                loaded += 1
                try Self.exercise(t, rng: &rng)
            } catch is ModelFileError {
            } catch {
                XCTFail("\(label) run \(runs): \(error) is neither a ModelFileError nor allowed")
                return
            }
        }
        print("fuzz \(label): \(runs) mutations, \(loaded) loaded and exercised, no crash")
        XCTAssertGreaterThan(runs, 0)
    }

    func testGGUFVocabularyMutations() throws {
        let share = Self.totalSeconds / 5
        fuzzGGUF("GGUF llama (small)", seed: Self.spmMetadata(), rngSeed: 11, seconds: share)
        fuzzGGUF("GGUF gpt2 (small)", seed: BadInputTests.ggufMetadata(), rngSeed: 12, seconds: share)
        let path = LlamaCppVectorTests.directory + "/ggml-vocab-qwen2.gguf"
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("\(path) is absent (\(ModelCache.llamaCppFetchHint))") }
        fuzzGGUF("GGUF qwen2 (llama.cpp test vocabulary)", seed: try GGUFFile(path: path).metadata, rngSeed: 13, seconds: share / 2)
    }
}
