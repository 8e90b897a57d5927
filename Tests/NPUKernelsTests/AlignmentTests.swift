// The emulated cores' alignment rule: vector loads and stores need their access size's alignment, and every violation is counted.
import NPUKernels
import XCTest

final class AlignmentTests: XCTestCase {
    /// The emulation's alignment check: a 512-bit load_v wants a 64-byte aligned address.
    func testMisalignedVectorLoadsAreCounted() {
        XCTAssertEqual(npuk_probe_vector_load(64), 0)
        XCTAssertEqual(npuk_take_misaligned(nil, nil), 0)
        XCTAssertEqual(npuk_probe_vector_load(8), 0)
        var bytes: Int32 = 0, remainder: Int32 = 0
        XCTAssertEqual(npuk_take_misaligned(&bytes, &remainder), 1)
        XCTAssertEqual(bytes, 64)
        XCTAssertEqual(remainder, 8)
        XCTAssertEqual(npuk_take_misaligned(nil, nil), 0, "taking the count resets it")
    }
}
