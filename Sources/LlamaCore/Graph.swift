// The Llama-shaped model (Llama, Qwen2, Qwen3) described once: a list of named nodes (llama.cpp tensor names) every backend runs.

/// One operation of the model. Backends implement these; none of them knows the model.
public enum Op: Sendable, Equatable {
    /// Rows of an embedding table picked by the step's token ids. Output (seq, dim).
    case embed(table: String)
    /// y = x / sqrt(mean(x²) + eps) · weight, per row, in fp32.
    case rmsNorm(weight: String, eps: Float)
    /// y = x · Wᵀ with W stored (out, in). Output (seq, out).
    case matmul(weight: String)
    /// Rotary embedding of every head at the step's positions, in place of a copy.
    case rope(heads: Int)
    /// Causal GQA attention: appends K and V (inputs 1, 2) to the layer's cache at the step's
    /// positions, then attends with Q (input 0) over every cached position up to each query's own.
    case attention(layer: Int)
    /// Element-wise sum of two inputs.
    case add
    /// silu(input 0) · input 1, element-wise (SwiGLU).
    case swiglu
    /// y = x + b for every row: a projection's bias (Qwen2's q/k/v), b (width) from `bias`.
    case bias(weight: String)
    /// RMSNorm of each of `heads` head_dim-wide slices of a row, one (head_dim) weight shared by the heads, in fp32
    /// (Qwen3's q_norm / k_norm: llama.cpp's build_norm over the (head_dim, heads, tokens) view).
    case headNorm(weight: String, heads: Int, eps: Float)
}

extension Op {
    /// The op's kind as a short name (for profiles and reports).
    public var kind: String {
        switch self {
        case .embed: return "embed"
        case .rmsNorm: return "rmsNorm"
        case .matmul: return "matmul"
        case .rope: return "rope"
        case .attention: return "attention"
        case .add: return "add"
        case .swiglu: return "swiglu"
        case .bias: return "bias"
        case .headNorm: return "headNorm"
        }
    }
}

/// A named node. `name` is the llama.cpp tensor name (`attn_norm-3`, `l_out-3`, `result_output`):
/// the same string keys golden files, dumps and error messages.
public struct Node: Sendable, Equatable {
    public var name: String
    public var op: Op
    /// Names of the nodes (or `tokens`) this node reads.
    public var inputs: [String]
    /// Width of one output row.
    public var width: Int
    /// The layer this node belongs to, nil for the model's head and tail.
    public var layer: Int?
    /// Name without the layer suffix (`attn_norm`); nodes of different layers share a slot, so a
    /// backend can reuse one buffer per slot.
    public var slot: String
}

/// The whole model as nodes in execution order.
public struct Graph: Sendable {
    public let config: ModelConfig
    public let nodes: [Node]
    private let indexByName: [String: Int]

    public init(config: ModelConfig, nodes: [Node]) {
        self.config = config
        self.nodes = nodes
        var index: [String: Int] = [:]
        for (i, node) in nodes.enumerated() { index[node.name] = i }
        self.indexByName = index
    }

    public func node(named name: String) -> Node? { indexByName[name].map { nodes[$0] } }
    public func index(of name: String) -> Int? { indexByName[name] }

    /// Weight tensors the graph reads, by canonical name, with their expected shapes (out, in).
    public var weightShapes: [(name: String, shape: [Int])] {
        let c = config
        var list: [(String, [Int])] = [("token_embd.weight", [c.vocabSize, c.hiddenSize])]
        for l in 0..<c.layerCount {
            let b = "blk.\(l)."
            list += [
                (b + "attn_norm.weight", [c.hiddenSize]),
                (b + "attn_q.weight", [c.qDim, c.hiddenSize]),
                (b + "attn_k.weight", [c.kvDim, c.hiddenSize]),
                (b + "attn_v.weight", [c.kvDim, c.hiddenSize]),
                (b + "attn_output.weight", [c.hiddenSize, c.qDim]),
            ]
            if c.family.hasQKVBias {
                list += [(b + "attn_q.bias", [c.qDim]), (b + "attn_k.bias", [c.kvDim]), (b + "attn_v.bias", [c.kvDim])]
            }
            if c.family.hasQKNorm {
                list += [(b + "attn_q_norm.weight", [c.headDim]), (b + "attn_k_norm.weight", [c.headDim])]
            }
            list += [
                (b + "ffn_norm.weight", [c.hiddenSize]),
                (b + "ffn_gate.weight", [c.intermediateSize, c.hiddenSize]),
                (b + "ffn_up.weight", [c.intermediateSize, c.hiddenSize]),
                (b + "ffn_down.weight", [c.hiddenSize, c.intermediateSize]),
            ]
        }
        list.append(("output_norm.weight", [c.hiddenSize]))
        if !c.tiedEmbeddings { list.append(("output.weight", [c.vocabSize, c.hiddenSize])) }
        return list
    }

