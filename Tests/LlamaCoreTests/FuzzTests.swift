// Seeded mutation fuzzing of GGUF and safetensors headers: every outcome is success or a ModelFileError.

import Foundation
import XCTest
@testable import LlamaCore

/// Deterministic (seeded) byte mutations of valid files, bounded in time: about 10 s in total by
/// default, `NPULLAMA_FUZZ_SECONDS` sets the total. A crash or any error other than
/// `ModelFileError` fails; so does a successful open whose tensors cannot all be read.
final class FuzzTests: XCTestCase {
    static var totalSeconds: Double {
        ProcessInfo.processInfo.environment["NPULLAMA_FUZZ_SECONDS"].flatMap(Double.init) ?? 10
    }

    static let interesting: [UInt64] = [0, 1, 2, 3, 4, 5, 7, 8, 12, 13, 31, 32, 33, 64, 127, 128, 255, 256,
                                        0x7FFF, 0xFFFF, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF,
                                        1 << 32, 1 << 40, 1 << 62, 1 << 63, UInt64(Int.max), UInt64.max]

    /// One to four mutations, mostly inside `[0, hot)` (the header).
    static func mutate(_ input: [UInt8], hot: Int, json: Bool, rng: inout SplitMix64) -> [UInt8] {
        var b = input
        for _ in 0 ..< Int.random(in: 1 ... 4, using: &rng) {
            guard !b.isEmpty else { break }
            let limit = Bool.random(using: &rng) || hot > b.count ? b.count : max(1, hot)
            let i = Int.random(in: 0 ..< limit, using: &rng)
            switch Int.random(in: 0 ..< 8, using: &rng) {
            case 0: b[i] ^= 1 << UInt8.random(in: 0 ..< 8, using: &rng)
            case 1: b[i] = UInt8.random(in: 0 ... 255, using: &rng)
            case 2: b[i] = [0, 1, 0x7F, 0x80, 0xFF][Int.random(in: 0 ..< 5, using: &rng)]
            case 3, 4:
                let v = interesting.randomElement(using: &rng)!
                let width = Bool.random(using: &rng) ? 8 : 4
                for k in 0 ..< width where i + k < b.count { b[i + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(k))) }
            case 5:
                if json {
                    b[i] = Array(#"{}[],:"0123456789-.eE \"#.utf8).randomElement(using: &rng)!
                } else {
                    b.removeSubrange(i ..< min(b.count, i + Int.random(in: 1 ... 16, using: &rng)))
                }
            case 6:
                let n = Int.random(in: 1 ... 16, using: &rng)
                b.insert(contentsOf: b[i ..< min(b.count, i + n)], at: i)
            default:
                b.removeSubrange(Int.random(in: 0 ..< b.count, using: &rng)...)
            }
        }
        return b
    }

