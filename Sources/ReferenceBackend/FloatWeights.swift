// The model's weights converted once to fp32, in canonical names, checked against the graph's shapes.
import LlamaCore

/// fp32 copies of every weight the graph reads. Owned memory, freed on deinit.
public final class FloatWeights: @unchecked Sendable {
    private var storage: [String: UnsafeMutableBufferPointer<Float>] = [:]

    /// Converts every weight of `graph` from `source`; a missing tensor or wrong shape is an error
    /// naming the tensor and the file. `progress` is called after each tensor with (done, total).
    public init(graph: Graph, source: TensorSource, progress: ((Int, Int) -> Void)? = nil) throws {
        let wanted = graph.weightShapes
        for (i, (name, shape)) in wanted.enumerated() {
            guard let info = source.info(name) else {
                throw ModelFileError(.missingTensor, file: source.path, "tensor \(name) is missing")
            }
            guard info.shape == shape else {
                throw ModelFileError(.shapeMismatch, file: source.path,
                    "tensor \(name) has shape \(info.shape); the config implies \(shape)")
            }
            let values = try source.floats(name)
            guard values.count == shape.reduce(1, *) else {
                throw ModelFileError(.shapeMismatch, file: source.path,
                    "tensor \(name) yielded \(values.count) values for shape \(shape)")
            }
            let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: values.count)
            _ = buffer.initialize(from: values)
            storage[name] = buffer
            progress?(i + 1, wanted.count)
        }
    }

    deinit { for buffer in storage.values { buffer.deallocate() } }

    public subscript(name: String) -> UnsafeMutableBufferPointer<Float>? { storage[name] }

    /// Total bytes held.
    public var byteCount: Int { storage.values.reduce(0) { $0 + $1.count * 4 } }
}
