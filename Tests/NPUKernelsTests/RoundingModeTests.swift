// The emulated rounding register: floor (toward −inf, aie_types.hpp) at power-on, conv_even when a kernel asks, and kernels independent of the power-on value.
import LlamaCore
import NPUKernels
import XCTest

final class RoundingModeTests: KernelTestCase {
    override func tearDown() { npuk_set_power_on_rounding(0) }

    func testKernelsSetTheirOwnRoundingWhateverThePowerOnMode() {
        let (m, k) = (128, 256)
        let w = BF16Tensor(count: m * k, seed: 81, scale: 0.1), x = BF16Tensor(count: k, seed: 82)
        var yFloor = [UInt16](repeating: 0, count: m), yEven = yFloor
        npuk_set_power_on_rounding(0)
        XCTAssertOK(npuk_gemv_bf16(w.bits, x.bits, &yFloor, Int32(m), Int32(k), 64, 64, 4), "floor")
        npuk_set_power_on_rounding(1)
        XCTAssertOK(npuk_gemv_bf16(w.bits, x.bits, &yEven, Int32(m), Int32(k), 64, 64, 4), "conv_even")
        XCTAssertEqual(yFloor, yEven)
    }

    func testGemvOutputIsRoundedToNearestEvenNotTruncated() {
        // With x = e_j the output is a single weight times 1 plus zeros: exact in fp32. Use a sum
        // that is not representable in bf16 instead: w row = [1, 1.5·2^-8], x = [1, 1].
        var w = [UInt16](repeating: 0, count: 32 * 64), x = [UInt16](repeating: 0, count: 64)
        w[0] = floatToBF16(1); w[1] = floatToBF16(0x1.8p-8)
        x[0] = floatToBF16(1); x[1] = floatToBF16(1)
        var y = [UInt16](repeating: 0, count: 32)
        XCTAssertOK(npuk_gemv_bf16(w, x, &y, 32, 64, 32, 64, 1), "gemv")
        let exact: Float = 1 + 0x1.8p-8
        XCTAssertEqual(y[0], floatToBF16(exact))               // 0.75 ulp above 1: nearest is 1 + 2^-7
        XCTAssertNotEqual(y[0], floatToBF16Truncating(exact))  // truncation would give 1.0
    }
}
