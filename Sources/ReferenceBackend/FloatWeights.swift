// The CPU reference's weight store, in canonical names, checked against the graph's shapes: every weight in fp32, or the matrices kept as stored and dequantized a row block at a time when read.
import Foundation
import LlamaCore

/// The weights the CPU reference reads. Two storages, the same fp32 values either way:
/// - `.fp32`: every weight converted once to fp32 (4 bytes a parameter: Llama 3.1 8B needs 32 GB).
/// - `.packed`: each matrix (2-D, rows of whole blocks of its format) stays in the source's stored bytes (Q4_0: 18 bytes
///   per 32 weights) and is dequantized — by the same `dequantize` that `TensorSource.floats` uses — a row block at a
///   time into scratch when a matmul or an embedding lookup reads it; vectors (norms, biases) are fp32. A matrix whose
///   source has no stored bytes (an in-memory `TensorDictionary`) is held in fp32 even here.
/// `.automatic` (the default) takes `.fp32` when its bytes are at most 3/4 of the machine's physical memory, else
/// `.packed`. Owned memory is freed on deinit; the source is kept alive while packed bytes point into it.
public final class FloatWeights: @unchecked Sendable {
    public enum Storage: String, Sendable, CaseIterable {
        case fp32, packed, automatic

        /// `.automatic` resolved for `graph` on a machine of `physicalMemory` bytes; the others as they are.
        public func resolved(for graph: Graph,
                             physicalMemory: Int = Int(clamping: ProcessInfo.processInfo.physicalMemory)) -> Storage {
            guard self == .automatic else { return self }
            return ReferenceBackend.weightBytes(graph: graph) <= physicalMemory / 4 * 3 ? .fp32 : .packed
        }
    }

    /// The storage in use (`.fp32` or `.packed`, never `.automatic`).
    public let storage: Storage
    private var resident: [String: UnsafeMutableBufferPointer<Float>] = [:]
    private var packedMatrices: [String: PackedMatrix] = [:]
    private let source: TensorSource?

    /// Reads every weight of `graph` from `source` in `storage`; a missing tensor or wrong shape is an error naming the
    /// tensor and the file. `progress` is called after each tensor with (done, total).
    public init(graph: Graph, source: TensorSource, storage: Storage = .automatic,
                progress: ((Int, Int) -> Void)? = nil) throws {
        let storage = storage.resolved(for: graph)
        self.storage = storage
        self.source = storage == .packed ? source : nil
        let wanted = graph.weightShapes
        for (i, (name, shape)) in wanted.enumerated() {
            guard let info = source.info(name) else {
                throw ModelFileError(.missingTensor, file: source.path, "tensor \(name) is missing")
            }
            guard info.shape == shape else {
                throw ModelFileError(.shapeMismatch, file: source.path,
                    "tensor \(name) has shape \(info.shape); the config implies \(shape)")
            }
            if storage == .packed, let matrix = try Self.packed(info, source) {
                packedMatrices[name] = matrix
            } else {
                let values = try source.floats(name)
                guard values.count == shape.reduce(1, *) else {
                    throw ModelFileError(.shapeMismatch, file: source.path,
                        "tensor \(name) yielded \(values.count) values for shape \(shape)")
                }
                let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: values.count)
                _ = buffer.initialize(from: values)
                resident[name] = buffer
            }
            progress?(i + 1, wanted.count)
        }
    }

    /// The stored bytes of a matrix whose rows are whole blocks of its format, or nil (a vector, rows that split a
    /// block, or a source without stored bytes): then the tensor is held in fp32.
    private static func packed(_ info: TensorInfo, _ source: TensorSource) throws -> PackedMatrix? {
        guard info.shape.count == 2, let rowBytes = info.dtype.byteCount(elements: info.shape[1]),
              let raw = try? source.rawBytes(info.name), let base = raw.baseAddress else { return nil }
        guard raw.count == info.shape[0] * rowBytes else {
            throw ModelFileError(.shapeMismatch, file: source.path,
                "tensor \(info.name) has \(raw.count) stored bytes; \(info.shape) in \(info.dtype.rawValue) needs \(info.shape[0] * rowBytes)")
        }
        return PackedMatrix(bytes: base, dtype: info.dtype, rows: info.shape[0], cols: info.shape[1], rowBytes: rowBytes)
    }

    deinit { for buffer in resident.values { buffer.deallocate() } }

    /// A weight held in fp32, nil for a packed matrix (see `packedMatrix`).
    public subscript(name: String) -> UnsafeMutableBufferPointer<Float>? { resident[name] }

    /// A matrix kept in its stored bytes (`.packed` storage only).
    public func packedMatrix(_ name: String) -> PackedMatrix? { packedMatrices[name] }

    /// True when the weight is held in either form.
    public func contains(_ name: String) -> Bool { resident[name] != nil || packedMatrices[name] != nil }

    /// Matrices held packed.
    public var packedCount: Int { packedMatrices.count }

    /// Bytes of fp32 this store owns (packed matrices live in the source: `packedBytes`).
    public var byteCount: Int { resident.values.reduce(0) { $0 + $1.count * 4 } }

    /// Stored bytes of the packed matrices (owned by the source).
    public var packedBytes: Int { packedMatrices.values.reduce(0) { $0 + $1.rows * $1.rowBytes } }
}
