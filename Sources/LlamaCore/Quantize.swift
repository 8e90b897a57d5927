// fp32 → GGUF Q4_0 and Q4_1 blocks, as ggml's reference quantizers (quantize_row_q4_0_ref bit-exact, quantize_row_q4_1_ref).

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

/// Quantizes `values` (whole blocks of 32) into `out` (`values.count / 32 × 20` bytes) as ggml's
/// `quantize_row_q4_1_ref` does, per block of 32: `min`, `max` of the block (fp32); `d = (max − min) / 15`,
/// `id = d ≠ 0 ? 1/d : 0`; `q = min(15, trunc((x − min)·id + 0.5))`; stored: `d` and `min` as f16 (nearest even,
/// little-endian), then 16 bytes where byte j holds element j in its low nibble and j + 16 in its high nibble.
/// Dequantized: `q·d + m`. Used where a Q4_1 model's LM head is stored in another format (NPUBackend.deviceTensors).
public func quantizeQ4_1(_ values: UnsafeBufferPointer<Float>, into out: UnsafeMutableRawBufferPointer) {
    let blocks = values.count / 32
    precondition(values.count % 32 == 0 && out.count == blocks * 20, "Q4_1 takes whole blocks of 32 values into 20 bytes each")
    guard blocks > 0, let src = values.baseAddress, let dst = out.baseAddress else { return }
    for b in 0..<blocks {
        let x = src + b * 32
        var lo = Float.greatestFiniteMagnitude, hi = -Float.greatestFiniteMagnitude
        for j in 0..<32 {
            if x[j] < lo { lo = x[j] }
            if x[j] > hi { hi = x[j] }
        }
        let d = (hi - lo) / 15
        let id: Float = d != 0 ? 1 / d : 0
        let p = dst + b * 20
        p.storeBytes(of: floatToF16(d).littleEndian, as: UInt16.self)
        p.storeBytes(of: floatToF16(lo).littleEndian, toByteOffset: 2, as: UInt16.self)
        func q(_ v: Float) -> UInt8 {
            let s = (v - lo) * id + 0.5
            if s >= 15 { return 15 }
            return s > 0 ? UInt8(s) : 0   // trunc toward zero; NaN lands here as 0
        }
        for j in 0..<16 { p.storeBytes(of: q(x[j]) | q(x[j + 16]) << 4, toByteOffset: 4 + j, as: UInt8.self) }
    }
}

/// `values` (whole blocks of 32) as GGUF Q4_1 bytes.
public func quantizeQ4_1(_ values: [Float]) -> [UInt8] {
    precondition(values.count % 32 == 0, "Q4_1 takes whole blocks of 32 values")
    var out = [UInt8](repeating: 0, count: values.count / 32 * 20)
    values.withUnsafeBufferPointer { v in out.withUnsafeMutableBytes { quantizeQ4_1(v, into: $0) } }
    return out
}
