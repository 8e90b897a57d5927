// A weight matrix kept in its stored (e.g. Q4_0) bytes, dequantized a row block at a time for the CPU reference.
import LlamaCore

/// A row-major matrix (rows, cols) in a stored format whose rows are whole blocks; valid while its source lives.
public struct PackedMatrix: @unchecked Sendable {
    public let bytes: UnsafeRawPointer
    public let dtype: DType
    public let rows: Int
    public let cols: Int
    /// Stored bytes of one row (cols / blockSize blocks).
    public let rowBytes: Int

    /// Rows `range` to fp32 into `out` (range.count, cols): the values `TensorSource.floats` gives for those rows.
    public func dequantize(rows range: Range<Int>, into out: UnsafeMutablePointer<Float>) {
        let raw = UnsafeRawBufferPointer(start: bytes + range.lowerBound * rowBytes, count: range.count * rowBytes)
        LlamaCore.dequantize(raw, as: dtype, into: UnsafeMutableBufferPointer(start: out, count: range.count * cols))
    }
}
