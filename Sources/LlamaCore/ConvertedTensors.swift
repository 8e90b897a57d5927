// A model's tensors with its weight matrices converted at load (GGUF Q4_0 by ggml's reference quantizer, or bf16), the same for every backend.
import Foundation

/// A view of `source` in which every weight matrix (a 2-D tensor whose rows are whole blocks of 32:
/// projections, the embedding, the LM head) is stored as `matrices`; norm weights and anything else
/// pass through. Each matrix is converted once, on first access, from the source's fp32 values
/// (`TensorSource.floats`, i.e. dequantized exactly when quantized), and kept. A matrix already
/// stored as `matrices` passes through unchanged, bytes and all.
///
/// Every backend reading this view sees the same converted weights: the CPU reference dequantizes
/// the Q4_0 blocks the NPU runs, so a comparison measures the kernels, not the conversion.
public final class ConvertedTensors: TensorSource, @unchecked Sendable {
    public let source: TensorSource
    /// `.q4_0` or `.bf16`.
    public let matrices: DType
    public let path: String
    private var converted: [String: UnsafeMutableRawBufferPointer] = [:]
    private let lock = NSLock()

    public init(_ source: TensorSource, matrices: DType) {
        precondition(matrices == .q4_0 || matrices == .bf16, "matrices convert to Q4_0 or bf16")
        self.source = source
        self.matrices = matrices
        path = source.path + " (matrices converted to \(matrices.rawValue) at load)"
    }

    deinit { for b in converted.values { b.deallocate() } }

    public var tensorNames: [String] { source.tensorNames }

    /// True for the tensors this view converts.
    public func isConverted(_ info: TensorInfo) -> Bool {
        info.shape.count == 2 && info.dtype != matrices && (info.shape.last ?? 0) % 32 == 0
    }

    public func info(_ name: String) -> TensorInfo? {
        guard var info = source.info(name) else { return nil }
        if isConverted(info) { info.dtype = matrices }
        return info
    }

    public func rawBytes(_ name: String) throws -> UnsafeRawBufferPointer {
        guard let stored = source.info(name) else {
            throw ModelFileError(.missingTensor, file: path, "no tensor named '\(name)'")
        }
        guard isConverted(stored) else { return try source.rawBytes(name) }
        return UnsafeRawBufferPointer(try convertedBytes(name, stored))
    }

    public func floats(_ name: String) throws -> [Float] {
        guard let stored = source.info(name) else {
            throw ModelFileError(.missingTensor, file: path, "no tensor named '\(name)'")
        }
        guard isConverted(stored) else { return try source.floats(name) }
        return dequantize(UnsafeRawBufferPointer(try convertedBytes(name, stored)), as: matrices)
    }

    private func convertedBytes(_ name: String, _ stored: TensorInfo) throws -> UnsafeMutableRawBufferPointer {
        try lock.withLock {
            if let b = converted[name] { return b }
            let values = try source.floats(name)
            guard values.count == stored.elementCount, let bytes = matrices.byteCount(elements: values.count) else {
                throw ModelFileError(.shapeMismatch, file: path,
                                     "tensor \(name) \(stored.shape) yielded \(values.count) values; it cannot be converted to \(matrices.rawValue)")
            }
            let out = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes, alignment: 64)
            values.withUnsafeBufferPointer { v in
                if matrices == .q4_0 {
                    quantizeQ4_0(v, into: out)
                } else {
                    let bf = out.bindMemory(to: UInt16.self)
                    for i in 0..<v.count { bf[i] = floatToBF16(v[i]).littleEndian }
                }
            }
            converted[name] = out
            return out
        }
    }
}

extension LoadedModel {
    /// The same model (path, config, tokenizer) with its weight matrices converted at load to
    /// `dtype` (`.q4_0` or `.bf16`) for every backend that reads it.
    public func convertingMatrices(to dtype: DType) -> LoadedModel {
        LoadedModel(path: path, format: format, config: config, tensors: ConvertedTensors(tensors, matrices: dtype),
                    gguf: gguf, tokenizerFile: tokenizerFile)
    }
}
