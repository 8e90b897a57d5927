// The Q4_0 quantizer byte for byte against ggml's reference and gguf-py (Golden/q4_0-quantizer), and the converted-matrices view.
import Foundation
import XCTest
@testable import LlamaCore

final class Q4_0QuantizerTests: XCTestCase {
    let dir = repoRoot.appendingPathComponent("Golden/q4_0-quantizer")

    func bytes(_ name: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: dir.appendingPathComponent(name))) }

    /// Tools/fixtures/make_q4_0_fixture.py: edge-case and random blocks quantized by a transcription of
    /// ggml's quantize_row_q4_0_ref and by gguf-py 0.19.0; ours must equal ggml's everywhere and
    /// gguf-py's everywhere but its documented divergence (the d of all-zero blocks starting with −0).
    func testBitExactWithGGMLReferenceAndGGUFPy() throws {
        let raw = try bytes("input.f32")
        let values = raw.withUnsafeBytes { p in (0..<raw.count / 4).map { Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) } }
        let ggml = try bytes("ggml.q4_0"), gguf = try bytes("gguf.q4_0")
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("manifest.json"))) as! [String: Any]
        let names = manifest["blocks"] as! [String]
        let differences = (manifest["gguf_vs_ggml_differences"] as! [[String: Any]]).map { $0["byte"] as! Int }
        XCTAssertEqual(values.count, 32 * names.count)
        XCTAssertEqual(ggml.count, 18 * names.count)
        let ours = quantizeQ4_0(values)
        for (b, name) in names.enumerated() {
            XCTAssertEqual(Array(ours[18 * b..<18 * b + 18]), Array(ggml[18 * b..<18 * b + 18]), "block \(b) '\(name)' vs ggml")
        }
        for i in 0..<ours.count where !differences.contains(i) {
            XCTAssertEqual(ours[i], gguf[i], "byte \(i) (block \(i / 18) '\(names[i / 18])') vs gguf-py")
        }
        XCTAssertEqual(differences, [19, 37], "the fixture's documented divergences")
        for i in differences { XCTAssertEqual(ours[i], 0x80, "d = −0.0 as ggml stores it") }
        // The edge cases are in the fixture: d = inf, d = 65504, d = 0 with q spread, q = 15 by MIN.
        func d(_ block: String) -> UInt16 {
            let b = names.firstIndex(of: block)!
            return UInt16(ours[18 * b]) | UInt16(ours[18 * b + 1]) << 8
        }
        XCTAssertEqual(d("huge: d overflows f16 to inf"), 0xFC00)
        XCTAssertEqual(d("large: d = 65504 (f16 max)"), 0x7BFF)
        XCTAssertEqual(d("small: d rounds to f16 zero, q still spread") & 0x7FFF, 0)
        let tie = names.firstIndex(of: "tie +a first")!
        XCTAssertEqual(ours[18 * tie + 2] & 0x0F, 0, "the max maps to q = 0")
        XCTAssertEqual(ours[18 * tie + 3] & 0x0F, 15, "−max maps to 16.5, clamped to 15")
    }

    /// Dequantized, every value is within half a step d/2 of its input, except values of the other
    /// sign than the block's max with |x| ≥ 7.5·|d|: their q would be 16, clamped to 15, one step off.
    func testRoundTripWithinHalfAStep() {
        var rng = SplitMix64(seed: 9)
        let values = (0..<32 * 64).map { _ in Float(Double(rng.next() % 20001) / 10000 - 1) * 0.05 }
        let q = quantizeQ4_0(values)
        let back = q.withUnsafeBytes { dequantize($0, as: .q4_0) }
        var clamped = 0
        for b in 0..<64 {
            let block = Array(values[32 * b..<32 * b + 32])
            let d = f16ToFloat(UInt16(q[18 * b]) | UInt16(q[18 * b + 1]) << 8)
            let max = block.max { abs($0) < abs($1) }!
            XCTAssertEqual(back[32 * b + block.firstIndex(of: max)!], -8 * d, "the max is q = 0 exactly (up to d's f16 rounding)")
            for j in 0..<32 {
                let x = block[j]
                let clamp = (x < 0) != (max < 0) && abs(x) >= 7.5 * abs(d)
                if clamp { clamped += 1 }
                // plus d's f16 rounding (2⁻¹¹ relative) times |q − 8| ≤ 8
                let slack = (clamp ? abs(d) : abs(d) / 2) + 8 * abs(d) * 0x1p-11
                XCTAssertLessThanOrEqual(abs(back[32 * b + j] - x), slack, "block \(b) element \(j)")
            }
        }
        XCTAssertGreaterThan(clamped, 0, "the data exercises the clamp")
    }

    func testConvertedTensorsQuantizeMatricesOnceAndPassTheRestThrough() throws {
        let source = TensorDictionary(path: "<src>")
        var rng = SplitMix64(seed: 3)
        let w = (0..<64 * 96).map { _ in Float(Double(rng.next() % 1000) / 1000 - 0.5) }
        source.set("blk.0.attn_q.weight", shape: [64, 96], values: w)
        source.set("blk.0.attn_norm.weight", shape: [96], values: (0..<96).map { Float($0) })
        source.set("odd.weight", shape: [4, 20], values: [Float](repeating: 1, count: 80))
        let view = ConvertedTensors(source, matrices: .q4_0)
        XCTAssertEqual(view.info("blk.0.attn_q.weight")?.dtype, .q4_0)
        XCTAssertEqual(view.info("blk.0.attn_q.weight")?.shape, [64, 96])
        XCTAssertEqual(view.info("blk.0.attn_norm.weight")?.dtype, .f32, "1-D norm weights pass through")
        XCTAssertEqual(view.info("odd.weight")?.dtype, .f32, "rows that are not whole blocks pass through")
        let raw = try view.rawBytes("blk.0.attn_q.weight")
        XCTAssertEqual(Array(raw), quantizeQ4_0(w))
        XCTAssertEqual(try view.rawBytes("blk.0.attn_q.weight").baseAddress, raw.baseAddress, "converted once, kept")
        XCTAssertEqual(try view.floats("blk.0.attn_q.weight"), quantizeQ4_0(w).withUnsafeBytes { dequantize($0, as: .q4_0) })
        XCTAssertEqual(try view.floats("blk.0.attn_norm.weight"), (0..<96).map { Float($0) })
        // rows of the converted embedding read through the same bytes
        XCTAssertEqual(try view.floats("blk.0.attn_q.weight", rows: 2..<3), Array(try view.floats("blk.0.attn_q.weight")[192..<288]))
        XCTAssertThrowsError(try view.rawBytes("nope"))
        // bf16: rounded to nearest even
        let bf = ConvertedTensors(source, matrices: .bf16)
        XCTAssertEqual(try bf.floats("blk.0.attn_q.weight"), w.map(roundToBF16))
        // already Q4_0: passed through unconverted
        XCTAssertFalse(ConvertedTensors(view, matrices: .q4_0).isConverted(view.info("blk.0.attn_q.weight")!))
    }
}
