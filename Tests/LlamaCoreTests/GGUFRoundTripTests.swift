// GGUF round trips on files written by the test-only writer: metadata types, tensor dtypes, names, shapes.

import Foundation
import XCTest
@testable import LlamaCore

final class GGUFRoundTripTests: XCTestCase {
    /// Every value type 0–12, arrays of several element types, nested and empty arrays.
    static let allValues: [(String, GGUFValue)] = [
        ("general.architecture", .string("llama")),
        ("t.u8", .uint8(255)), ("t.i8", .int8(-128)),
        ("t.u16", .uint16(65535)), ("t.i16", .int16(-32768)),
        ("t.u32", .uint32(4_294_967_295)), ("t.i32", .int32(-2_147_483_648)),
        ("t.f32", .float32(-0.15625)), ("t.bool.true", .bool(true)), ("t.bool.false", .bool(false)),
        ("t.string", .string("日本語 🦙 \"quoted\"\n")), ("t.string.empty", .string("")),
        ("t.u64", .uint64(UInt64.max)), ("t.i64", .int64(Int64.min)), ("t.f64", .float64(1e-300)),
        ("t.array.i32", .array([.int32(1), .int32(-2), .int32(3)])),
        ("t.array.str", .array([.string("<s>"), .string("Ġthe"), .string("")])),
        ("t.array.f32", .array([.float32(0.5), .float32(.infinity)])),
        ("t.array.nested", .array([.array([.uint8(1), .uint8(2)]), .array([.uint8(3)])])),
        ("t.array.nested2", .array([.array([.array([.int64(-7)])])])),
        ("t.array.empty", .array([])),
        ("t.array.bool", .array([.bool(false), .bool(true)])),
        ("t.array.u64", .array([.uint64(0), .uint64(1 << 63)])),
        ("t.array.f64", .array([.float64(-2.5)])),
    ]

    func testEveryMetadataValueTypeRoundTrips() throws {
        let dir = try makeTempDir(self)
        let builder = GGUFBuilder(metadata: Self.allValues)
        let path = try writeFile(builder.bytes(), to: dir.appendingPathComponent("meta.gguf"))
        let g = try GGUFFile(path: path)
        XCTAssertEqual(g.version, 3)
        XCTAssertEqual(g.alignment, 32)
        XCTAssertEqual(g.metadataKeys, Self.allValues.map(\.0), "keys in file order")
        for (k, v) in Self.allValues {
            XCTAssertEqual(g.metadata[k], v, k)
        }
        XCTAssertEqual(g.metadata.count, Self.allValues.count)
        XCTAssertTrue(g.tensors.isEmpty)
        XCTAssertTrue(g.tensorNames.isEmpty)
    }

    func testVersion2IsAccepted() throws {
        let dir = try makeTempDir(self)
        var builder = GGUFBuilder(metadata: [("a", .uint32(7))])
        builder.version = 2
        let g = try GGUFFile(path: try writeFile(builder.bytes(), to: dir.appendingPathComponent("v2.gguf")))
        XCTAssertEqual(g.version, 2)
        XCTAssertEqual(g.metadata["a"], .uint32(7))
    }

    /// Tensors of every dtype with hand-computed expectations (exact in fp32), canonical names kept,
    /// shapes reversed from GGUF's ne order.
    static func dtypeTensors() -> (specs: [GGUFTensorSpec], expected: [String: (DType, [Int], [Float])]) {
        var specs: [GGUFTensorSpec] = []
        var expected: [String: (DType, [Int], [Float])] = [:]

        let f32: [Float] = (0 ..< 12).map { Float($0) * 1.5 - 4 }
        specs.append(GGUFTensorSpec(name: "blk.0.attn_q.weight", typeID: 0, ne: [4, 3], data: f32Bytes(f32)))
        expected["blk.0.attn_q.weight"] = (.f32, [3, 4], f32)

        let f16Bits: [UInt16] = [0x3C00, 0xC000, 0x0000, 0x8000, 0x0001, 0x7BFF, 0x7C00, 0x3555]
        specs.append(GGUFTensorSpec(name: "output_norm.weight", typeID: 1, ne: [8], data: u16Bytes(f16Bits)))
        expected["output_norm.weight"] = (.f16, [8], f16Bits.map { Float(Float16(bitPattern: $0)) })

        let bf16Bits: [UInt16] = (0 ..< 16).map { UInt16(0x3F80 + $0 * 0x11) }
        specs.append(GGUFTensorSpec(name: "blk.1.ffn_norm.weight", typeID: 30, ne: [2, 2, 2, 2], data: u16Bytes(bf16Bits)))
        expected["blk.1.ffn_norm.weight"] = (.bf16, [2, 2, 2, 2], bf16Bits.map { Float(bitPattern: UInt32($0) << 16) })

        // Q8_0: two rows of 64 (4 blocks); scale 0.5 or −0.25, q = −128…127.
        var q8 = LEBytes(), q8Expected: [Float] = []
        for block in 0 ..< 4 {
            let (dBits, d): (UInt16, Float) = block % 2 == 0 ? (0x3800, 0.5) : (0xB400, -0.25)
            q8.u16(dBits)
            for j in 0 ..< 32 {
                let q = Int8(truncatingIfNeeded: block * 61 + j * 9 - 128)
                q8.u8(UInt8(bitPattern: q))
                q8Expected.append(Float(q) * d)
            }
        }
        specs.append(GGUFTensorSpec(name: "token_embd.weight", typeID: 8, ne: [64, 2], data: q8.bytes))
        expected["token_embd.weight"] = (.q8_0, [2, 64], q8Expected)

        // Q4_0 and Q4_1: byte j holds element j (low nibble) and element j + 16 (high nibble).
        var q40 = LEBytes(), q40Expected = [Float](repeating: 0, count: 64)
        var q41 = LEBytes(), q41Expected = [Float](repeating: 0, count: 64)
        for block in 0 ..< 2 {
            q40.u16(0x3400)                // d = 0.25
            q41.u16(0x3800); q41.u16(0xBC00) // d = 0.5, m = −1
            for j in 0 ..< 16 {
                let lo = UInt8((j + block) % 16), hi = UInt8(15 - j)
                q40.u8(lo | hi << 4)
                q41.u8(lo | hi << 4)
                q40Expected[block * 32 + j] = Float(Int(lo) - 8) * 0.25
                q40Expected[block * 32 + j + 16] = Float(Int(hi) - 8) * 0.25
                q41Expected[block * 32 + j] = Float(lo) * 0.5 - 1
                q41Expected[block * 32 + j + 16] = Float(hi) * 0.5 - 1
            }
        }
        specs.append(GGUFTensorSpec(name: "blk.0.ffn_down.weight", typeID: 2, ne: [32, 2], data: q40.bytes))
        expected["blk.0.ffn_down.weight"] = (.q4_0, [2, 32], q40Expected)
        specs.append(GGUFTensorSpec(name: "blk.0.ffn_up.weight", typeID: 3, ne: [64], data: q41.bytes))
        expected["blk.0.ffn_up.weight"] = (.q4_1, [64], q41Expected)
        return (specs, expected)
    }

