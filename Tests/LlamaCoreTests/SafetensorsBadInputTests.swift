// Hostile and broken safetensors files and model folders: exact ModelFileError kinds naming the file.

import Foundation
import XCTest
@testable import LlamaCore

final class SafetensorsBadInputTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws { dir = try makeTempDir(self) }

    private func write(_ bytes: [UInt8], _ name: String = "bad.safetensors") throws -> String {
        try writeFile(bytes, to: dir.appendingPathComponent(name))
    }

    /// A file whose header is `json` verbatim, followed by `dataBytes` zero bytes.
    private func expect(_ kind: ModelFileError.Kind, header json: String, dataBytes: Int = 16,
                        mentions: [String] = [], line: UInt = #line) throws {
        let path = try write(SafetensorsWriter.bytes(headerJSON: json, data: [UInt8](repeating: 0, count: dataBytes)))
        assertModelFileError(kind, file: path, mentions: mentions, { try SafetensorsFile(path: path) }, line: line)
    }

    private func entry(_ name: String, _ dtype: String = "F32", shape: String = "[2]", offsets: String = "[0,8]") -> String {
        #""\#(name)":{"dtype":"\#(dtype)","shape":\#(shape),"data_offsets":\#(offsets)}"#
    }

    static func validBytes() -> [UInt8] {
        SafetensorsWriter.bytes([
            SafetensorsTensorSpec(name: "w", dtype: "BF16", shape: [2, 2], data: u16Bytes([1, 2, 3, 4])),
            SafetensorsTensorSpec(name: "n", dtype: "F32", shape: [3], data: f32Bytes([1, 2, 3])),
        ], metadata: ["format": "pt"])
    }

    /// Every proper prefix fails: `.truncated` while the length or JSON header is cut, `.outOfRange`
    /// once only tensor data is missing.
    func testEveryPrefixOfAValidFileIsRejected() throws {
        let full = Self.validBytes()
        let headerEnd = 8 + Int(full[0]) + Int(full[1]) << 8
        let url = dir.appendingPathComponent("prefix.safetensors")
        for n in 0 ..< full.count {
            let path = try writeFile(Array(full[..<n]), to: url)
            let kind: ModelFileError.Kind = n < headerEnd ? .truncated : .outOfRange
            assertModelFileError(kind, file: path, { try SafetensorsFile(path: path) })
        }
        XCTAssertEqual(try SafetensorsFile(path: try writeFile(full, to: url)).tensorNames, ["n", "w"])
    }

    func testHeaderLengthBeyondTheFile() throws {
        var bytes = Self.validBytes()
        bytes.replaceSubrange(0 ..< 8, with: withUnsafeBytes(of: UInt64(bytes.count).littleEndian) { Array($0) })
        let path = try write(bytes)
        assertModelFileError(.truncated, file: path, mentions: ["header length \(bytes.count)"]) { try SafetensorsFile(path: path) }
    }

    func testAbsurdHeaderLength() throws {
        var bytes = Self.validBytes()
        bytes.replaceSubrange(0 ..< 8, with: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
        let path = try write(bytes)
        assertModelFileError(.badHeader, file: path, mentions: ["header length"]) { try SafetensorsFile(path: path) }
    }

    func testHeaderTooShortOrNotJSON() throws {
        let path = try write([1, 0, 0, 0, 0, 0, 0, 0, UInt8(ascii: "{")])
        assertModelFileError(.badHeader, file: path) { try SafetensorsFile(path: path) }
        try expect(.badHeader, header: "[1, 2, 3]", mentions: ["'{'"])
        try expect(.badHeader, header: #"{"a": }"#, mentions: ["not valid JSON"])
        try expect(.badHeader, header: #"{"a": 1"#, mentions: ["not valid JSON"])
        // Invalid UTF-8 inside the JSON.
        var bytes = SafetensorsWriter.bytes(headerJSON: #"{"__metadata__":{"k":"ab"}}"#, data: [])
        bytes[8 + 22] = 0xFF
        let p2 = try write(bytes, "utf8.safetensors")
        assertModelFileError(.badHeader, file: p2) { try SafetensorsFile(path: p2) }
    }

    func testDeeplyNestedJSONIsAnErrorNotAStackOverflow() throws {
        let depth = 200_000
        try expect(.badHeader, header: "{\"a\":" + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "}")
    }

    func testGGUFIsNotSafetensors() throws {
        let path = try write(GGUFBuilder(metadata: [("a", .uint8(1))]).bytes())
        XCTAssertThrowsError(try SafetensorsFile(path: path)) { error in
            let e = error as? ModelFileError
            XCTAssertTrue(e?.kind == .badHeader || e?.kind == .truncated, "\(error)")
            XCTAssertEqual(e?.file, path)
        }
    }

    func testTensorOffsetsOutOfRange() throws {
        try expect(.outOfRange, header: "{\(entry("t", offsets: "[16,24]"))}", dataBytes: 16, mentions: ["'t'", "[16, 24]"])
        try expect(.outOfRange, header: "{\(entry("t", offsets: "[0,8]"))}", dataBytes: 7, mentions: ["'t'"])
        try expect(.outOfRange, header: "{\(entry("t", shape: "[0]", offsets: "[17,17]"))}", dataBytes: 16, mentions: ["'t'"])
    }

    func testOverlappingTensors() throws {
        try expect(.overlap, header: "{\(entry("a", offsets: "[0,8]")),\(entry("b", offsets: "[4,12]"))}",
                   mentions: ["'a'", "'b'"])
        try expect(.overlap, header: "{\(entry("a", offsets: "[0,8]")),\(entry("b", offsets: "[0,8]"))}",
                   mentions: ["'a'", "'b'"])
        // Touching is fine; so is a zero-size tensor anywhere.
        let path = try write(SafetensorsWriter.bytes(
            headerJSON: "{\(entry("a", offsets: "[0,8]")),\(entry("b", offsets: "[8,16]")),\(entry("c", shape: "[0]", offsets: "[4,4]"))}",
            data: [UInt8](repeating: 0, count: 16)))
        XCTAssertEqual(try SafetensorsFile(path: path).tensorNames, ["a", "b", "c"])
    }

    func testUnknownDTypes() throws {
        for dtype in ["I64", "F8_E4M3", "BOOL", "F64", "Q8_0", "f32", ""] {
            try expect(.unknownDType, header: "{\(entry("model.layers.0.mlp.up_proj.weight", dtype))}",
                       mentions: ["model.layers.0.mlp.up_proj.weight", "'\(dtype)'"])
        }
    }

    func testShapeDisagreesWithByteSize() throws {
        try expect(.shapeMismatch, header: "{\(entry("t", shape: "[3]", offsets: "[0,8]"))}", mentions: ["'t'", "[3]"])
        try expect(.shapeMismatch, header: "{\(entry("t", "BF16", shape: "[2]", offsets: "[0,8]"))}", mentions: ["'t'"])
    }

    func testMissingKeys() throws {
        try expect(.missingKey, header: #"{"t":{"shape":[2],"data_offsets":[0,8]}}"#, mentions: ["'t'", "'dtype'"])
        try expect(.missingKey, header: #"{"t":{"dtype":"F32","data_offsets":[0,8]}}"#, mentions: ["'t'", "'shape'"])
        try expect(.missingKey, header: #"{"t":{"dtype":"F32","shape":[2]}}"#, mentions: ["'t'", "'data_offsets'"])
    }

    func testValuesOfTheWrongType() throws {
        try expect(.badHeader, header: #"{"t": [1, 2]}"#, mentions: ["'t'", "an array"])
        try expect(.badValue, header: #"{"t":{"dtype":5,"shape":[2],"data_offsets":[0,8]}}"#, mentions: ["'t'", "'dtype'"])
        try expect(.badValue, header: "{\(entry("t", shape: #""2""#))}", mentions: ["'t'", "'shape'", "a string"])
        try expect(.badValue, header: "{\(entry("t", shape: "[true, 2]"))}", mentions: ["'t'", "'shape'", "a boolean"])
        try expect(.badValue, header: "{\(entry("t", shape: "[2.0]"))}", mentions: ["'t'", "'shape'"])
        try expect(.badValue, header: "{\(entry("t", shape: "[-2]"))}", mentions: ["'t'", "'shape'"])
        try expect(.badValue, header: "{\(entry("t", shape: "[null]"))}", mentions: ["'t'", "'shape'", "null"])
        try expect(.badValue, header: "{\(entry("t", shape: "[4294967296, 4294967296]"))}", mentions: ["'t'", "overflow"])
        try expect(.badValue, header: "{\(entry("t", shape: "[1e300]"))}", mentions: ["'t'", "'shape'"])
        try expect(.badValue, header: "{\(entry("t", shape: "[18446744073709551616]"))}", mentions: ["'t'", "'shape'"])
        try expect(.badValue, header: "{\(entry("t", offsets: "[0]"))}", mentions: ["'t'", "'data_offsets'"])
        try expect(.badValue, header: "{\(entry("t", offsets: "[8,0]"))}", mentions: ["'t'", "'data_offsets'"])
        try expect(.badValue, header: "{\(entry("t", offsets: "[-8,0]"))}", mentions: ["'t'", "'data_offsets'"])
        try expect(.badValue, header: "{\(entry("t", offsets: #""0,8""#))}", mentions: ["'t'", "'data_offsets'"])
        try expect(.badValue, header: "{\(entry("t", offsets: "[0,8,16]"))}", mentions: ["'t'", "'data_offsets'"])
        try expect(.badMetadata, header: #"{"__metadata__":{"format":1}}"#, mentions: ["'__metadata__.format'", "an integer"])
        try expect(.badMetadata, header: #"{"__metadata__":"pt"}"#, mentions: ["'__metadata__'"])
        try expect(.badHeader, header: "{\(entry("", offsets: "[0,8]"))}", mentions: ["empty name"])
    }

    // MARK: - Model folders

    private func writeShardedModel(map: [String: Any], shards: [String: [SafetensorsTensorSpec]]) throws -> String {
        for (name, specs) in shards {
            try writeFile(SafetensorsWriter.bytes(specs), to: dir.appendingPathComponent(name))
        }
        let json = try JSONSerialization.data(withJSONObject: ["weight_map": map])
        try json.write(to: dir.appendingPathComponent("model.safetensors.index.json"))
        return dir.path
    }

    private static let norm = SafetensorsTensorSpec(name: "model.norm.weight", dtype: "F32", shape: [2], data: f32Bytes([1, 2]))
    private static let embed = SafetensorsTensorSpec(name: "model.embed_tokens.weight", dtype: "F32", shape: [1, 2], data: f32Bytes([3, 4]))

    func testMissingShard() throws {
        let folder = try writeShardedModel(
            map: ["model.norm.weight": "model-00001-of-00002.safetensors", "model.embed_tokens.weight": "model-00002-of-00002.safetensors"],
            shards: ["model-00001-of-00002.safetensors": [Self.norm]])
        let shard = dir.appendingPathComponent("model-00002-of-00002.safetensors").path
        assertModelFileError(.notFound, file: shard, mentions: ["model-00002-of-00002.safetensors"]) { try SafetensorsModel(path: folder) }
    }

    func testTensorListedInTheIndexButAbsentFromItsShard() throws {
        let folder = try writeShardedModel(
            map: ["model.norm.weight": "a.safetensors", "model.embed_tokens.weight": "a.safetensors"],
            shards: ["a.safetensors": [Self.norm], "b.safetensors": [Self.embed]])
        let shard = dir.appendingPathComponent("a.safetensors").path
        assertModelFileError(.missingTensor, file: shard, mentions: ["model.embed_tokens.weight"]) { try SafetensorsModel(path: folder) }
    }

    func testBadIndexFiles() throws {
        let index = dir.appendingPathComponent("model.safetensors.index.json")
        try Data(#"{"metadata": {}}"#.utf8).write(to: index)
        assertModelFileError(.missingKey, file: index.path, mentions: ["'weight_map'"]) { try SafetensorsModel(path: self.dir.path) }
        try Data(#"{"weight_map": ["a"]}"#.utf8).write(to: index)
        assertModelFileError(.badValue, file: index.path, mentions: ["'weight_map'"]) { try SafetensorsModel(path: self.dir.path) }
        try Data(#"{"weight_map": {"model.norm.weight": 3}}"#.utf8).write(to: index)
        assertModelFileError(.badValue, file: index.path, mentions: ["model.norm.weight"]) { try SafetensorsModel(path: self.dir.path) }
        try Data(#"{"weight_map": {"model.norm.weight": "../../etc/passwd"}}"#.utf8).write(to: index)
        assertModelFileError(.badValue, file: index.path, mentions: ["model.norm.weight", "plain file name"]) { try SafetensorsModel(path: self.dir.path) }
        try Data(#"{"weight_map": {}}"#.utf8).write(to: index)
        assertModelFileError(.badValue, file: index.path, mentions: ["empty"]) { try SafetensorsModel(path: self.dir.path) }
        try Data("not json".utf8).write(to: index)
        assertModelFileError(.badHeader, file: index.path) { try SafetensorsModel(path: self.dir.path) }
    }

    func testFolderWithoutWeights() throws {
        assertModelFileError(.notFound, file: dir.path, mentions: ["model.safetensors"]) { try SafetensorsModel(path: self.dir.path) }
        let missing = dir.appendingPathComponent("nope").path
        assertModelFileError(.notFound, file: missing) { try SafetensorsModel(path: missing) }
    }

    func testTwoTensorsWithTheSameCanonicalName() throws {
        let clash = SafetensorsTensorSpec(name: "output_norm.weight", dtype: "F32", shape: [2], data: f32Bytes([5, 6]))
        try writeFile(SafetensorsWriter.bytes([Self.norm, clash]), to: dir.appendingPathComponent("model.safetensors"))
        assertModelFileError(.inconsistent, file: dir.path, mentions: ["model.norm.weight", "output_norm.weight"]) {
            try SafetensorsModel(path: self.dir.path)
        }
    }

    func testShardErrorsNameTheShard() throws {
        let folder = try writeShardedModel(map: ["model.norm.weight": "s.safetensors"], shards: [:])
        let shard = dir.appendingPathComponent("s.safetensors")
        try writeFile(Array(SafetensorsWriter.bytes([Self.norm]).dropLast()), to: shard)
        assertModelFileError(.outOfRange, file: shard.path, mentions: ["model.norm.weight"]) { try SafetensorsModel(path: folder) }
    }
}
