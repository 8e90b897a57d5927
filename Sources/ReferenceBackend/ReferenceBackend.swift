// The fp32 CPU reference backend: runs the graph's nodes on OpenBLAS over a KV cache (verification only).
import LlamaCore

/// Runs a `Graph` in fp32. One buffer per node slot (shared across layers), the KV cache as
/// (layer, kvHead, context, headDim) for K and for V.
public final class ReferenceBackend: Backend, @unchecked Sendable {
    public let label = "CPU reference"
    public let graph: Graph
    public let weights: FloatWeights
    public let contextLength: Int
    public let maxBatch: Int

    private var slotBuffers: [String: UnsafeMutablePointer<Float>] = [:]
    private let nodeSlot: [String: String]
    private let kCache: UnsafeMutablePointer<Float>   // (layer, kvHead, contextLength, headDim)
    private let vCache: UnsafeMutablePointer<Float>   // (layer, kvHead, contextLength, headDim)
    private let scratch: UnsafeMutablePointer<Float>  // (kvHead, group, contextLength) decode attention scores
    private let tokenBuffer: UnsafeMutablePointer<Int32>
    private let rope: RopeTable
    private var weightPointers: [String: UnsafePointer<Float>] = [:]
    private var bound: [BoundNode] = []   // graph.nodes bound to the buffers above, in order
    /// Seconds spent per op kind (embed, rmsNorm, matmul, rope, attention, add, swiglu, bias, headNorm) when
    /// profiling is on (`profile = [:]`); nil (off) by default. Wall clock of the CPU reference.
    public var profile: [String: Double]?

    /// - contextLength: KV cache capacity in positions (≤ the model's maximum).
    /// - maxBatch: most tokens in one step (a longer prompt is run in chunks).
    public init(graph: Graph, weights: FloatWeights, contextLength: Int, maxBatch: Int = 512) throws {
        let c = graph.config
        precondition(contextLength > 0 && maxBatch > 0)
        ReferenceOps.singleThreadedBLAS
        self.graph = graph
        self.weights = weights
        self.contextLength = contextLength
        self.maxBatch = min(maxBatch, contextLength)
        var slotWidth: [String: Int] = [:]
        var nodeSlot: [String: String] = ["tokens": "tokens"]
        for node in graph.nodes {
            slotWidth[node.slot] = max(slotWidth[node.slot] ?? 0, node.width)
            nodeSlot[node.name] = node.slot
            if case .matmul(let w) = node.op, !weights.contains(w) {
                throw StepError.unsupportedNode(name: node.name, reason: "weight \(w) was not loaded")
            }
        }
        for node in graph.nodes where node.inputs.contains(where: { nodeSlot[$0] == node.slot }) {
            throw StepError.unsupportedNode(name: node.name, reason: "it reads a node that shares its buffer slot")
        }
        self.nodeSlot = nodeSlot
        for (slot, width) in slotWidth {
            let buffer = UnsafeMutablePointer<Float>.allocate(capacity: self.maxBatch * width)
            buffer.initialize(repeating: 0, count: self.maxBatch * width)
            slotBuffers[slot] = buffer
        }
        let cacheCount = c.layerCount * c.kvHeadCount * contextLength * c.headDim
        kCache = .allocate(capacity: cacheCount)
        vCache = .allocate(capacity: cacheCount)
        kCache.initialize(repeating: 0, count: cacheCount)
        vCache.initialize(repeating: 0, count: cacheCount)
        scratch = .allocate(capacity: c.headCount * contextLength)
        tokenBuffer = .allocate(capacity: self.maxBatch)
        rope = RopeTable(config: c, positions: contextLength)
        var packed: [String: PackedMatrix] = [:]
        for (name, _) in graph.weightShapes {
            if let w = weights[name] { weightPointers[name] = UnsafePointer(w.baseAddress!) }
            if let m = weights.packedMatrix(name) { packed[name] = m }
        }
        bound = BoundNode.bind(graph, slots: slotBuffers, nodeSlot: nodeSlot, weights: weightPointers, packed: packed)
    }