    func testEveryTensorDTypeNameAndShapeRoundTrips() throws {
        let dir = try makeTempDir(self)
        let (specs, expected) = Self.dtypeTensors()
        let builder = GGUFBuilder(metadata: [("general.architecture", .string("llama"))], tensors: specs)
        let path = try writeFile(builder.bytes(), to: dir.appendingPathComponent("t.gguf"))
        let g = try GGUFFile(path: path)

        XCTAssertEqual(g.tensorNames, expected.keys.sorted())
        XCTAssertEqual(g.tensors.map(\.name), specs.map(\.name), "file order")
        XCTAssertEqual(g.dataOffset % 32, 0)
        XCTAssertGreaterThanOrEqual(g.dataOffset, builder.headerEnd)
        for spec in specs {
            let (dtype, shape, values) = expected[spec.name]!
            let info = try XCTUnwrap(g.info(spec.name))
            XCTAssertEqual(info, TensorInfo(name: spec.name, dtype: dtype, shape: shape))
            let t = try XCTUnwrap(g.tensorInfo(spec.name))
            XCTAssertEqual(t.ne, spec.ne.map { Int($0) })
            XCTAssertEqual(t.ggmlType, spec.typeID)
            XCTAssertEqual(t.dtype.ggmlType, spec.typeID)
            XCTAssertEqual(t.byteCount, spec.data.count)
            XCTAssertEqual(Array(try g.rawBytes(spec.name)), spec.data, "raw bytes of \(spec.name)")
            assertBitEqual(try g.floats(spec.name), values, spec.name)
        }
        // Row access converts only the rows asked for.
        assertBitEqual(try g.floats("token_embd.weight", rows: 1 ..< 2), Array(expected["token_embd.weight"]!.2[64...]), "row 1")
        assertBitEqual(try g.floats("blk.0.attn_q.weight", rows: 0 ..< 3), expected["blk.0.attn_q.weight"]!.2, "all rows")
        assertModelFileError(.outOfRange, file: path, mentions: ["token_embd.weight"]) {
            try g.floats("token_embd.weight", rows: 1 ..< 3)
        }
    }

    func testCustomAlignmentIsHonoured() throws {
        let dir = try makeTempDir(self)
        let (specs, expected) = Self.dtypeTensors()
        var builder = GGUFBuilder(metadata: [("general.alignment", .uint32(256))], tensors: specs)
        builder.alignment = 256
        let g = try GGUFFile(path: try writeFile(builder.bytes(), to: dir.appendingPathComponent("a.gguf")))
        XCTAssertEqual(g.alignment, 256)
        XCTAssertEqual(g.dataOffset % 256, 0)
        for t in g.tensors { XCTAssertEqual(t.offset % 256, 0) }
        for (name, e) in expected { assertBitEqual(try g.floats(name), e.2, name) }
    }

    func testMissingTensorIsReported() throws {
        let dir = try makeTempDir(self)
        let path = try writeFile(GGUFBuilder().bytes(), to: dir.appendingPathComponent("e.gguf"))
        let g = try GGUFFile(path: path)
        XCTAssertNil(g.info("output.weight"))
        assertModelFileError(.missingTensor, file: path, mentions: ["output.weight"]) { try g.floats("output.weight") }
        assertModelFileError(.missingTensor, file: path, mentions: ["output.weight"]) { try g.rawBytes("output.weight") }
    }
}
