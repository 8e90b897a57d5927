// Shared helpers of the kernel tests: bf16/Q4_1/Q4_0 test data, the reference comparison against ToleranceTable, metric lines.
import Foundation
import LlamaCore
import NPUKernels
import ReferenceBackend
import XCTest

/// A bf16 tensor as the kernels see it (bits) and as the reference sees it (the same values in fp32).
struct BF16Tensor {
    var bits: [UInt16]
    var floats: [Float]

    init(count: Int, seed: UInt64, scale: Float = 1, offset: Float = 0) {
        var rng = SplitMix64(seed: seed)
        bits = (0..<count).map { _ in floatToBF16(Float(rng.nextUnit() * 2 - 1) * scale + offset) }
        floats = bits.map(bf16ToFloat)
    }

    init(bits: [UInt16]) {
        self.bits = bits
        floats = bits.map(bf16ToFloat)
    }
}

/// Random GGUF Q4_1 rows (rows × k/32 blocks of 20 bytes) with scales and minimums like real
/// weights (d ≈ 0.002–0.02, m ≈ −8d), and their GGUF dequantization via LlamaCore.dequantize.
struct Q4Weights {
    var bytes: [UInt8]
    var floats: [Float]

    init(rows: Int, k: Int, seed: UInt64) {
        precondition(k % 32 == 0)
        var rng = SplitMix64(seed: seed)
        var out: [UInt8] = []
        out.reserveCapacity(rows * k / 32 * 20)
        for _ in 0..<(rows * k / 32) {
            let d = Float(0.002 + 0.018 * rng.nextUnit())
            let m = -d * Float(8 + 2 * (rng.nextUnit() - 0.5))
            for h in [floatToF16(d), floatToF16(m)] { out += [UInt8(h & 0xFF), UInt8(h >> 8)] }
            for _ in 0..<16 { out.append(UInt8(truncatingIfNeeded: rng.next())) }
        }
        bytes = out
        floats = out.withUnsafeBytes { dequantize($0, as: .q4_1) }
    }
}

/// GGUF Q4_0 rows (rows × k/32 blocks of 18 bytes) made by LlamaCore.quantizeQ4_0 from random weights
/// with a per-block spread like real weights (|d| ≈ 0.001–0.01, either sign), and their dequantization.
struct Q4_0Weights {
    var bytes: [UInt8]
    var floats: [Float]

    init(rows: Int, k: Int, seed: UInt64) {
        precondition(k % 32 == 0)
        var rng = SplitMix64(seed: seed)
        var values = [Float](repeating: 0, count: rows * k)
        for b in 0..<(rows * k / 32) {
            let spread = Float(0.01 + 0.07 * rng.nextUnit())
            for j in 0..<32 { values[b * 32 + j] = spread * Float(rng.nextUnit() * 2 - 1) }
        }
        bytes = quantizeQ4_0(values)
        floats = bytes.withUnsafeBytes { dequantize($0, as: .q4_0) }
    }
}

/// The weight formats of the fused layer-half drivers: their code (NPUK_WEIGHTS_*) and tolerance dtype.
enum WeightFormat: CaseIterable {
    case bf16, q4_1, q4_0
    var code: Int32 {
        switch self {
        case .bf16: return Int32(NPUK_WEIGHTS_BF16)
        case .q4_1: return Int32(NPUK_WEIGHTS_Q4_1)
        case .q4_0: return Int32(NPUK_WEIGHTS_Q4_0)
        }
    }
    var dtype: String { "\(self)" }
}

/// Rounds fp32 values to bf16 bit patterns (nearest even), as the host uploads activations.
func bf16Bits(_ values: [Float]) -> [UInt16] { values.map(floatToBF16) }

/// One line per measurement, collected by `swift test --filter NPUKernelsTests 2>&1 | grep KERNEL-ERROR`.
func report(_ op: String, _ dtype: String, _ shape: String, _ m: ErrorMetrics, _ maxRef: Double) {
    print(String(format: "KERNEL-ERROR %-10@ %-5@ %-28@ nmse %.3e  max-abs %.3e  (max|ref| %.3g)",
                 op as NSString, dtype as NSString, shape as NSString, m.nmse, m.maxAbs, maxRef))
}

/// Asserts that `actual` (bf16 bits) is within ToleranceTable's bound for op/dtype of `expected`.
@discardableResult
func assertWithinTolerance(op: String, dtype: String, shape: String, expected: [Float], actual: [UInt16],
                           file: StaticString = #filePath, line: UInt = #line) -> ErrorMetrics {
    let got = actual.map(bf16ToFloat)
    let metrics = ErrorMetrics(expected: expected, actual: got)
    let maxRef = expected.reduce(0.0) { max($0, Double(abs($1))) }
    let bound = ToleranceTable.bound(op: op, dtype: dtype)
    report(op, dtype, shape, metrics, maxRef)
    XCTAssertEqual(metrics.nonFinite, 0, "\(op)/\(dtype) \(shape): non-finite outputs", file: file, line: line)
    XCTAssertLessThanOrEqual(metrics.nmse, bound.nmse, "\(op)/\(dtype) \(shape): \(metrics)", file: file, line: line)
    XCTAssertLessThanOrEqual(metrics.maxAbs, bound.maxAbsRelative * maxRef,
                             "\(op)/\(dtype) \(shape): \(metrics)", file: file, line: line)
    return metrics
}

/// fp32 reference y = W·x (ReferenceOps.matmul with one row).
func referenceGemv(weights: [Float], x: [Float], m: Int, k: Int) -> [Float] {
    var y = [Float](repeating: 0, count: m)
    ReferenceOps.matmul(x, rows: 1, inDim: k, weight: weights, outDim: m, into: &y)
    return y
}

func XCTAssertOK(_ status: Int32, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(Int(status), Int(NPUK_OK), "\(what) returned status \(status)", file: file, line: line)
}

/// Base of the kernel tests: after each test, no kernel made a misaligned vector access (the NPU's
/// load_v/store_v need the access size's alignment; the emulation counts every violation).
class KernelTestCase: XCTestCase {
    override func tearDown() {
        var bytes: Int32 = 0, remainder: Int32 = 0
        let misaligned = npuk_take_misaligned(&bytes, &remainder)
        XCTAssertEqual(misaligned, 0, "misaligned vector accesses (the first: \(bytes) bytes at an address ≡ \(remainder) mod \(min(bytes, 64)))")
        super.tearDown()
    }
}
