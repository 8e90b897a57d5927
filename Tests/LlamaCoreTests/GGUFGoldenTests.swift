// GGUF reading and dequantization checked bit for bit against the PyPI gguf package (Golden/gguf-fixture).

import Foundation
import XCTest
@testable import LlamaCore

/// Golden/gguf-fixture/manifest.json, written by Tools/fixtures/make_gguf_fixture.py.
struct GGUFFixtureManifest: Decodable {
    struct Tensor: Decodable { let name: String; let type: String; let shape: [Int]; let offset: Int; let count: Int }
    struct Fixture: Decodable { let file: String; let expected: String; let tensors: [Tensor] }
    struct Slice: Decodable {
        let name: String; let type: String; let shape: [Int]; let start: Int; let count: Int; let offset: Int
    }
    struct SmolLM2: Decodable { let file: String; let bytes: Int; let sha256: String; let slices: [Slice] }
    let gguf_version: String
    let fixture: Fixture
    let smollm2: SmolLM2?

    static let folder = repoRoot.appendingPathComponent("Golden/gguf-fixture")
    static func load() throws -> GGUFFixtureManifest {
        try JSONDecoder().decode(Self.self, from: Data(contentsOf: folder.appendingPathComponent("manifest.json")))
    }
}

final class GGUFGoldenTests: XCTestCase {
    func testFixtureWrittenByGGUFPackageReadsAndDequantizesBitExactly() throws {
        let manifest = try GGUFFixtureManifest.load()
        XCTAssertEqual(manifest.gguf_version, "0.19.0")
        let folder = GGUFFixtureManifest.folder
        let g = try GGUFFile(path: folder.appendingPathComponent(manifest.fixture.file).path)
        let expected = try readF32File(folder.appendingPathComponent(manifest.fixture.expected))

        // Metadata as the script wrote it, every value type.
        XCTAssertEqual(g.version, 3)
        XCTAssertEqual(g.alignment, 64)
        XCTAssertEqual(g.dataOffset % 64, 0)
        let m = g.metadata
        XCTAssertEqual(m["general.architecture"], .string("llama"))
        XCTAssertEqual(m["general.alignment"], .uint32(64))
        XCTAssertEqual(m["test.u8"], .uint8(200))
        XCTAssertEqual(m["test.i8"], .int8(-100))
        XCTAssertEqual(m["test.u16"], .uint16(60000))
        XCTAssertEqual(m["test.i16"], .int16(-30000))
        XCTAssertEqual(m["test.u32"], .uint32(4_000_000_000))
        XCTAssertEqual(m["test.i32"], .int32(-2_000_000_000))
        XCTAssertEqual(m["test.f32"], .float32(3.25))
        XCTAssertEqual(m["test.bool"], .bool(true))
        XCTAssertEqual(m["test.string"], .string("h\u{e9}llo \u{1F999}"))
        XCTAssertEqual(m["test.u64"], .uint64((1 << 63) + 5))
        XCTAssertEqual(m["test.i64"], .int64(-(1 << 62)))
        XCTAssertEqual(m["test.f64"], .float64(-1.0 / 3.0))
        XCTAssertEqual(m["test.array_u8"], .array([.uint8(1), .uint8(2), .uint8(255)]))
        XCTAssertEqual(m["test.array_f32"], .array([.float32(0.5), .float32(-1.5)]))
        XCTAssertEqual(m["test.array_str"], .array([.string("a"), .string("b\u{e9}"), .string("")]))
        XCTAssertEqual(m["test.array_nested"], .array([.array([.int32(1), .int32(2)]), .array([.int32(3)]),
                                                      .array([.array([.int32(4)])])]))
        XCTAssertEqual(m["test.array_bool"], .array([.bool(true), .bool(false)]))
        XCTAssertEqual(Array(g.metadataKeys.prefix(2)), ["general.architecture", "general.alignment"])

        XCTAssertEqual(g.tensors.map(\.name), manifest.fixture.tensors.map(\.name))
        var seen = Set<DType>()
        for t in manifest.fixture.tensors {
            let info = try XCTUnwrap(g.info(t.name), t.name)
            XCTAssertEqual(info.dtype.rawValue, t.type, t.name)
            XCTAssertEqual(info.shape, t.shape, t.name)
            seen.insert(info.dtype)
            let want = Array(expected[t.offset ..< t.offset + t.count])
            assertBitEqual(try g.floats(t.name), want, t.name)
        }
        // Q5_0 / Q4_K / Q6_K: KQuantDequantTests (against gguf-py, and read from a GGUF).
        XCTAssertEqual(seen, Set(DType.allCases).subtracting([.q5_0, .q4_K, .q6_K]), "the fixture covers every other dtype")
    }

