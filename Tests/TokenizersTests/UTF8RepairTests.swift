// Lossy UTF-8 decoding against Python's bytes.decode("utf-8", "replace"), and the held-back tail.
import XCTest
@testable import Tokenizers

final class UTF8RepairTests: XCTestCase {
    func testMatchesPythonReplace() throws {
        let cases = try Golden.json("corpus.json")["utf8_lossy"] as! [[String: String]]
        XCTAssertFalse(cases.isEmpty)
        for c in cases {
            let bytes = c["hex"]!.split(separator: " ").map { UInt8($0, radix: 16)! }
            XCTAssertEqual(UTF8Repair.decode(bytes), c["text"], c["hex"]!)
        }
    }

    func testIncompleteTail() {
        func tail(_ b: [UInt8]) -> Int { b.withUnsafeBufferPointer { UTF8Repair.incompleteTailLength($0) } }
        XCTAssertEqual(tail([0x41, 0xF0, 0x9F, 0xA6]), 3)
        XCTAssertEqual(tail([0xE2, 0x82]), 2)
        XCTAssertEqual(tail([0xE2, 0x82, 0xAC]), 0)
        XCTAssertEqual(tail([0xED, 0xA0]), 0)   // surrogate: invalid, not incomplete
        XCTAssertEqual(tail([0xF0, 0x9F, 0xE2]), 1)
        XCTAssertEqual(tail([0xFF]), 0)
        XCTAssertEqual(tail([]), 0)
    }

    /// Any split point: decode(prefix minus held tail) + decode(rest) == decode(all).
    func testSplittingNeverChangesTheText() {
        var rng = SplitMix64(seed: 7)
        let alphabet: [UInt8] = [0x41, 0x80, 0xBF, 0xC2, 0xC3, 0xA9, 0xE0, 0xA0, 0xE2, 0x82, 0xAC, 0xED, 0x9F,
                                 0xF0, 0x90, 0x9F, 0xA6, 0x99, 0xF4, 0x8F, 0xF5, 0xFF]
        for _ in 0..<2000 {
            let bytes = (0..<Int(rng.next() % 10)).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }
            let cut = bytes.isEmpty ? 0 : Int(rng.next() % UInt64(bytes.count + 1))
            let head = Array(bytes[..<cut])
            let keep = head.withUnsafeBufferPointer { UTF8Repair.incompleteTailLength($0) }
            let left = UTF8Repair.decode(Array(head.dropLast(keep)))
            let right = UTF8Repair.decode(Array(head.suffix(keep)) + bytes[cut...])
            XCTAssertEqual(left + right, UTF8Repair.decode(bytes), "\(bytes) cut \(cut)")
        }
    }
}
