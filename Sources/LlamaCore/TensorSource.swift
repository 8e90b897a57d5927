// The common view of a weight file (safetensors, GGUF): named tensors in canonical names.

/// Metadata of one stored tensor. `shape` is row-major, outermost first (PyTorch order):
/// a projection weight is (out, in) whatever the file's own dimension order.
public struct TensorInfo: Sendable, Equatable {
    public var name: String
    public var dtype: DType
    public var shape: [Int]
    public var elementCount: Int { shape.reduce(1, *) }
    public init(name: String, dtype: DType, shape: [Int]) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
    }
}

/// A set of named tensors, already mapped to canonical (llama.cpp / GGUF) names:
/// `token_embd.weight`, `blk.N.attn_norm.weight`, `blk.N.attn_q.weight`, `blk.N.attn_k.weight`,
/// `blk.N.attn_v.weight`, `blk.N.attn_output.weight`, `blk.N.ffn_norm.weight`,
/// `blk.N.ffn_gate.weight`, `blk.N.ffn_up.weight`, `blk.N.ffn_down.weight`,
/// `output_norm.weight`, `output.weight` (absent when tied).
public protocol TensorSource: AnyObject {
    /// Path of the file (or folder) the tensors come from, for error messages.
    var path: String { get }
    /// Canonical names of all tensors, sorted.
    var tensorNames: [String] { get }
    func info(_ name: String) -> TensorInfo?
    /// The raw stored bytes of a tensor (valid while the source lives).
    func rawBytes(_ name: String) throws -> UnsafeRawBufferPointer
    /// The tensor dequantized/converted to fp32, row-major in `info.shape` order, exactly as its
    /// format defines the conversion.
    func floats(_ name: String) throws -> [Float]
}