    // MARK: - The real SmolLM2-135M-Instruct Q4_1 file

    static func smolLM2Path() throws -> String {
        let path = ModelCache.smolLM2GGUF
        guard FileManager.default.fileExists(atPath: path) else {
            throw XCTSkip("SmolLM2 GGUF not found at \(path) (set NPULLAMA_SMOLLM2_GGUF or run Tools/fetch-models.sh to fetch it)")
        }
        return path
    }

    func testSmolLM2HeaderAndTensorCensus() throws {
        let path = try Self.smolLM2Path()
        let start = Date()
        let g = try GGUFFile(path: path)
        let openSeconds = Date().timeIntervalSince(start)
        XCTAssertLessThan(openSeconds, 2, "opening parses the header only (tensor data is mapped, not read)")
        // Tensor bytes are views into the mapping, not copies.
        let embd = try XCTUnwrap(g.tensorInfo("token_embd.weight"))
        XCTAssertEqual(try g.rawBytes("token_embd.weight").baseAddress,
                       g.file.bytes.baseAddress! + g.dataOffset + embd.offset)
        XCTAssertEqual(try g.rawBytes("token_embd.weight").count, 49152 * 576 / 32 * 34)

        XCTAssertEqual(g.version, 3)
        XCTAssertEqual(g.metadata["general.architecture"], .string("llama"))
        XCTAssertEqual(g.metadata["llama.block_count"]?.intValue, 30)
        XCTAssertEqual(g.metadata["llama.embedding_length"]?.intValue, 576)
        XCTAssertEqual(g.metadata["tokenizer.ggml.tokens"]?.arrayValue?.count, 49152)
        XCTAssertEqual(g.metadata["tokenizer.ggml.merges"]?.arrayValue?.count, 48900)
        XCTAssertEqual(g.alignment, 32)
        XCTAssertEqual(g.tensors.count, 272)
        var census: [DType: Int] = [:]
        for t in g.tensors { census[t.dtype, default: 0] += 1 }
        XCTAssertEqual(census, [.q8_0: 1, .q4_1: 210, .f32: 61])
        XCTAssertEqual(g.info("token_embd.weight"), TensorInfo(name: "token_embd.weight", dtype: .q8_0, shape: [49152, 576]))
        XCTAssertEqual(g.info("blk.0.attn_q.weight")?.shape, [576, 576])
        XCTAssertEqual(g.info("blk.0.attn_k.weight")?.shape, [192, 576])
        XCTAssertEqual(g.info("blk.29.ffn_down.weight")?.shape, [576, 1536])
        XCTAssertEqual(g.info("blk.29.ffn_gate.weight")?.shape, [1536, 576])
        XCTAssertNil(g.info("output.weight"), "tied embeddings")
        for n in 0 ..< 30 {
            for part in ["attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm", "ffn_gate", "ffn_up", "ffn_down"] {
                XCTAssertNotNil(g.info("blk.\(n).\(part).weight"), "blk.\(n).\(part).weight")
            }
        }
        // The tensors' bytes are inside the mapping and the data section ends at the end of the file.
        let last = g.tensors.max { $0.offset < $1.offset }!
        XCTAssertLessThanOrEqual(g.dataOffset + last.offset + last.byteCount, g.file.count)
    }

    func testSmolLM2DequantizationMatchesGGUFPackage() throws {
        let path = try Self.smolLM2Path()
        let manifest = try GGUFFixtureManifest.load()
        let smol = try XCTUnwrap(manifest.smollm2, "manifest has no SmolLM2 slices: run Tools/fixtures/make_gguf_fixture.py")
        let g = try GGUFFile(path: path)
        XCTAssertEqual(g.file.count, smol.bytes, "a different SmolLM2 file than the slices came from")
        let expected = try readF32File(GGUFFixtureManifest.folder.appendingPathComponent("smollm2-slices.f32"))
        for s in smol.slices {
            let info = try XCTUnwrap(g.info(s.name))
            XCTAssertEqual(info.dtype.rawValue, s.type, s.name)
            XCTAssertEqual(info.shape, s.shape, s.name)
            let want = Array(expected[s.offset ..< s.offset + s.count])
            let all = try g.floats(s.name)
            assertBitEqual(Array(all[s.start ..< s.start + s.count]), want, "\(s.name)[\(s.start)...]")
            // Row access agrees when the slice is whole rows.
            let row = info.shape.last!
            if s.start % row == 0, s.count % row == 0 {
                assertBitEqual(try g.floats(s.name, rows: s.start / row ..< (s.start + s.count) / row), want, "\(s.name) rows")
            }
        }
    }
}