    /// The canonical name of the LM head matrix (the embedding table when tied).
    public var outputWeightName: String { config.tiedEmbeddings ? "token_embd.weight" : "output.weight" }

    /// The Llama forward pass. Names follow llama.cpp: `inp_embd`, per layer `attn_norm-L`,
    /// `Qcur-L`, `Kcur-L`, `Vcur-L` (projections), `Qrope-L`, `Krope-L` (after RoPE), `kqv_out-L`,
    /// `attn_out-L`, `ffn_inp-L`, `ffn_norm-L`, `ffn_gate-L`, `ffn_up-L`, `ffn_act-L`, `ffn_out-L`,
    /// `l_out-L`; then `result_norm`, `result_output`.
    ///
    /// The config's family adds its nodes (src/llama-model.cpp): Qwen2 (`llm_build_qwen2`) names the *biased*
    /// projections `Qcur-L`, `Kcur-L`, `Vcur-L`, so the bare products are `Qcur_mm-L`, `Kcur_mm-L`, `Vcur_mm-L`
    /// (ours: llama.cpp leaves them unnamed) followed by `.bias` nodes; Qwen3 (`llm_build_qwen3`) norms Q and K per
    /// head into `Qcur_normed-L`, `Kcur_normed-L`, which RoPE then reads.
    public static func llama(_ c: ModelConfig) -> Graph {
        var nodes: [Node] = []
        func add(_ slot: String, _ layer: Int?, _ op: Op, _ inputs: [String], _ width: Int) -> String {
            let name = layer.map { "\(slot)-\($0)" } ?? slot
            nodes.append(Node(name: name, op: op, inputs: inputs, width: width, layer: layer, slot: slot))
            return name
        }
        var x = add("inp_embd", nil, .embed(table: "token_embd.weight"), ["tokens"], c.hiddenSize)
        for l in 0..<c.layerCount {
            let b = "blk.\(l)."
            let norm = add("attn_norm", l, .rmsNorm(weight: b + "attn_norm.weight", eps: c.rmsNormEps), [x], c.hiddenSize)
            let mm = c.family.hasQKVBias ? "_mm" : ""
            var q = add("Qcur" + mm, l, .matmul(weight: b + "attn_q.weight"), [norm], c.qDim)
            var k = add("Kcur" + mm, l, .matmul(weight: b + "attn_k.weight"), [norm], c.kvDim)
            var v = add("Vcur" + mm, l, .matmul(weight: b + "attn_v.weight"), [norm], c.kvDim)
            if c.family.hasQKVBias {
                q = add("Qcur", l, .bias(weight: b + "attn_q.bias"), [q], c.qDim)
                k = add("Kcur", l, .bias(weight: b + "attn_k.bias"), [k], c.kvDim)
                v = add("Vcur", l, .bias(weight: b + "attn_v.bias"), [v], c.kvDim)
            }
            if c.family.hasQKNorm {
                q = add("Qcur_normed", l, .headNorm(weight: b + "attn_q_norm.weight", heads: c.headCount, eps: c.rmsNormEps),
                        [q], c.qDim)
                k = add("Kcur_normed", l, .headNorm(weight: b + "attn_k_norm.weight", heads: c.kvHeadCount, eps: c.rmsNormEps),
                        [k], c.kvDim)
            }
            let qr = add("Qrope", l, .rope(heads: c.headCount), [q], c.qDim)
            let kr = add("Krope", l, .rope(heads: c.kvHeadCount), [k], c.kvDim)
            let kqv = add("kqv_out", l, .attention(layer: l), [qr, kr, v], c.qDim)
            let attnOut = add("attn_out", l, .matmul(weight: b + "attn_output.weight"), [kqv], c.hiddenSize)
            let ffnInp = add("ffn_inp", l, .add, [attnOut, x], c.hiddenSize)
            let ffnNorm = add("ffn_norm", l, .rmsNorm(weight: b + "ffn_norm.weight", eps: c.rmsNormEps), [ffnInp], c.hiddenSize)
            let gate = add("ffn_gate", l, .matmul(weight: b + "ffn_gate.weight"), [ffnNorm], c.intermediateSize)
            let up = add("ffn_up", l, .matmul(weight: b + "ffn_up.weight"), [ffnNorm], c.intermediateSize)
            let act = add("ffn_act", l, .swiglu, [gate, up], c.intermediateSize)
            let down = add("ffn_out", l, .matmul(weight: b + "ffn_down.weight"), [act], c.hiddenSize)
            x = add("l_out", l, .add, [down, ffnInp], c.hiddenSize)
        }
        let norm = add("result_norm", nil, .rmsNorm(weight: "output_norm.weight", eps: c.rmsNormEps), [x], c.hiddenSize)
        let weight = c.tiedEmbeddings ? "token_embd.weight" : "output.weight"
        _ = add("result_output", nil, .matmul(weight: weight), [norm], c.vocabSize)
        return Graph(config: c, nodes: nodes)
    }
}
