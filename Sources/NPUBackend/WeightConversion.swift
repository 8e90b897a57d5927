// The weight formats on the device (the projections' and the LM head's, each bf16 or GGUF Q4_1 / Q4_0 blocks as stored) and a tensor as bf16 (the norms).
import LlamaCore

enum WeightConversion {
    /// The 4-bit GGUF formats the kernels take as stored.
    static let blockFormats: Set<DType> = [.q4_1, .q4_0]

    /// The dtype the projections are uploaded in: Q4_1 or Q4_0 when every projection matrix is stored
    /// in that format (used as is), else bf16. (`LlamaCore.ConvertedTensors` converts a model's
    /// matrices to Q4_0 at load for every backend alike.)
    static func projectionDType(_ tensors: TensorSource, _ graph: Graph) -> DType {
        // the matrices only: a norm's or a Qwen2 bias's vector (blk.N.attn_q.bias, stored F32) is uploaded as bf16
        // whatever the matrices' format, so it must not turn a Q4_0 model's projections into bf16
        let names = graph.weightShapes.filter { $0.name.hasPrefix("blk.") && $0.shape.count == 2 }.map(\.name)
        for format in [DType.q4_1, .q4_0] where names.allSatisfy({ tensors.info($0)?.dtype == format }) {
            return format
        }
        return .bf16
    }

    /// The LM head's dtype on the device (its own run, LMHeadLayout): Q4_1 or Q4_0 as stored, else bf16 (Q8_0, F16
    /// and F32 heads are rounded to bf16 at upload, as SmolLM2's Q8_0 embedding).
    static func lmHeadDType(_ tensors: TensorSource, _ graph: Graph) -> DType {
        let stored = tensors.info(graph.outputWeightName)?.dtype ?? .bf16
        return blockFormats.contains(stored) ? stored : .bf16
    }

    /// Writes tensor `name` as `dtype` (bf16, Q4_1 or Q4_0) into `destination`, which must be exactly its size.
    static func write(_ name: String, as dtype: DType, from tensors: TensorSource,
                      into destination: UnsafeMutableRawBufferPointer) throws {
        guard let info = tensors.info(name) else {
            throw ModelFileError(.missingTensor, file: tensors.path, "tensor \(name) is missing")
        }
        let bytes = dtype.byteCount(elements: info.elementCount)
        guard bytes == destination.count else {
            throw ModelFileError(.shapeMismatch, file: tensors.path,
                                 "tensor \(name) \(info.shape) is \(bytes ?? -1) bytes as \(dtype.rawValue); its kernel argument takes \(destination.count)")
        }
        if info.dtype == dtype && (dtype == .bf16 || blockFormats.contains(dtype)) {
            let raw = try tensors.rawBytes(name)
            destination.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[0..<destination.count]))
            return
        }
        guard dtype == .bf16 else {
            throw ModelFileError(.shapeMismatch, file: tensors.path, "tensor \(name) is \(info.dtype.rawValue); only \(dtype.rawValue) tensors are used as \(dtype.rawValue)")
        }
        let values = try tensors.floats(name)
        let out = destination.baseAddress!.assumingMemoryBound(to: UInt16.self)
        for i in 0..<values.count { out[i] = floatToBF16(values[i]) }
    }
}
