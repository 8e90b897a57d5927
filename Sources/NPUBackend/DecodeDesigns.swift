// The fused decode designs NPUBackend runs (attention half, MLP half, LM head): kernel names and data arguments, sized from the KernelPlan.
import LlamaCore

/// What a data argument of a design is to the device: what it reads or writes and how much.
public enum ArgumentRole: Sendable, Equatable {
    case input          // activation read once (x)
    case weight         // read whole every run (matrices, norm weights)
    case kvCache        // read up to the instance's length bucket (decode: not written)
    /// The decode KV append: a view of a KV cache at the step's row of KV head 0, rebound per token; the
    /// run writes `kvHeads` rows of headDim at the stride of one head's `context` rows (its bytes are KV writes)
    case kvRow
    case params         // the step params buffer (or the embedding row beside it)
    case output         // written by the run
    case taps           // debug BO of the verify-mode variants: the named intermediates
}

public struct DesignArgument: Sendable, Equatable {
    public var name: String
    public var bytes: Int
    public var role: ArgumentRole
    public init(name: String, bytes: Int, role: ArgumentRole) {
        self.name = name
        self.bytes = bytes
        self.role = role
    }
}

/// Which design a kernel of the decode xclbin is.
public enum DesignKind: Sendable, Hashable {
    case attentionHalf(bucket: Int)   // KV blocks read: the length bucket
    case mlpHalf
    case lmHeadArgmax
    case lmHeadLogits
}

/// One kernel of the decode xclbin: mlir-aie's arguments 0–2 (opcode, instructions, word count),
/// then `arguments` as 3+i.
public struct FusedDesign: Sendable, Equatable {
    public var kernelName: String
    /// The design whatever its weight type and bucket ("attn_half", "attn_half_taps", "mlp_half",
    /// "lm_head_argmax", "prefill_kqv_out" …): the key of Kernels/npu2_baseline.json.
    public var design: String
    public var kind: DesignKind
    public var taps: Bool
    public var arguments: [DesignArgument]

    public func index(of name: String) -> Int { arguments.firstIndex { $0.name == name }! }
}

/// The named intermediates a taps BO holds, in order (slot, width in bf16 values).
public typealias TapLayout = [(slot: String, width: Int)]

/// Every decode design a model needs, with the tiling the plan gives them.
public struct DecodeDesigns: Sendable {
    public let plan: KernelPlan
    public let config: ModelConfig
    public let projectionDType: DType
    public let lmHeadDType: DType
    public let context: Int
    /// gemv row-tile heights per stage, each its plan instance's tiling: attention half
    /// [Qcur, Kcur/Vcur, attn_out], MLP half [ffn_gate/ffn_up, ffn_out]. The fused designs' gemv
    /// cores share one x fifo and one core set, so tk and cores must agree across the stages.
    public let attentionTM: [Int], mlpTM: [Int]
    /// gemv k-slice and core count, attention blocks and splits per KV head.
    public let tk: Int, cores: Int, block: Int, splits: Int
    /// Length buckets in KV blocks: 1, 2, 4 … up to context / block.
    public let buckets: [Int]

