// Test helpers: repository paths, temp dirs, a seeded PRNG, error assertions and little-endian byte building.

import Foundation
import XCTest
@testable import LlamaCore

/// The repository root, found from this file's path (tests have no resources).
let repoRoot: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// A fresh temporary folder, removed when the test ends.
func makeTempDir(_ test: XCTestCase) throws -> URL {
    let dir = FileManager.default.temporaryDirectory
        .appendingPathComponent("npullama-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
    return dir
}

@discardableResult
func writeFile(_ bytes: [UInt8], to url: URL) throws -> String {
    try Data(bytes).write(to: url)
    return url.path
}

/// SplitMix64: small, seeded, the same everywhere.
struct SplitMix64: RandomNumberGenerator {
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

/// Asserts that `body` throws a `ModelFileError` of `kind` whose file is `file` (when given) and
/// whose description names that file and contains every string of `mentions`.
func assertModelFileError<T>(_ kind: ModelFileError.Kind, file: String? = nil, mentions: [String] = [],
                             _ body: () throws -> T,
                             sourceFile: StaticString = #filePath, line: UInt = #line) {
    do {
        _ = try body()
        XCTFail("expected ModelFileError.\(kind), nothing was thrown", file: sourceFile, line: line)
    } catch let e as ModelFileError {
        XCTAssertEqual(e.kind, kind, "wrong kind; error: \(e)", file: sourceFile, line: line)
        if let file {
            XCTAssertEqual(e.file, file, file: sourceFile, line: line)
            XCTAssertTrue(e.description.contains(file), "\(e) does not name \(file)", file: sourceFile, line: line)
        }
        for m in mentions {
            XCTAssertTrue(e.description.contains(m), "\(e) does not mention '\(m)'", file: sourceFile, line: line)
        }
    } catch {
        XCTFail("expected ModelFileError.\(kind), got \(error)", file: sourceFile, line: line)
    }
}

/// Appends little-endian values to a byte array.
struct LEBytes {
    var bytes: [UInt8] = []
    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { append(v) }
    mutating func u32(_ v: UInt32) { append(v) }
    mutating func u64(_ v: UInt64) { append(v) }
    mutating func f32(_ v: Float) { append(v.bitPattern) }
    mutating func f64(_ v: Double) { append(v.bitPattern) }
    mutating func raw(_ b: [UInt8]) { bytes += b }
    mutating func pad(to alignment: Int) { while bytes.count % alignment != 0 { bytes.append(0) } }
    private mutating func append<T: FixedWidthInteger>(_ v: T) {
        withUnsafeBytes(of: v.littleEndian) { bytes += $0 }
    }
}

/// The bytes of a Float array, little-endian.
func f32Bytes(_ values: [Float]) -> [UInt8] {
    var b = LEBytes()
    for v in values { b.f32(v) }
    return b.bytes
}

func u16Bytes(_ values: [UInt16]) -> [UInt8] {
    var b = LEBytes()
    for v in values { b.u16(v) }
    return b.bytes
}

/// Little-endian f32 values from a file.
func readF32File(_ url: URL) throws -> [Float] {
    let data = try Data(contentsOf: url)
    return data.withUnsafeBytes { raw in
        (0 ..< raw.count / 4).map {
            Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self)))
        }
    }
}

/// Element-wise bit-pattern equality (so NaNs compare and -0 ≠ +0); reports the first difference.
func assertBitEqual(_ actual: [Float], _ expected: [Float], _ what: String,
                    file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.count, expected.count, "\(what): count", file: file, line: line)
    for i in 0 ..< min(actual.count, expected.count) where actual[i].bitPattern != expected[i].bitPattern {
        XCTFail("\(what)[\(i)]: \(actual[i]) (0x\(String(actual[i].bitPattern, radix: 16))) ≠ expected \(expected[i]) (0x\(String(expected[i].bitPattern, radix: 16)))",
                file: file, line: line)
        return
    }
}
