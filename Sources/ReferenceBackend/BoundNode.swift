// A graph node bound once to the reference's buffers and weights, so a step runs without name lookups.
import LlamaCore

/// What `ReferenceBackend.execute` needs of a node: its output and input buffers, its weight, and (for a matmul)
/// how many of the nodes from it on are matmuls of the same input, which decode runs as one dispatch.
struct BoundNode {
    let node: Node
    /// (maxBatch, node.width) slot buffer.
    let out: UnsafeMutablePointer<Float>
    /// One per `node.inputs`, each (maxBatch, that input's width); `out` stands for `tokens`.
    let inputs: [UnsafePointer<Float>]
    /// The op's weight (embed table, norm weight, matrix (width, inDim), bias (width), head norm (headDim)) in fp32,
    /// nil for the ops without one and for a packed matrix.
    let weight: UnsafePointer<Float>?
    /// The embed table or matrix when the weights keep it packed (`FloatWeights.Storage.packed`), else nil.
    let packed: PackedMatrix?
    /// A matmul's input width.
    let inDim: Int
    /// `result_output`, whose rows `LogitRows` chooses.
    let isLogits: Bool
    /// Matmul nodes from this one on (itself included) that read the same input into distinct buffers: 1 for a
    /// single one, 0 for a node a sibling before it runs.
    var siblings: Int

    /// The same node on other inputs (teacher forcing).
    func with(inputs: [UnsafePointer<Float>], out: UnsafeMutablePointer<Float>) -> BoundNode {
        BoundNode(node: node, out: out, inputs: inputs, weight: weight, packed: packed, inDim: inDim, isLogits: isLogits, siblings: 1)
    }

    /// Binds `graph`'s nodes in order; consecutive matmuls of one input become sibling groups.
    static func bind(_ graph: Graph, slots: [String: UnsafeMutablePointer<Float>], nodeSlot: [String: String],
                     weights: [String: UnsafePointer<Float>], packed: [String: PackedMatrix] = [:]) -> [BoundNode] {
        var bound: [BoundNode] = graph.nodes.map { node in
            let out = slots[node.slot]!
            let inputs = node.inputs.map { UnsafePointer(slots[nodeSlot[$0] ?? ""] ?? out) }
            var weight: UnsafePointer<Float>?, matrix: PackedMatrix?, inDim = 0
            switch node.op {
            case .embed(let table): (weight, matrix) = (weights[table], packed[table])
            case .rmsNorm(let w, _), .bias(let w), .headNorm(let w, _, _): weight = weights[w]
            case .matmul(let w):
                (weight, matrix) = (weights[w], packed[w])
                inDim = graph.node(named: node.inputs[0])?.width ?? 0
            default: break
            }
            return BoundNode(node: node, out: out, inputs: inputs, weight: weight, packed: matrix, inDim: inDim,
                             isLogits: node.name == "result_output", siblings: 1)
        }
        var i = 0
        while i < bound.count {
            guard case .matmul = bound[i].node.op, !bound[i].isLogits else { i += 1; continue }
            var outs: Set<UnsafeMutablePointer<Float>> = [bound[i].out]
            var j = i + 1
            while j < bound.count, case .matmul = bound[j].node.op, !bound[j].isLogits,
                  bound[j].inputs[0] == bound[i].inputs[0], !outs.contains(bound[j].out),
                  UnsafePointer(bound[j].out) != bound[i].inputs[0] {
                outs.insert(bound[j].out)
                j += 1
            }
            bound[i].siblings = j - i
            for k in (i + 1)..<j { bound[k].siblings = 0 }
            i = j
        }
        return bound
    }
}
