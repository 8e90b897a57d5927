// ggml tensor type ids as stored in GGUF tensor infos, and their mapping to DType.

extension DType {
    /// The DType of a ggml type id (gguf `GGMLQuantizationType`), or nil when we do not support it.
    public init?(ggmlType id: UInt32) {
        switch id {
        case 0: self = .f32
        case 1: self = .f16
        case 2: self = .q4_0
        case 3: self = .q4_1
        case 6: self = .q5_0
        case 8: self = .q8_0
        case 12: self = .q4_K
        case 14: self = .q6_K
        case 30: self = .bf16
        default: return nil
        }
    }

    /// The ggml type id GGUF uses for this element type.
    public var ggmlType: UInt32 {
        switch self {
        case .f32: return 0
        case .f16: return 1
        case .q4_0: return 2
        case .q4_1: return 3
        case .q5_0: return 6
        case .q8_0: return 8
        case .q4_K: return 12
        case .q6_K: return 14
        case .bf16: return 30
        }
    }

    /// The ggml name of a type id we may not support (for error messages), nil when unknown.
    public static func ggmlTypeName(_ id: UInt32) -> String? {
        let names: [UInt32: String] = [
            0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 6: "Q5_0", 7: "Q5_1", 8: "Q8_0", 9: "Q8_1",
            10: "Q2_K", 11: "Q3_K", 12: "Q4_K", 13: "Q5_K", 14: "Q6_K", 15: "Q8_K",
            16: "IQ2_XXS", 17: "IQ2_XS", 18: "IQ3_XXS", 19: "IQ1_S", 20: "IQ4_NL", 21: "IQ3_S",
            22: "IQ2_S", 23: "IQ4_XS", 24: "I8", 25: "I16", 26: "I32", 27: "I64", 28: "F64",
            29: "IQ1_M", 30: "BF16", 34: "TQ1_0", 35: "TQ2_0", 39: "MXFP4",
        ]
        return names[id]
    }
}
