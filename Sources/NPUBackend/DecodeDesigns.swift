// The decode xclbin's kernels: one decode token design per KV length bucket (decode_<w>_b<bucket>: weights, kv, kv_row, io) and one LM head design (lm_head_<h>: lm_weights, io), sized by DecodeLayout and LMHeadLayout.
import LlamaCore

/// What a data argument of a design is to the device: what it reads or writes and how much.
public enum ArgumentRole: Sendable, Equatable {
    case input          // activation read once
    case weight         // read every run (the channel streams and norms; lm_weights)
    case kvCache        // read up to the kernel's length bucket (decode: never written)
    /// The decode KV append: a sub-buffer of the KV BO at the token's row, rebound per token; the run writes exactly
    /// the token's K and V rows into it
    case kvRow
    case params         // host-written run-time values
    case output         // written by the run
    case taps           // a debug BO the run writes
    /// Host-written inputs first (`DesignArgument.hostInputBytes`), then every region the runs write (the decode
    /// token's intermediates and x_final, the LM head's result_norm, logits, bests, token).
    case io
    /// The prefill KV append (issue 13): a sub-buffer of the KV BO at the chunk's block, rebound per chunk; the run
    /// writes all of it (the chunk's K and V rows of every layer and head; rows past the prompt as zeros).
    case kvBlock
    /// The prefill run's own io (pio): host-written head regions first (`hostInputBytes`: header, RoPE rows, the
    /// embeddings), then every intermediate of the chunk's rows, written by the run.
    case prefillIO

    /// The role's name in the Python contract (layout.py `arguments()`).
    public var contractName: String {
        switch self {
        case .input: "input"
        case .weight: "weight"
        case .kvCache: "kvCache"
        case .kvRow: "kvRow"
        case .params: "params"
        case .output: "output"
        case .taps: "taps"
        case .io: "io"
        case .kvBlock: "kvBlock"
        case .prefillIO: "prefillIO"
        }
    }
}

public struct DesignArgument: Sendable, Equatable {
    public var name: String
    public var bytes: Int
    public var role: ArgumentRole
    /// `.io`: the leading bytes the host writes before a token's runlist (params, the embedding row); its runs write
    /// the rest.
    public var hostInputBytes: Int
    public init(name: String, bytes: Int, role: ArgumentRole, hostInputBytes: Int = 0) {
        self.name = name
        self.bytes = bytes
        self.role = role
        self.hostInputBytes = hostInputBytes
    }
}

/// Which design a kernel of the decode xclbin is.
public enum DesignKind: Sendable, Hashable {
    case decodeToken(bucket: Int)   // every layer of a token; KV blocks read: the length bucket
    case lmHead                     // the LM head after it (same runlist)
    case prefill(bucket: Int)       // every layer of a prompt chunk of C rows (issue 13); KV blocks read: the bucket
}

/// One kernel of the decode xclbin: mlir-aie's arguments 0–2 (opcode, instructions, word count), then
/// `arguments` as 3+i.
public struct FusedDesign: Sendable, Equatable {
    public var kernelName: String
    /// The design whatever its weight types and bucket ("decode_token", "lm_head"): the key of Kernels/npu2_baseline.json.
    public var design: String
    public var kind: DesignKind
    public var arguments: [DesignArgument]

    public init(kernelName: String, design: String, kind: DesignKind, arguments: [DesignArgument]) {
        self.kernelName = kernelName
        self.design = design
        self.kind = kind
        self.arguments = arguments
    }

    public func index(of name: String) -> Int { arguments.firstIndex { $0.name == name }! }
}

/// Every decode design a model needs: one decode token kernel per KV length bucket and the LM head kernel; a token's
/// runlist is [decode_b, lm_head] (one chained command), prompt rows whose logits nobody reads run [decode_b].
public struct DecodeDesigns: Sendable {
    public let layout: DecodeLayout
    public var config: ModelConfig { layout.config }
    public var projectionDType: DType { layout.projectionDType }
    public var lmHeadDType: DType { layout.lmHeadDType }
    public var context: Int { layout.context }
    /// Length buckets in KV blocks: 1, 2, 4 … up to context / block.
    public var buckets: [Int] { layout.buckets }
    public let manifest: KernelManifest
    /// The prefill layout (issue 13): one run per prompt chunk of C rows; nil when the shapes cannot take it.
    public let prefill: PrefillLayout?
    public let prefillUnsupported: String?

    public init(manifest: KernelManifest, config: ModelConfig, projectionDType: DType, lmHeadDType: DType, context: Int) throws {
        layout = try DecodeLayout(manifest: manifest, config: config, projection: projectionDType, lmHead: lmHeadDType,
                                  context: context)
        self.manifest = manifest
        do {
            let budget = manifest.device.coreBytes - manifest.device.coreStackBytes
            let p = try PrefillLayout(layout, coreBudget: budget)
            try p.checkCores(budget: budget)
            prefill = p
            prefillUnsupported = nil
        } catch {
            prefill = nil
            prefillUnsupported = "\(error)"
        }
        // validation hook: aiecc's buffer arguments (NPU2 target model); the baseline lists none since issue 12
        try DesignLimits.checkBufferArguments(all, target: manifest.target, baseline: manifest.baseline)
    }

    /// The smallest bucket covering positions 0...pos.
    public func bucket(forPosition pos: Int) -> Int { layout.bucket(forPosition: pos) }

    /// The decode token kernel of a bucket: weights (norms ‖ channel streams), kv, kv_row, io.
    public func token(bucket: Int) -> FusedDesign {
        let l = layout
        return FusedDesign(kernelName: l.kernelName(bucket: bucket), design: "decode_token", kind: .decodeToken(bucket: bucket),
                           arguments: [
                               DesignArgument(name: "weights", bytes: l.weightsBytes, role: .weight),
                               DesignArgument(name: "kv", bytes: 2 * l.kvElements, role: .kvCache),
                               DesignArgument(name: "kv_row", bytes: 2 * l.kvRowElements, role: .kvRow),
                               DesignArgument(name: "io", bytes: 2 * l.ioElements, role: .io, hostInputBytes: l.hostInputBytes),
                           ])
    }

    /// The LM head kernel: lm_weights (output_norm_w ‖ channel streams), io (the same BO as the decode token's).
    public var lmHead: FusedDesign {
        let l = layout
        return FusedDesign(kernelName: l.lmHead.kernelName, design: "lm_head", kind: .lmHead,
                           arguments: [
                               DesignArgument(name: "lm_weights", bytes: l.lmHead.weightsBytes, role: .weight),
                               DesignArgument(name: "io", bytes: 2 * l.ioElements, role: .io, hostInputBytes: l.hostInputBytes),
                           ])
    }

    /// Every kernel of the xclbin: the decode token per bucket, the LM head, then the prefill per bucket (issue 13;
    /// none when the model's shapes cannot take the prefill design: `prefillUnsupported` says why).
    public var all: [FusedDesign] { buckets.map { token(bucket: $0) } + [lmHead] + prefillDesigns }

    /// The prefill kernels, one per bucket.
    public var prefillDesigns: [FusedDesign] { prefill.map { p in buckets.map { prefill(bucket: $0, p) } } ?? [] }

    /// The prefill kernel of a bucket: weights, kv, kv_blk, pio, io (PrefillLayout.arguments).
    public func prefill(bucket: Int, _ p: PrefillLayout) -> FusedDesign {
        FusedDesign(kernelName: p.kernelName(bucket: bucket), design: "prefill", kind: .prefill(bucket: bucket), arguments: p.arguments)
    }

    public func design(named name: String) -> FusedDesign? { all.first { $0.kernelName == name } }
}
