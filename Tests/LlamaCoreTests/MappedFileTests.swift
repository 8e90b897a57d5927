// MappedFile and ByteReader: little-endian reads, and errors instead of traps at every boundary.

import Foundation
import XCTest
@testable import LlamaCore

final class MappedFileTests: XCTestCase {
    func testLittleEndianReadsAndBounds() throws {
        let dir = try makeTempDir(self)
        var b = LEBytes()
        b.u16(0x1234); b.u32(0xDEAD_BEEF); b.u64(0x0102_0304_0506_0708); b.f32(-1.5); b.f64(0.1); b.u8(0xFF)
        let path = try writeFile(b.bytes, to: dir.appendingPathComponent("le.bin"))
        let f = try MappedFile(path: path)
        XCTAssertEqual(f.count, 27)
        XCTAssertEqual(try f.load(UInt16.self, at: 0), 0x1234)
        XCTAssertEqual(try f.load(UInt32.self, at: 2), 0xDEAD_BEEF)     // unaligned
        XCTAssertEqual(try f.load(UInt64.self, at: 6), 0x0102_0304_0506_0708)
        XCTAssertEqual(try f.loadFloat(at: 14), -1.5)
        XCTAssertEqual(try f.loadDouble(at: 18), 0.1)
        XCTAssertEqual(try f.load(Int8.self, at: 26), -1)

        var r = ByteReader(f)
        XCTAssertEqual(try r.u16(), 0x1234)
        XCTAssertEqual(try r.u32(), 0xDEAD_BEEF)
        XCTAssertEqual(try r.u64(), 0x0102_0304_0506_0708)
        XCTAssertEqual(try r.f32(), -1.5)
        XCTAssertEqual(try r.f64(), 0.1)
        XCTAssertEqual(r.remaining, 1)
        r.context = "the last field"
        assertModelFileError(.truncated, file: path, mentions: ["offset 26", "the last field"]) { try r.u16() }
        XCTAssertEqual(r.offset, 26, "a failed read does not move the cursor")
        XCTAssertEqual(try r.u8(), 0xFF)
        XCTAssertEqual(r.remaining, 0)
        assertModelFileError(.truncated, file: path) { try r.u8() }
        assertModelFileError(.truncated, file: path) { try r.bytes(1) }
        XCTAssertEqual(try r.bytes(0).count, 0)

        assertModelFileError(.truncated, file: path, mentions: ["offset 20"]) { try f.load(UInt64.self, at: 20) }
        assertModelFileError(.truncated, file: path) { try f.load(UInt8.self, at: -1) }
        assertModelFileError(.truncated, file: path) { try f.load(UInt8.self, at: Int.max) }
        XCTAssertEqual(Array(try f.slice(at: 25, length: 2)), [0x3F, 0xFF])
        assertModelFileError(.outOfRange, file: path, mentions: ["offset 26"]) { try f.slice(at: 26, length: 2) }
        assertModelFileError(.outOfRange, file: path) { try f.slice(at: 1, length: Int.max) }
        assertModelFileError(.outOfRange, file: path) { try f.slice(at: -1, length: 1) }
        XCTAssertTrue(f.contains(offset: 27, length: 0))
        XCTAssertFalse(f.contains(offset: 28, length: 0))
    }

    func testEmptyFileHasNoBytes() throws {
        let dir = try makeTempDir(self)
        let path = try writeFile([], to: dir.appendingPathComponent("empty"))
        let f = try MappedFile(path: path)
        XCTAssertEqual(f.count, 0)
        XCTAssertEqual(f.bytes.count, 0)
        XCTAssertEqual(try f.slice(at: 0, length: 0).count, 0)
        assertModelFileError(.truncated, file: path) { try f.load(UInt8.self, at: 0) }
    }

    func testMissingAndNonRegularFiles() throws {
        let dir = try makeTempDir(self)
        let missing = dir.appendingPathComponent("missing").path
        assertModelFileError(.notFound, file: missing) { try MappedFile(path: missing) }
        let under = dir.appendingPathComponent("missing/below").path
        assertModelFileError(.notFound, file: under) { try MappedFile(path: under) }
        assertModelFileError(.unreadable, file: dir.path) { try MappedFile(path: dir.path) }
    }
}