    public init(plan: KernelPlan, config: ModelConfig, projectionDType: DType, lmHeadDType: DType, context: Int) throws {
        self.plan = plan
        self.config = config
        self.projectionDType = projectionDType
        self.lmHeadDType = lmHeadDType
        self.context = context
        let stages = ["Qcur", "Kcur", "Vcur", "attn_out", "ffn_gate", "ffn_up", "ffn_out"]
        var tiling: [String: [String: Int]] = [:]
        for use in stages + ["kqv_out"] {
            guard let t = plan.instance(use)?.values else {
                throw KernelPlanError(use: use, message: "the plan has no \(use) instance")
            }
            tiling[use] = t
        }
        let q = tiling["Qcur"]!, a = tiling["kqv_out"]!
        tk = q["tk"]!
        cores = q["cores"]!
        for use in stages {
            let t = tiling[use]!
            guard t["tk"] == tk, t["cores"] == cores else {
                throw KernelPlanError(use: use, message: "tk=\(t["tk"]!) cores=\(t["cores"]!) differ from Qcur's tk=\(tk) cores=\(cores); the fused layer halves' gemv stages share their cores and x fifo")
            }
        }
        // K and V (and gate and up) stream through the same cores with the same row indices
        for (x, y) in [("Kcur", "Vcur"), ("ffn_gate", "ffn_up")] where tiling[x]!["tm"] != tiling[y]!["tm"] {
            throw KernelPlanError(use: y, message: "tm=\(tiling[y]!["tm"]!) differs from \(x)'s tm=\(tiling[x]!["tm"]!)")
        }
        attentionTM = [q["tm"]!, tiling["Kcur"]!["tm"]!, tiling["attn_out"]!["tm"]!]
        mlpTM = [tiling["ffn_gate"]!["tm"]!, tiling["ffn_out"]!["tm"]!]
        block = a["block"]!
        // the attention half runs rmsnorm/rope on core 0 and attends on the last kvHeads × splits cores
        splits = min(a["splits"]!, (cores - 1) / config.kvHeadCount)
        guard splits >= 1 else {
            throw KernelPlanError(use: "kqv_out", message: "kvHeads=\(config.kvHeadCount) attention cores do not fit the attention half's \(cores - 1) cores")
        }
        var b = 1, list: [Int] = []
        while b < context / block { list.append(b); b *= 2 }
        list.append(context / block)
        buckets = list
        // validation hook: aiecc's buffer arguments (NPU2 target model), today's exceptions in the baseline
        try DesignLimits.checkBufferArguments(all, target: plan.manifest.target, baseline: plan.manifest.baseline)
    }

    /// Bytes of a row argument (`k_row`, `v_row`): from row `pos` of KV head 0 to the end of row `pos` of
    /// the last KV head, so head h's new row is at the static offset h · context · headDim · 2.
    public var kvRowBytes: Int { ((config.kvHeadCount - 1) * context + 1) * config.headDim * 2 }

    /// Byte offset in a layer's K (or V) cache of the row argument for position `pos`.
    public func kvRowOffset(position pos: Int) -> Int { pos * config.headDim * 2 }

    /// The smallest bucket covering positions 0...pos.
    public func bucket(forPosition pos: Int) -> Int {
        let needed = (pos + 1 + block - 1) / block
        return buckets.first { $0 >= needed } ?? buckets.last!
    }

    private func bytes(_ use: String, _ arg: String) -> Int {
        let a = plan.instance(use)!.args.first { $0.name == arg }!
        return a.dtype.bytes(a.shape.reduce(1, *))!
    }

    private var wdt: String { projectionDType.rawValue.lowercased() }
    private var hdt: String { lmHeadDType.rawValue.lowercased() }

    public var attentionTaps: TapLayout {
        let c = config
        return [("attn_norm", c.hiddenSize), ("Qcur", c.qDim), ("Kcur", c.kvDim), ("Vcur", c.kvDim), ("Qrope", c.qDim),
                ("Krope", c.kvDim), ("kqv_out", c.qDim), ("attn_out", c.hiddenSize), ("ffn_inp", c.hiddenSize)]
    }
    public var mlpTaps: TapLayout {
        let c = config
        return [("ffn_norm", c.hiddenSize), ("ffn_gate", c.intermediateSize), ("ffn_up", c.intermediateSize),
                ("ffn_act", c.intermediateSize), ("ffn_out", c.hiddenSize), ("l_out", c.hiddenSize)]
    }
    public var lmHeadTaps: TapLayout { [("result_norm", config.hiddenSize)] }

    private func tapsArgument(_ layout: TapLayout) -> DesignArgument {
        DesignArgument(name: "taps", bytes: 2 * layout.reduce(0) { $0 + $1.width }, role: .taps)
    }

