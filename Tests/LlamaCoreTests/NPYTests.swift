// .npy round trips and hostile .npy headers.
import XCTest
@testable import LlamaCore

final class NPYTests: XCTestCase {
    func testRoundTrip() throws {
        let a = NPYArray(shape: [2, 3], values: [1, -2, 3.5, .infinity, 0, 1e-30])
        let data = NPY.encode(a)
        XCTAssertEqual(data.prefix(6), Data([0x93] + Array("NUMPY".utf8)))
        XCTAssertEqual((data.count - 6 * 4) % 64, 0, "header padded to 64 bytes")
        XCTAssertEqual(try NPY.decode(data, file: "a.npy"), a)
        let v = NPYArray(shape: [4], values: [1, 2, 3, 4])
        XCTAssertEqual(try NPY.decode(NPY.encode(v), file: "v.npy"), v)
    }

    func testHostileHeaders() {
        let good = NPY.encode(NPYArray(shape: [2, 2], values: [1, 2, 3, 4]))
        for cut in [0, 5, 9, 20, good.count - 1] {
            XCTAssertThrowsError(try NPY.decode(good.prefix(cut), file: "x.npy"), "prefix \(cut)") {
                XCTAssertTrue("\($0)".hasPrefix("x.npy: "))
            }
        }
        func patched(_ from: String, _ to: String) -> Data {
            var bytes = [UInt8](good)
            let f = Array(from.utf8), t = Array(to.utf8)
            precondition(f.count == t.count)
            let at = (0...(bytes.count - f.count)).first { Array(bytes[$0..<$0 + f.count]) == f }!
            bytes.replaceSubrange(at..<at + f.count, with: t)
            return Data(bytes)
        }
        XCTAssertThrowsError(try NPY.decode(patched("<f4", "<f8"), file: "x.npy")) {
            XCTAssertEqual(($0 as? ModelFileError)?.kind, .unknownDType)
        }
        XCTAssertThrowsError(try NPY.decode(patched("(2, 2)", "(9, 9)"), file: "x.npy")) {
            XCTAssertEqual(($0 as? ModelFileError)?.kind, .shapeMismatch)
        }
        XCTAssertThrowsError(try NPY.decode(patched("False", "True "), file: "x.npy")) {
            XCTAssertEqual(($0 as? ModelFileError)?.kind, .badHeader)
        }
    }

    func testMetricsOnKnownValues() {
        let m = ErrorMetrics(expected: [1, 2, 2], actual: [1, 2, 3])
        XCTAssertEqual(m.nmse, 1.0 / 9, accuracy: 1e-15)
        XCTAssertEqual(m.maxAbs, 1)
        XCTAssertEqual(m.maxAbsIndex, 2)
        XCTAssertEqual(m.cosine, 11 / (3 * 14.0.squareRoot()), accuracy: 1e-12)
        XCTAssertEqual(ErrorMetrics(expected: [1, 2], actual: [.nan, 2]).nonFinite, 1)
        let kl = klDivergence(expectedLogits: [0, 0][...], actualLogits: [0, Float(log(3.0))][...])
        // P = (1/2, 1/2), Q = (1/4, 3/4): KL = ½ln2 + ½ln(2/3)
        XCTAssertEqual(kl, 0.5 * log(2.0) + 0.5 * log(2.0 / 3), accuracy: 1e-7)
    }
}