    /// One to three token replacements in a JSON text (numbers and string literals swapped for
    /// hostile ones), so that the header stays mostly well-formed JSON and reaches the validation.
    static func mutateJSON(_ json: [UInt8], rng: inout SplitMix64) -> [UInt8] {
        let replacements = ["0", "1", "-1", "7", "8", "16", "4294967296", "9223372036854775807",
                            "18446744073709551615", "18446744073709551616", "1e308", "2.5", "-0", "true", "null",
                            "[]", "{}", "[0,8]", "[8,0]", "[1,2,3]", #""F32""#, #""F16""#, #""BF16""#, #""I64""#,
                            #""dtype""#, #""shape""#, #""data_offsets""#, #""__metadata__""#, #""""#, #""x""#]
        var b = json
        for _ in 0 ..< Int.random(in: 1 ... 3, using: &rng) {
            // Tokens: string literals and number runs.
            var tokens: [Range<Int>] = []
            var i = 0
            while i < b.count {
                if b[i] == UInt8(ascii: "\"") {
                    var j = i + 1
                    while j < b.count, b[j] != UInt8(ascii: "\"") { j += b[j] == UInt8(ascii: "\\") ? 2 : 1 }
                    tokens.append(i ..< min(j + 1, b.count)); i = j + 1
                } else if b[i] == UInt8(ascii: "-") || (b[i] >= 48 && b[i] <= 57) {
                    var j = i + 1
                    while j < b.count, b[j] >= 48 && b[j] <= 57 { j += 1 }
                    tokens.append(i ..< j); i = j
                } else { i += 1 }
            }
            guard let t = tokens.randomElement(using: &rng) else { break }
            b.replaceSubrange(t, with: Array(replacements.randomElement(using: &rng)!.utf8))
        }
        return b
    }

    /// Runs mutations of `seed` for `seconds`; `open` must succeed or throw ModelFileError.
    func fuzz(_ label: String, seed input: [UInt8], hot: Int, json: Bool, rngSeed: UInt64, seconds: Double,
              mutate: ((inout SplitMix64) -> [UInt8])? = nil, open: (String) throws -> TensorSource) throws {
        let url = try makeTempDir(self).appendingPathComponent("fuzz.bin")
        var rng = SplitMix64(seed: rngSeed)
        var outcomes: [String: Int] = [:]
        var iterations = 0
        let deadline = Date().addingTimeInterval(seconds)
        repeat {
            for _ in 0 ..< 20 {
                let bytes = mutate != nil && Bool.random(using: &rng)
                    ? mutate!(&rng) : Self.mutate(input, hot: hot, json: json, rng: &rng)
                let path = try writeFile(bytes, to: url)
                iterations += 1
                do {
                    let source = try open(path)
                    for name in source.tensorNames {
                        guard let info = source.info(name) else { return XCTFail("\(label): no info for listed tensor \(name)") }
                        let values = try source.floats(name)
                        XCTAssertEqual(values.count, info.elementCount, "\(label): \(name)")
                        XCTAssertEqual(try source.rawBytes(name).count, info.dtype.byteCount(elements: info.elementCount))
                    }
                    outcomes["ok", default: 0] += 1
                } catch let e as ModelFileError {
                    XCTAssertEqual(e.file, path)
                    outcomes[e.kind.rawValue, default: 0] += 1
                } catch {
                    XCTFail("\(label): iteration \(iterations) threw \(error), not a ModelFileError")
                    return
                }
            }
        } while Date() < deadline
        let summary = outcomes.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        print("fuzz \(label): \(iterations) mutations in \(seconds) s: \(summary)")
        XCTAssertGreaterThan(iterations, 0)
    }

    func testGGUFHeaderMutationsNeverCrash() throws {
        let (specs, _) = GGUFRoundTripTests.dtypeTensors()
        let metadata = Array(GGUFRoundTripTests.allValues.prefix(8))
            + [("t.nested", GGUFValue.array([.array([.string("x")]), .array([])])), ("general.alignment", .uint32(32))]
        let builder = GGUFBuilder(metadata: metadata, tensors: specs)
        try fuzz("GGUF", seed: builder.bytes(), hot: builder.headerEnd + 32, json: false,
                 rngSeed: 0x6767_7566, seconds: Self.totalSeconds / 2) { try GGUFFile(path: $0) }
    }

    func testSafetensorsHeaderMutationsNeverCrash() throws {
        let bytes = SafetensorsWriter.bytes([
            SafetensorsTensorSpec(name: "model.embed_tokens.weight", dtype: "BF16", shape: [4, 8], data: u16Bytes((0 ..< 32).map { UInt16($0) })),
            SafetensorsTensorSpec(name: "model.norm.weight", dtype: "F32", shape: [8], data: f32Bytes((0 ..< 8).map { Float($0) })),
            SafetensorsTensorSpec(name: "x", dtype: "F16", shape: [2, 2], data: u16Bytes([0x3C00, 0, 0x7C00, 0x8001])),
        ], metadata: ["format": "pt"])
        let headerEnd = 8 + Int(bytes[0]) + Int(bytes[1]) << 8
        let header = Array(bytes[8 ..< headerEnd]), data = Array(bytes[headerEnd...])
        // Half the iterations rewrite JSON tokens and keep the length field right.
        let jsonMutation: (inout SplitMix64) -> [UInt8] = { rng in
            SafetensorsWriter.bytes(headerJSON: String(decoding: Self.mutateJSON(header, rng: &rng), as: UTF8.self),
                                    data: data, pad: false)
        }
        try fuzz("safetensors", seed: bytes, hot: headerEnd, json: true, rngSeed: 0x7361_6665,
                 seconds: Self.totalSeconds / 2, mutate: jsonMutation) { try SafetensorsFile(path: $0) }
    }
}
