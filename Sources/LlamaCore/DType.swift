// Element types of stored tensors, and exact conversions between bf16/f16 and fp32.

/// Element type of a stored tensor. Quantized types are block formats as GGUF defines them.
public enum DType: String, Sendable, CaseIterable, Codable {
    case f32 = "F32"
    case f16 = "F16"
    case bf16 = "BF16"
    case q8_0 = "Q8_0"
    case q4_0 = "Q4_0"
    case q4_1 = "Q4_1"
    case q5_0 = "Q5_0"
    case q4_K = "Q4_K"
    case q6_K = "Q6_K"

    /// Elements per block (1 for plain types).
    public var blockSize: Int {
        switch self {
        case .f32, .f16, .bf16: return 1
        case .q8_0, .q4_0, .q4_1, .q5_0: return 32
        case .q4_K, .q6_K: return 256   // ggml's QK_K super-blocks
        }
    }

    /// Bytes per block.
    public var blockBytes: Int {
        switch self {
        case .f32: return 4
        case .f16, .bf16: return 2
        case .q8_0: return 2 + 32        // f16 scale, 32 × int8
        case .q4_0: return 2 + 16        // f16 scale, 32 × 4-bit
        case .q4_1: return 2 + 2 + 16    // f16 scale, f16 min, 32 × 4-bit
        case .q5_0: return 2 + 4 + 16    // f16 scale, 32 fifth bits, 32 × 4-bit
        case .q4_K: return 2 + 2 + 12 + 128  // f16 d, f16 dmin, 8 × (6-bit scale, 6-bit min), 256 × 4-bit
        case .q6_K: return 128 + 64 + 16 + 2 // 256 × low 4 bits, 256 × high 2 bits, 16 × int8 scale, f16 d
        }
    }

    /// Bytes needed for `count` elements, or nil when `count` is not a whole number of blocks
    /// or the size overflows.
    public func byteCount(elements count: Int) -> Int? {
        guard count >= 0, count % blockSize == 0 else { return nil }
        let (bytes, overflow) = (count / blockSize).multipliedReportingOverflow(by: blockBytes)
        return overflow ? nil : bytes
    }
}

/// bf16 → fp32 is exact: bf16 is the top half of an fp32.
@inline(__always)
public func bf16ToFloat(_ bits: UInt16) -> Float {
    Float(bitPattern: UInt32(bits) << 16)
}

/// fp32 → bf16 with round-to-nearest-even (NaN stays NaN, quietened).
@inline(__always)
public func floatToBF16(_ value: Float) -> UInt16 {
    let bits = value.bitPattern
    if value.isNaN { return UInt16(truncatingIfNeeded: (bits >> 16) | 0x0040) }
    let rounding = UInt32(0x7FFF) + ((bits >> 16) & 1)
    return UInt16(truncatingIfNeeded: (bits &+ rounding) >> 16)
}

/// fp32 → bf16 by truncation (the AIE core's default "floor" rounding mode on bit patterns).
@inline(__always)
public func floatToBF16Truncating(_ value: Float) -> UInt16 {
    UInt16(truncatingIfNeeded: value.bitPattern >> 16)
}

/// Rounds an fp32 to the nearest bf16 value and back (what a kernel sees of a bf16 input).
@inline(__always)
public func roundToBF16(_ value: Float) -> Float { bf16ToFloat(floatToBF16(value)) }

/// IEEE half → fp32, exact (subnormals, infinities and NaN included).
@inline(__always)
public func f16ToFloat(_ bits: UInt16) -> Float {
    Float(Float16(bitPattern: bits))
}

/// fp32 → IEEE half, round-to-nearest-even.
@inline(__always)
public func floatToF16(_ value: Float) -> UInt16 {
    Float16(value).bitPattern
}
