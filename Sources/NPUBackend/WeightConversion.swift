// Weights into the kernels' layouts, once at load: bf16 (converted from F32/F16/Q8_0 or copied), or GGUF Q4_1 blocks as stored.
import LlamaCore

enum WeightConversion {
    /// The dtype the projections are uploaded in: Q4_1 when every projection matrix is stored as
    /// Q4_1 (used as is), else bf16.
    static func projectionDType(_ tensors: TensorSource, _ graph: Graph) -> DType {
        let names = graph.weightShapes.map(\.name).filter {
            $0.hasPrefix("blk.") && !$0.hasSuffix("_norm.weight")
        }
        return names.allSatisfy({ tensors.info($0)?.dtype == .q4_1 }) ? .q4_1 : .bf16
    }

    static func lmHeadDType(_ tensors: TensorSource, _ graph: Graph) -> DType {
        tensors.info(graph.outputWeightName)?.dtype == .q4_1 ? .q4_1 : .bf16
    }

    /// Writes tensor `name` as `dtype` (bf16 or Q4_1) into `destination`, which must be exactly its size.
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
        if info.dtype == dtype && (dtype == .bf16 || dtype == .q4_1) {
            let raw = try tensors.rawBytes(name)
            destination.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[0..<destination.count]))
            return
        }
        guard dtype == .bf16 else {
            throw ModelFileError(.shapeMismatch, file: tensors.path, "tensor \(name) is \(info.dtype.rawValue); only Q4_1 tensors are used as Q4_1")
        }
        let values = try tensors.floats(name)
        let out = destination.baseAddress!.assumingMemoryBound(to: UInt16.self)
        for i in 0..<values.count { out[i] = floatToBF16(values[i]) }
    }
}