    /// Bytes a backend of this shape allocates besides its weights: the node buffers (maxBatch rows of each slot),
    /// the K and V caches and the attention scratch — computed without allocating, so callers can refuse a size first.
    public static func plannedBytes(graph: Graph, contextLength: Int, maxBatch: Int) -> (buffers: Int, kvCache: Int) {
        let c = graph.config
        let batch = min(maxBatch, contextLength)
        var slotWidth: [String: Int] = [:]
        for node in graph.nodes { slotWidth[node.slot] = max(slotWidth[node.slot] ?? 0, node.width) }
        let buffers = slotWidth.values.reduce(0) { $0 + batch * $1 * 4 } + c.headCount * contextLength * 4
        return (buffers, 2 * c.layerCount * c.kvHeadCount * contextLength * c.headDim * 4)
    }

    /// Bytes of the fp32 weights `FloatWeights` makes for a graph in `.fp32` storage.
    public static func weightBytes(graph: Graph) -> Int {
        graph.weightShapes.reduce(0) { $0 + $1.shape.reduce(1, *) * 4 }
    }

    deinit {
        for buffer in slotBuffers.values { buffer.deallocate() }
        kCache.deallocate()
        vCache.deallocate()
        scratch.deallocate()
        tokenBuffer.deallocate()
    }

    /// Everything in fp32.
    public func dtype(of node: Node) -> DType { .f32 }
    /// The reference runs every op of the graph.
    public func unsupportedReason(_ node: Node) -> String? { nil }

    /// Runs `tokens` at positions start..<start+count (the cache must hold 0..<start already),
    /// and returns the logits: (1, vocab) for `.last`, (count, vocab) for `.all`.
    public func step(tokens: [Int], start: Int, logitRows: LogitRows = .last,
                     observer: NodeObserver? = nil) throws -> [Float] {
        let rows = tokens.count
        guard rows > 0 else { return [] }
        try checkStep(tokens: tokens, start: start)
        var logits: [Float] = []
        let clock = ContinuousClock()
        var i = 0
        while i < bound.count {
            let b = bound[i]
            let started = profile == nil ? nil : clock.now
            // Decode: a node's matmul siblings (Q, K, V; gate, up) run as one dispatch; each row's sum is the same.
            let count = rows == 1 && b.siblings > 1 ? b.siblings : 1
            let outRows: Int
            if count > 1, b.packed != nil {
                for n in bound[i..<(i + count)] {
                    ReferenceOps.matmul(n.inputs[0], rows: 1, inDim: n.inDim, packed: n.packed!, into: n.out)
                }
                outRows = 1
            } else if count > 1 {
                ReferenceOps.gemvs(b.inputs[0], inDim: b.inDim,
                                   bound[i..<(i + count)].map { ($0.weight!, $0.node.width, $0.out) })
                outRows = 1
            } else {
                outRows = execute(b, tokens: tokens, start: start, lastRowOnly: b.isLogits && logitRows == .last)
            }
            if let started {
                let d = (clock.now - started).components
                profile![b.node.op.kind, default: 0] += Double(d.seconds) + Double(d.attoseconds) * 1e-18
            }
            for n in bound[i..<(i + count)] {
                let output = UnsafeMutableBufferPointer(start: n.out, count: outRows * n.node.width)
                faultInjection?(n.node, output)
                observer?(n.node, UnsafeBufferPointer(output), outRows)
                if n.isLogits { logits = Array(output) }
            }
            i += count
        }
        return logits
    }

    /// Test-only fault injection: called with each node's output before any later node reads it.
    /// Verify-mode tests use it to plant a known error in one node and check that it is caught.
    public var faultInjection: ((Node, UnsafeMutableBufferPointer<Float>) -> Void)?

    /// Runs one node on given inputs (teacher forcing: the inputs are another backend's outputs).
    /// Inputs are (rows, width) row-major per the node's input list; `tokens` feeds `embed`.
    /// An attention node appends its K and V inputs to this backend's cache at `start`, so a
    /// teacher-forced reference keeps the same cache as the backend it checks.
    public func runNode(_ node: Node, inputs: [[Float]], tokens: [Int], start: Int) throws -> [Float] {
        let rows = tokens.count
        guard rows > 0 else { return [] }
        try checkStep(tokens: tokens, start: start)
        for (name, input) in zip(node.inputs, inputs) where name != "tokens" {
            let width = graph.node(named: name)?.width ?? 0
            guard input.count == rows * width else {
                throw StepError.unsupportedNode(name: node.name,
                    reason: "input \(name) has \(input.count) values; \(rows) rows × \(width) expected")
            }
        }
        guard let index = graph.index(of: node.name) else {
            throw StepError.unsupportedNode(name: node.name, reason: "it is not a node of this backend's graph")
        }
        var output = [Float](repeating: 0, count: rows * node.width)
        let outRows = withPointers(inputs) { pointers in
            output.withUnsafeMutableBufferPointer { out in
                execute(bound[index].with(inputs: pointers, out: out.baseAddress!), tokens: tokens, start: start, lastRowOnly: false)
            }
        }
        return Array(output.prefix(outRows * node.width))
    }

