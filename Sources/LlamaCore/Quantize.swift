// fp32 → GGUF Q4_0 blocks, bit-exact with ggml's reference quantizer (quantize_row_q4_0_ref).

/// Quantizes `values` (whole blocks of 32) into `out` (`values.count / 32 × 18` bytes) as ggml's
/// `quantize_row_q4_0_ref` does, per block of 32:
/// - `max` = the first value of largest magnitude, sign kept (+0 when every |value| is 0);
/// - `d = max / −8` and `id = d ≠ 0 ? 1/d : 0`, in fp32;
/// - `q = min(15, trunc(x·id + 8.5))`, one fp32 product and one fp32 sum (no fused multiply-add);
/// - stored: `d` as f16 (nearest even, little-endian), then 16 bytes where byte j holds element j in
///   its low nibble and element j + 16 in its high nibble. Dequantized: `(q − 8)·d`.
/// Finite inputs are exact; for NaN or ±inf, where ggml's conversion is undefined, q is clamped to 0…15.
public func quantizeQ4_0(_ values: UnsafeBufferPointer<Float>, into out: UnsafeMutableRawBufferPointer) {
    let blocks = values.count / 32
    precondition(values.count % 32 == 0 && out.count == blocks * 18, "Q4_0 takes whole blocks of 32 values into 18 bytes each")
    guard blocks > 0, let src = values.baseAddress, let dst = out.baseAddress else { return }
    for b in 0..<blocks {
        let x = src + b * 32
        var amax: Float = 0, max: Float = 0
        for j in 0..<32 where amax < abs(x[j]) {
            amax = abs(x[j])
            max = x[j]
        }
        let d = max / -8
        let id: Float = d != 0 ? 1 / d : 0
        let p = dst + b * 18
        p.storeBytes(of: floatToF16(d).littleEndian, as: UInt16.self)
        for j in 0..<16 {
            p.storeBytes(of: nibble(x[j], id) | nibble(x[j + 16], id) << 4, toByteOffset: 2 + j, as: UInt8.self)
        }
    }
}

/// ggml's `MIN(15, (int8_t)(x*id + 8.5f))`: the fp32 product is rounded before the sum, and the
/// conversion truncates toward zero. For finite x, x·id lies in [−8, 8], so the sum is in (0, 17).
@inline(__always)
private func nibble(_ x: Float, _ id: Float) -> UInt8 {
    let scaled = x * id
    let v = scaled + 8.5
    if v >= 15 { return 15 }
    return v > 0 ? UInt8(v) : 0   // UInt8(_:) truncates toward zero; NaN lands here as 0
}

/// `values` (whole blocks of 32) as GGUF Q4_0 bytes.
public func quantizeQ4_0(_ values: [Float]) -> [UInt8] {
    precondition(values.count % 32 == 0, "Q4_0 takes whole blocks of 32 values")
    var out = [UInt8](repeating: 0, count: values.count / 32 * 18)
    values.withUnsafeBufferPointer { v in out.withUnsafeMutableBytes { quantizeQ4_0(v, into: $0) } }
    return out
}
