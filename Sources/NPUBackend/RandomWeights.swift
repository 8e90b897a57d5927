// A seeded random-weight Llama stored as the NPU takes it (bf16, or Q4_1 / Q4_0 blocks for the matrices; the LM head in its own format if asked), for benchmarks and tests at real shapes.
import LlamaCore

/// Tensors are generated on first access and kept (raw bytes must outlive the call). Matrices are
/// bf16, GGUF Q4_1 (f16 scale and min per 32, random nibbles) or GGUF Q4_0 (f16 scale per 32, random
/// nibbles); norm weights bf16 near 1.
public final class RandomWeights: TensorSource, @unchecked Sendable {
    public let path: String
    private let shapes: [String: [Int]]
    private let matrixDType: DType
    /// The LM head's tensor (the output weight, or the tied embedding) and its dtype.
    private let head: (name: String, dtype: DType)
    private let seed: UInt64
    private var cache: [String: [UInt8]] = [:]

    /// - matrices: `.bf16`, `.q4_1` or `.q4_0` (projections, and the LM head unless `lmHead` says otherwise).
    /// - lmHead: the LM head's format (e.g. a Q4_1 model with a bf16 head, as SmolLM2 ships one in Q8_0).
    public init(_ config: ModelConfig, matrices: DType, lmHead: DType? = nil, seed: UInt64 = 1) {
        for d in [matrices, lmHead ?? matrices] { precondition(d == .bf16 || d == .q4_1 || d == .q4_0) }
        let graph = Graph.llama(config)
        var shapes: [String: [Int]] = [:]
        for (name, shape) in graph.weightShapes { shapes[name] = shape }
        self.shapes = shapes
        matrixDType = matrices
        head = (graph.outputWeightName, lmHead ?? matrices)
        self.seed = seed
        path = "<random \(matrices.rawValue) llama\(lmHead.map { " (\($0.rawValue) LM head)" } ?? "") seed \(seed)>"
    }

    public var tensorNames: [String] { shapes.keys.sorted() }

    public func info(_ name: String) -> TensorInfo? {
        shapes[name].map { TensorInfo(name: name, dtype: $0.count == 1 ? .bf16 : name == head.name ? head.dtype : matrixDType, shape: $0) }
    }

    public func rawBytes(_ name: String) throws -> UnsafeRawBufferPointer {
        guard let info = info(name) else { throw ModelFileError(.missingTensor, file: path, "tensor \(name) is missing") }
        if cache[name] == nil { cache[name] = generate(info) }
        return cache[name]!.withUnsafeBytes { UnsafeRawBufferPointer(start: $0.baseAddress, count: $0.count) }
    }

    public func floats(_ name: String) throws -> [Float] {
        let raw = try rawBytes(name)
        return dequantize(raw, as: info(name)!.dtype)
    }

    /// 1 MB of random matrix data, tiled through each matrix from a per-tensor offset (generating
    /// 2.5 GB element by element would dominate the benchmark; the values do not matter to it).
    /// Bytes of one pool unit: a Q4_0 block (18), or a Q4_1 block / ten bf16 values (20).
    private static func unit(_ dtype: DType) -> Int { dtype == .q4_0 ? 18 : 20 }

    private var pools: [DType: [UInt8]] = [:]

    private func pool(_ dtype: DType) -> [UInt8] {
        if let p = pools[dtype] { return p }
        var rng = SplitMix64(seed: seed)
        let blocks = 52_428   // Q4_1 / Q4_0 blocks, or the same bytes as bf16 pairs
        let unit = Self.unit(dtype)
        var bytes = [UInt8](repeating: 0, count: blocks * unit)
        bytes.withUnsafeMutableBytes { out in
            for block in 0..<blocks {
                let p = out.baseAddress! + block * unit
                if dtype == .q4_0 {
                    p.storeBytes(of: floatToF16(0.01), toByteOffset: 0, as: UInt16.self)
                    for i in 0..<16 { p.storeBytes(of: UInt8(truncatingIfNeeded: rng.next()), toByteOffset: 2 + i, as: UInt8.self) }
                } else if dtype == .q4_1 {
                    p.storeBytes(of: floatToF16(0.01), toByteOffset: 0, as: UInt16.self)
                    p.storeBytes(of: floatToF16(-0.08), toByteOffset: 2, as: UInt16.self)
                    for i in 0..<16 { p.storeBytes(of: UInt8(truncatingIfNeeded: rng.next()), toByteOffset: 4 + i, as: UInt8.self) }
                } else {
                    for i in 0..<10 {
                        let u = Float(rng.nextUnit()) * 2 - 1
                        p.storeBytes(of: floatToBF16(0.05 * u), toByteOffset: 2 * i, as: UInt16.self)
                    }
                }
            }
        }
        pools[dtype] = bytes
        return bytes
    }

    private func generate(_ info: TensorInfo) -> [UInt8] {
        var h: UInt64 = seed
        for b in info.name.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
        let n = info.elementCount
        var bytes = [UInt8](repeating: 0, count: info.dtype.byteCount(elements: n)!)
        if info.shape.count == 1 {
            var rng = SplitMix64(seed: h)
            bytes.withUnsafeMutableBytes { out in
                let w = out.bindMemory(to: UInt16.self)
                for i in 0..<n { w[i] = floatToBF16(1 + 0.2 * (Float(rng.nextUnit()) * 2 - 1)) }
            }
            return bytes
        }
        let pool = self.pool(info.dtype), unit = Self.unit(info.dtype)
        var from = Int(h % UInt64(pool.count / unit)) * unit
        var at = 0
        bytes.withUnsafeMutableBytes { out in
            pool.withUnsafeBytes { src in
                while at < out.count {
                    let count = min(out.count - at, src.count - from)
                    (out.baseAddress! + at).copyMemory(from: src.baseAddress! + from, byteCount: count)
                    at += count
                    from = 0
                }
            }
        }
        return bytes
    }
}