    public func attentionHalf(bucket: Int, taps: Bool) -> FusedDesign {
        var args = [
            DesignArgument(name: "x", bytes: bytes("attn_norm", "x"), role: .input),
            DesignArgument(name: "norm_w", bytes: bytes("attn_norm", "w"), role: .weight),
            DesignArgument(name: "wq", bytes: bytes("Qcur", "w"), role: .weight),
            DesignArgument(name: "wk", bytes: bytes("Kcur", "w"), role: .weight),
            DesignArgument(name: "wv", bytes: bytes("Vcur", "w"), role: .weight),
            DesignArgument(name: "wo", bytes: bytes("attn_out", "w"), role: .weight),
            DesignArgument(name: "k_cache", bytes: bytes("kqv_out", "k_cache"), role: .kvCache),
            DesignArgument(name: "v_cache", bytes: bytes("kqv_out", "v_cache"), role: .kvCache),
            DesignArgument(name: "k_row", bytes: kvRowBytes, role: .kvRow),
            DesignArgument(name: "v_row", bytes: kvRowBytes, role: .kvRow),
            DesignArgument(name: "params", bytes: bytes("Qrope", "params"), role: .params),
            DesignArgument(name: "out", bytes: bytes("ffn_inp", "out"), role: .output),
        ]
        if taps { args.append(tapsArgument(attentionTaps)) }
        return FusedDesign(kernelName: "attn_half_\(wdt)_b\(bucket)" + (taps ? "_taps" : ""),
                           design: "attn_half" + (taps ? "_taps" : ""), kind: .attentionHalf(bucket: bucket), taps: taps, arguments: args)
    }

    public func mlpHalf(taps: Bool) -> FusedDesign {
        var args = [
            DesignArgument(name: "x", bytes: bytes("ffn_norm", "x"), role: .input),
            DesignArgument(name: "norm_w", bytes: bytes("ffn_norm", "w"), role: .weight),
            DesignArgument(name: "w_gate", bytes: bytes("ffn_gate", "w"), role: .weight),
            DesignArgument(name: "w_up", bytes: bytes("ffn_up", "w"), role: .weight),
            DesignArgument(name: "w_down", bytes: bytes("ffn_out", "w"), role: .weight),
            DesignArgument(name: "out", bytes: bytes("l_out", "out"), role: .output),
        ]
        if taps { args.append(tapsArgument(mlpTaps)) }
        return FusedDesign(kernelName: "mlp_half_\(wdt)" + (taps ? "_taps" : ""), design: "mlp_half" + (taps ? "_taps" : ""),
                           kind: .mlpHalf, taps: taps,
                           arguments: args)
    }

    /// rmsnorm + gemv + argmax (one int32 back), or rmsnorm + gemv (bf16 logits back).
    public func lmHead(argmax: Bool, taps: Bool) -> FusedDesign {
        var args = [
            DesignArgument(name: "x", bytes: bytes("result_norm", "x"), role: .input),
            DesignArgument(name: "norm_w", bytes: bytes("result_norm", "w"), role: .weight),
        ]
        if argmax {
            args += [DesignArgument(name: "w", bytes: bytes("result_output", "w"), role: .weight),
                     DesignArgument(name: "token", bytes: bytes("result_output", "token"), role: .output)]
        } else {
            args += [DesignArgument(name: "w", bytes: bytes("result_logits", "w"), role: .weight),
                     DesignArgument(name: "logits", bytes: bytes("result_logits", "y"), role: .output)]
        }
        if taps { args.append(tapsArgument(lmHeadTaps)) }
        return FusedDesign(kernelName: (argmax ? "lm_head_argmax_" : "lm_head_logits_") + hdt + (taps ? "_taps" : ""),
                           design: (argmax ? "lm_head_argmax" : "lm_head_logits") + (taps ? "_taps" : ""),
                           kind: argmax ? .lmHeadArgmax : .lmHeadLogits, taps: taps, arguments: args)
    }

    /// Every kernel of the decode xclbin.
    public var all: [FusedDesign] {
        var list: [FusedDesign] = []
        for taps in [false, true] {
            list += buckets.map { attentionHalf(bucket: $0, taps: taps) }
            list.append(mlpHalf(taps: taps))
            list.append(lmHead(argmax: false, taps: taps))
        }
        list.append(lmHead(argmax: true, taps: false))
        return list
    }

    public func design(named name: String) -> FusedDesign? { all.first { $0.kernelName == name } }
}
