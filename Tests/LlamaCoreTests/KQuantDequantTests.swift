// Q5_0, Q4_K and Q6_K dequantization bit for bit against gguf-py (Golden/kquant-dequant), and their block sizes.
import Foundation
import XCTest
@testable import LlamaCore

final class KQuantDequantTests: XCTestCase {
    let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Golden/kquant-dequant")

    /// ggml-common.h: block_q5_0 22 bytes / 32, block_q4_K 144 / 256, block_q6_K 210 / 256; GGUF type ids 6, 12, 14.
    func testBlockShapesAndTypeIDs() {
        XCTAssertEqual([DType.q5_0, .q4_K, .q6_K].map(\.blockBytes), [22, 144, 210])
        XCTAssertEqual([DType.q5_0, .q4_K, .q6_K].map(\.blockSize), [32, 256, 256])
        XCTAssertEqual([DType.q5_0, .q4_K, .q6_K].map(\.ggmlType), [6, 12, 14])
        XCTAssertEqual([6, 12, 14].map { DType(ggmlType: $0) }, [.q5_0, .q4_K, .q6_K])
        XCTAssertNil(DType(ggmlType: 13), "Q5_K is still refused by name")
        XCTAssertEqual(DType.q4_K.byteCount(elements: 896), nil, "not a whole number of 256-element super-blocks")
        XCTAssertEqual(DType.q6_K.byteCount(elements: 4864 * 256), 4864 * 210)
    }

    func testMatchesGGUFPyBitForBit() throws {
        for (name, dtype) in [("q5_0", DType.q5_0), ("q4_K", .q4_K), ("q6_K", .q6_K)] {
            let raw = try Data(contentsOf: dir.appendingPathComponent("\(name).raw"))
            let expected = try Data(contentsOf: dir.appendingPathComponent("\(name).f32")).withUnsafeBytes {
                Array($0.bindMemory(to: UInt32.self)).map { Float(bitPattern: UInt32(littleEndian: $0)) }
            }
            let ours = raw.withUnsafeBytes { dequantize($0, as: dtype) }
            XCTAssertEqual(ours.count, expected.count, name)
            let differing = zip(ours, expected).enumerated().filter { $0.element.0.bitPattern != $0.element.1.bitPattern }
            XCTAssertTrue(differing.isEmpty, "\(name): \(differing.count) values differ, first at \(differing.first.map { "\($0.offset): \($0.element)" } ?? "")")
            // a truncated buffer yields only its whole blocks
            let partial = raw.prefix(dtype.blockBytes + 5).withUnsafeBytes { dequantize($0, as: dtype) }
            XCTAssertEqual(partial.count, dtype.blockSize, name)
        }
    }

    /// The same blocks as GGUF tensors (type ids 6, 12, 14; rows of 2 blocks), read back through GGUFFile; a row
    /// length that is not a whole number of 256-element super-blocks is refused by name.
    func testReadFromAGGUF() throws {
        var specs: [GGUFTensorSpec] = []
        var expected: [String: [Float]] = [:]
        for (name, dtype) in [("q5_0", DType.q5_0), ("q4_K", .q4_K), ("q6_K", .q6_K)] {
            let raw = [UInt8](try Data(contentsOf: dir.appendingPathComponent("\(name).raw")))
            let rows = raw.count / dtype.blockBytes / 2
            specs.append(GGUFTensorSpec(name: "t.\(name)", typeID: dtype.ggmlType, ne: [UInt64(2 * dtype.blockSize), UInt64(rows)],
                                        data: Array(raw.prefix(rows * 2 * dtype.blockBytes))))
            expected["t.\(name)"] = try Data(contentsOf: dir.appendingPathComponent("\(name).f32")).withUnsafeBytes {
                Array($0.bindMemory(to: UInt32.self).prefix(rows * 2 * dtype.blockSize)).map { Float(bitPattern: UInt32(littleEndian: $0)) }
            }
        }
        let tmp = try makeTempDir(self)
        let g = try GGUFFile(path: try writeFile(GGUFBuilder(metadata: [("general.architecture", .string("llama"))], tensors: specs).bytes(),
                                                 to: tmp.appendingPathComponent("k.gguf")))
        for spec in specs {
            XCTAssertEqual(try g.floats(spec.name).map(\.bitPattern), expected[spec.name]!.map(\.bitPattern), spec.name)
        }
        let bad = GGUFBuilder(tensors: [GGUFTensorSpec(name: "t.bad", typeID: 12, ne: [128, 1], data: [UInt8](repeating: 0, count: 72))])
        let path = try writeFile(bad.bytes(), to: tmp.appendingPathComponent("bad.gguf"))
        XCTAssertThrowsError(try GGUFFile(path: path)) { XCTAssertTrue("\($0)".contains("t.bad"), "\($0)") }
    }
}
