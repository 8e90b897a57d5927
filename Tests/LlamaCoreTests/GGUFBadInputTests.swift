// Hostile and broken GGUF files: each case must throw the exact ModelFileError kind naming the file.

import Foundation
import XCTest
@testable import LlamaCore

final class GGUFBadInputTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws { dir = try makeTempDir(self) }

    /// A small valid file: a few metadata values (string, array) and three tensors.
    private func validBuilder() -> GGUFBuilder {
        GGUFBuilder(
            metadata: [("general.architecture", .string("llama")), ("llama.block_count", .uint32(1)),
                       ("tokenizer.ggml.tokens", .array([.string("a"), .string("bc")]))],
            tensors: [
                GGUFTensorSpec(name: "token_embd.weight", typeID: 8, ne: [32, 2], data: [UInt8](repeating: 1, count: 68)),
                GGUFTensorSpec(name: "output_norm.weight", typeID: 0, ne: [8], data: f32Bytes([1, 2, 3, 4, 5, 6, 7, 8])),
                GGUFTensorSpec(name: "blk.0.attn_q.weight", typeID: 3, ne: [32, 1], data: [UInt8](repeating: 2, count: 20)),
            ])
    }

    private func write(_ builder: GGUFBuilder, _ name: String = "bad.gguf") throws -> String {
        try writeFile(builder.bytes(), to: dir.appendingPathComponent(name))
    }

    private func expect(_ kind: ModelFileError.Kind, _ builder: GGUFBuilder, mentions: [String] = [],
                        line: UInt = #line) throws {
        let path = try write(builder)
        assertModelFileError(kind, file: path, mentions: mentions, { try GGUFFile(path: path) }, line: line)
    }

    func testValidBuilderOpens() throws {
        let g = try GGUFFile(path: try write(validBuilder()))
        XCTAssertEqual(g.tensors.count, 3)
        XCTAssertEqual(try g.floats("output_norm.weight"), [1, 2, 3, 4, 5, 6, 7, 8])
    }

    /// Every proper prefix of a valid file fails: `.truncated` while the header is cut,
    /// `.outOfRange` once only tensor data is missing.
    func testEveryPrefixOfAValidFileIsRejected() throws {
        let builder = validBuilder()
        let full = builder.bytes()
        let headerEnd = builder.headerEnd
        let url = dir.appendingPathComponent("prefix.gguf")
        for n in 0 ..< full.count {
            let path = try writeFile(Array(full[..<n]), to: url)
            let kind: ModelFileError.Kind = n < headerEnd ? .truncated : .outOfRange
            assertModelFileError(kind, file: path, { try GGUFFile(path: path) })
        }
        XCTAssertNoThrow(try GGUFFile(path: try writeFile(full, to: url)))
    }

    func testEmptyFileIsTruncated() throws {
        let path = try writeFile([], to: dir.appendingPathComponent("empty.gguf"))
        assertModelFileError(.truncated, file: path) { try GGUFFile(path: path) }
    }

    func testBadMagic() throws {
        var b = validBuilder()
        b.magic = Array("GGML".utf8)
        try expect(.badMagic, b, mentions: ["47 47 4d 4c"])
        // A safetensors file is not a GGUF file either.
        let path = try writeFile(SafetensorsWriter.bytes([]), to: dir.appendingPathComponent("st.gguf"))
        assertModelFileError(.badMagic, file: path) { try GGUFFile(path: path) }
    }

    func testUnsupportedVersions() throws {
        for v: UInt32 in [0, 1, 4, 0x0300_0000, UInt32.max] {
            var b = validBuilder()
            b.version = v
            try expect(.unsupportedVersion, b, mentions: v == 0x0300_0000 ? ["big-endian"] : ["\(v)"])
        }
    }

    func testAbsurdTensorCount() throws {
        var b = validBuilder()
        b.tensorCountOverride = 1 << 60
        try expect(.badHeader, b, mentions: ["tensor count", "\(1 << 60)"])
    }

    func testAbsurdKVCount() throws {
        var b = validBuilder()
        b.kvCountOverride = UInt64.max
        try expect(.badHeader, b, mentions: ["metadata key/value count"])
    }

    func testCountsBeyondWhatTheFileHoldsAreTruncation() throws {
        // Five key/values declared (fewer than the file has bytes), one present.
        let b = GGUFBuilder(metadata: [("a", .uint8(1))], kvCountOverride: 5)
        let path = try writeFile(Array(b.bytes()[..<b.headerEnd]), to: dir.appendingPathComponent("kv.gguf"))
        assertModelFileError(.truncated, file: path) { try GGUFFile(path: path) }
    }

    func testStringLengthBeyondTheFile() throws {
        // A key whose length field claims more bytes than remain.
        var bytes = validBuilder().bytes()
        let keyLengthOffset = 24
        withUnsafeBytes(of: UInt64(1 << 40).littleEndian) { bytes.replaceSubrange(keyLengthOffset ..< keyLengthOffset + 8, with: $0) }
        let path = try writeFile(bytes, to: dir.appendingPathComponent("strlen.gguf"))
        assertModelFileError(.truncated, file: path, mentions: ["\(1 << 40)", "offset 24"]) { try GGUFFile(path: path) }
    }

    func testArrayCountBeyondTheFile() throws {
        var b = validBuilder()
        b.metadata = [("big", .array([.uint32(1)]))]
        var bytes = b.bytes()
        // magic 4, version 4, counts 16, key (8 + 3), type 4, element type 4 → count at 43.
        withUnsafeBytes(of: UInt64(1 << 50).littleEndian) { bytes.replaceSubrange(43 ..< 51, with: $0) }
        let path = try writeFile(bytes, to: dir.appendingPathComponent("arr.gguf"))
        assertModelFileError(.truncated, file: path, mentions: ["big", "\(1 << 50)"]) { try GGUFFile(path: path) }
    }

    func testUnknownValueType() throws {
        var bytes = GGUFBuilder(metadata: [("k", .uint8(1))]).bytes()
        // key "k" ends at 24 + 8 + 1 = 33; its type is at 33.
        withUnsafeBytes(of: UInt32(13).littleEndian) { bytes.replaceSubrange(33 ..< 37, with: $0) }
        let path = try writeFile(bytes, to: dir.appendingPathComponent("vt.gguf"))
        assertModelFileError(.badMetadata, file: path, mentions: ["'k'", "13"]) { try GGUFFile(path: path) }
    }

    func testUnknownArrayElementType() throws {
        var bytes = GGUFBuilder(metadata: [("k", .array([.uint8(1)]))]).bytes()
        withUnsafeBytes(of: UInt32(77).littleEndian) { bytes.replaceSubrange(37 ..< 41, with: $0) }
        let path = try writeFile(bytes, to: dir.appendingPathComponent("at.gguf"))
        assertModelFileError(.badMetadata, file: path, mentions: ["'k'", "77"]) { try GGUFFile(path: path) }
    }

    func testArraysNestedTooDeep() throws {
        var v = GGUFValue.uint8(1)
        for _ in 0 ... GGUFFile.maxArrayNesting { v = .array([v]) }
        try expect(.badMetadata, GGUFBuilder(metadata: [("deep", v)]), mentions: ["deep", "nested"])
        // One level less is fine.
        guard case .array(let inner) = v else { return XCTFail() }
        XCTAssertNoThrow(try GGUFFile(path: try write(GGUFBuilder(metadata: [("deep", inner[0])]), "ok.gguf")))
    }

    func testBoolOtherThanZeroOrOne() throws {
        var bytes = GGUFBuilder(metadata: [("flag", .bool(true))]).bytes()
        bytes[40] = 2     // counts end at 24, key "flag" at 32..<36, type at 36..<40, the bool at 40
        let path = try writeFile(bytes, to: dir.appendingPathComponent("bool.gguf"))
        assertModelFileError(.badMetadata, file: path, mentions: ["flag"]) { try GGUFFile(path: path) }
    }

    func testDuplicateMetadataKey() throws {
        try expect(.badMetadata, GGUFBuilder(metadata: [("a", .uint8(1)), ("a", .uint8(2))]), mentions: ["'a'"])
    }

    func testAlignmentNotAPowerOfTwo() throws {
        var b = validBuilder()
        b.metadata.append(("general.alignment", .uint32(48)))
        try expect(.badMetadata, b, mentions: ["general.alignment", "48"])
        b.metadata[b.metadata.count - 1] = ("general.alignment", .uint32(0))
        try expect(.badMetadata, b, mentions: ["general.alignment"])
    }

    func testAlignmentOfTheWrongType() throws {
        var b = validBuilder()
        b.metadata.append(("general.alignment", .string("32")))
        try expect(.badMetadata, b, mentions: ["general.alignment", "uint32"])
    }

    func testTooManyOrZeroDimensions() throws {
        var b = validBuilder()
        b.tensors[1] = GGUFTensorSpec(name: "five", typeID: 0, ne: [1, 1, 1, 1, 8], data: f32Bytes(Array(repeating: 0, count: 8)))
        try expect(.badHeader, b, mentions: ["'five'", "5 dimensions"])
        b.tensors[1] = GGUFTensorSpec(name: "none", typeID: 0, ne: [], data: [])
        try expect(.badHeader, b, mentions: ["'none'", "0 dimensions"])
    }

    func testZeroSizedDimension() throws {
        var b = validBuilder()
        b.tensors[1].ne = [8, 0]
        try expect(.badHeader, b, mentions: ["output_norm.weight", "dimension 0"])
    }

    func testDimensionsThatOverflow() throws {
        var b = validBuilder()
        b.tensors[1].ne = [1 << 32, 1 << 32]
        try expect(.badHeader, b, mentions: ["output_norm.weight", "overflow"])
        b.tensors[1].ne = [UInt64.max]
        try expect(.badHeader, b, mentions: ["output_norm.weight"])
    }

    func testUnknownGGMLType() throws {
        var b = validBuilder()
        b.tensors[2].typeID = 13
        try expect(.unknownDType, b, mentions: ["blk.0.attn_q.weight", "13", "Q5_K"])
        b.tensors[2].typeID = 99
        try expect(.unknownDType, b, mentions: ["blk.0.attn_q.weight", "99"])
    }

    func testQuantizedRowNotAWholeNumberOfBlocks() throws {
        var b = validBuilder()
        b.tensors[0].ne = [16, 4]
        try expect(.shapeMismatch, b, mentions: ["token_embd.weight", "16"])
    }

    func testTensorOffsetNotAligned() throws {
        var b = validBuilder()
        b.tensors[2].offset = 200
        try expect(.badHeader, b, mentions: ["blk.0.attn_q.weight", "200", "alignment"])
    }

    func testTensorOutsideTheFile() throws {
        var b = validBuilder()
        b.tensors[2].offset = 1 << 20
        try expect(.outOfRange, b, mentions: ["blk.0.attn_q.weight"])
        b.tensors[2].offset = UInt64.max - 31
        try expect(.outOfRange, b, mentions: ["blk.0.attn_q.weight"])
        b.tensors[2].offset = UInt64(Int.max) - 31 + 1     // offset + data start overflows Int
        b.tensors[2].offset! -= b.tensors[2].offset! % 32
        try expect(.outOfRange, b, mentions: ["blk.0.attn_q.weight"])
    }

    func testOverlappingTensors() throws {
        var b = validBuilder()
        b.tensors[1].offset = 64    // token_embd occupies [0, 68)
        try expect(.overlap, b, mentions: ["output_norm.weight", "token_embd.weight"])
        b.tensors[1].offset = 0     // same start
        try expect(.overlap, b, mentions: ["output_norm.weight", "token_embd.weight"])
    }

    func testDuplicateTensorName() throws {
        var b = validBuilder()
        b.tensors[2].name = "token_embd.weight"
        try expect(.badHeader, b, mentions: ["token_embd.weight", "twice"])
    }

    func testEmptyTensorName() throws {
        var b = validBuilder()
        b.tensors[1].name = ""
        try expect(.badHeader, b, mentions: ["empty name"])
    }

    func testInvalidUTF8Key() throws {
        var bytes = GGUFBuilder(metadata: [("kk", .uint8(1))]).bytes()
        bytes[32] = 0xFF
        let path = try writeFile(bytes, to: dir.appendingPathComponent("utf8.gguf"))
        assertModelFileError(.badMetadata, file: path, mentions: ["UTF-8"]) { try GGUFFile(path: path) }
    }

    func testMissingFileAndFolder() throws {
        let missing = dir.appendingPathComponent("nope.gguf").path
        assertModelFileError(.notFound, file: missing) { try GGUFFile(path: missing) }
        assertModelFileError(.unreadable, file: dir.path, mentions: ["not a regular file"]) { try GGUFFile(path: self.dir.path) }
    }
}