    private func checkStep(tokens: [Int], start: Int) throws {
        let c = graph.config
        let rows = tokens.count
        guard rows <= maxBatch else { throw StepError.batchTooLarge(tokens: rows, maxBatch: maxBatch) }
        guard start >= 0, start + rows <= contextLength else {
            throw StepError.contextFull(position: start, tokens: rows, contextLength: contextLength)
        }
        for t in tokens where t < 0 || t >= c.vocabSize { throw StepError.tokenOutOfRange(id: t, vocabSize: c.vocabSize) }
    }

    /// Executes one node; returns the number of output rows written.
    private func execute(_ b: BoundNode, tokens: [Int], start: Int, lastRowOnly: Bool) -> Int {
        let c = graph.config
        let rows = tokens.count
        let (node, input, out) = (b.node, b.inputs, b.out)
        switch node.op {
        case .embed:
            for (r, t) in tokens.enumerated() {
                if let table = b.packed {
                    table.dequantize(rows: t..<(t + 1), into: out + r * node.width)
                } else {
                    (out + r * node.width).update(from: b.weight! + t * node.width, count: node.width)
                }
            }
        case let .rmsNorm(_, eps):
            ReferenceOps.rmsNorm(input[0], rows: rows, dim: node.width, weight: b.weight!, eps: eps, into: out)
        case .matmul:
            let x = lastRowOnly ? input[0] + (rows - 1) * b.inDim : input[0]
            let outRows = lastRowOnly ? 1 : rows
            if let packed = b.packed {
                ReferenceOps.matmul(x, rows: outRows, inDim: b.inDim, packed: packed, into: out)
            } else {
                ReferenceOps.matmul(x, rows: outRows, inDim: b.inDim, weight: b.weight!, outDim: node.width, into: out)
            }
            return outRows
        case .rope(let heads):
            out.update(from: input[0], count: rows * node.width)
            ReferenceOps.rope(out, rows: rows, heads: heads, headDim: c.headDim, start: start,
                              pairing: c.ropePairing, cos: rope.cos, sin: rope.sin)
        case .attention(let layer):
            let layerOffset = layer * c.kvHeadCount * contextLength * c.headDim
            let kLayer = kCache + layerOffset, vLayer = vCache + layerOffset
            for r in 0..<rows {
                for h in 0..<c.kvHeadCount {
                    let dst = (h * contextLength + start + r) * c.headDim
                    let src = (r * c.kvHeadCount + h) * c.headDim
                    (kLayer + dst).update(from: input[1] + src, count: c.headDim)
                    (vLayer + dst).update(from: input[2] + src, count: c.headDim)
                }
            }
            ReferenceOps.attention(q: input[0], rows: rows, start: start, heads: c.headCount,
                                   kvHeads: c.kvHeadCount, headDim: c.headDim, kCache: kLayer, vCache: vLayer,
                                   capacity: contextLength, out: out, scratch: scratch, scratchCount: c.headCount * contextLength)
        case .add:
            ReferenceOps.add(input[0], input[1], count: rows * node.width, into: out)
        case .swiglu:
            ReferenceOps.swiglu(input[0], input[1], count: rows * node.width, into: out)
        case .bias:
            ReferenceOps.addBias(input[0], rows: rows, width: node.width, bias: b.weight!, into: out)
        case let .headNorm(_, heads, eps):
            // (rows, heads, headDim) is (rows·heads) rows of headDim: the same per-row RMSNorm.
            ReferenceOps.rmsNorm(input[0], rows: rows * heads, dim: node.width / heads, weight: b.weight!, eps: eps, into: out)
        }
        return rows
    }
}

/// Calls `body` with stable pointers to every array's storage.
private func withPointers<R>(_ arrays: [[Float]], _ body: ([UnsafePointer<Float>]) -> R) -> R {
    func recurse(_ index: Int, _ collected: [UnsafePointer<Float>]) -> R {
        if index == arrays.count { return body(collected) }
        return arrays[index].withUnsafeBufferPointer { recurse(index + 1, collected + [$0.baseAddress!]) }
    }
    return recurse(0, [])
}
