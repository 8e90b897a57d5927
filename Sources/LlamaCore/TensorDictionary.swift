// An in-memory TensorSource of fp32 tensors: random test models and converted weights.

public final class TensorDictionary: TensorSource {
    public let path: String
    private var tensors: [String: (shape: [Int], values: [Float])] = [:]

    public init(path: String = "<memory>") { self.path = path }

    public func set(_ name: String, shape: [Int], values: [Float]) {
        precondition(shape.reduce(1, *) == values.count, "\(name): shape \(shape) needs \(shape.reduce(1, *)) values")
        tensors[name] = (shape, values)
    }

    public var tensorNames: [String] { tensors.keys.sorted() }

    public func info(_ name: String) -> TensorInfo? {
        tensors[name].map { TensorInfo(name: name, dtype: .f32, shape: $0.shape) }
    }

    public func rawBytes(_ name: String) throws -> UnsafeRawBufferPointer {
        throw ModelFileError(.unreadable, file: path, "in-memory tensor \(name) has no stored bytes")
    }

    public func floats(_ name: String) throws -> [Float] {
        guard let t = tensors[name] else { throw ModelFileError(.missingTensor, file: path, "tensor \(name) is missing") }
        return t.values
    }

    /// A random-weight Llama of the given config (seeded), for tests and benchmarks.
    public static func randomLlama(_ config: ModelConfig, seed: UInt64, scale: Float = 0.08) -> TensorDictionary {
        var rng = SplitMix64(seed: seed)
        let dict = TensorDictionary(path: "<random llama seed \(seed)>")
        for (name, shape) in Graph.llama(config).weightShapes {
            let n = shape.reduce(1, *)
            let isNorm = shape.count == 1
            let values = (0..<n).map { _ -> Float in
                let u = Float(rng.nextUnit()) * 2 - 1
                return isNorm ? 1 + 0.2 * u : scale * u * 1.7
            }
            dict.set(name, shape: shape, values: values)
        }
        return dict
    }
}
