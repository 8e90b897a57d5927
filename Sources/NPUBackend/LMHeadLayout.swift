// LMHeadLayout: the numbers of the LM head run (`lm_head_<h>`, issue 12's addendum) — its own gemv tiling for the LM head's dtype, the lm_weights BO (output_norm_w, then the 8 channel streams of the vocab rows interleaved pair by pair), its kernel name and per-core budgets.
//
// The LM head is its own design because one ObjectFifo has one object type (mlir-aie python/iron/dataflow/objectfifo.py
// ObjectFifo obj_type): the decode token's weight channels carry the projections' tiles, so an LM head stored in another
// format (SmolLM2's Q8_0 embedding → bf16, a Q4 GGUF's Q6_K/Q8_0 output.weight) runs in a second run of the same
// runlist, on the same 16 gemv cores and 8 channels and the same hub (Kernels/decode/roles.py), in its own format.
import LlamaCore

public struct LMHeadLayout: Sendable, Equatable {
    /// The LM head's dtype on the device (bf16, Q4_1 or Q4_0).
    public let dtype: DType
    /// Its gemv tiling, chosen among the manifest's `lm_head` tilings of `dtype`: the fewest padded vocab rows,
    /// ties → the larger tm.
    public let tm: Int, tk: Int
    /// The candidates offered and the padded rows each gave (nil: a rule excluded it).
    public let candidates: [(tm: Int, tk: Int, paddedRows: Int?)]
    /// The LM stage: vocab rows padded to 16 · tm, K = hidden.
    public let stage: DecodeLayout.StageShape
    /// The hub's object (headDim values), as the decode token's.
    public let hubSlice: Int

    // lm_weights BO (bytes): output_norm_w (hidden bf16) first, then from a 64-byte boundary the 8 channel streams,
    // pair p of channel ch at streamsOffset + (8p + ch) · pairBytes
    public let outputNormOffset: Int
    public let streamsOffset: Int
    /// One object of a weight channel: two tiles (the memory tile's split halves).
    public let pairBytes: Int
    /// Pairs per channel per run: rounds · k-slices.
    public let pairsPerChannel: Int
    /// Bytes of one channel's stream per run.
    public let channelBytes: Int
    public let weightsBytes: Int
    /// The first byte of channel ch's stream (its first pair).
    public var channelOffsets: [Int] { (0..<DecodeLayout.channels).map { streamsOffset + $0 * pairBytes } }

    public static func == (a: LMHeadLayout, b: LMHeadLayout) -> Bool {
        a.dtype == b.dtype && a.tm == b.tm && a.tk == b.tk && a.stage == b.stage && a.hubSlice == b.hubSlice
    }

    /// The kernel of the LM head run: lm_head_<dtype>.
    public var kernelName: String { "lm_head_\(dtype.rawValue.lowercased())" }

    /// The LM head of model `c` in `dtype`. The tiling rules: tm a multiple of 16 (gemv_out's vectors), vocab ≥ 16·tm
    /// (every gemv core has rows in its first round: argmax_f32's `first`), the hub reads the 16 cores' best objects
    /// (16·tm values) in objects of S = headDim values (S | 16·tm), tk a multiple of 32 dividing hidden (of 64 with
    /// Q4_0: whole 4-byte words per k-slice). Throws `KernelPlanError` (use "lm_head") naming the rule.
    public init(manifest: KernelManifest, config c: ModelConfig, dtype: DType) throws {
        func fail(_ m: String) -> KernelPlanError { KernelPlanError(use: "lm_head", message: m) }
        guard [DType.bf16, .q4_1, .q4_0].contains(dtype) else {
            throw fail("no gemv kernel takes \(dtype.rawValue) weights (the LM head is converted to bf16 at upload)")
        }
        guard let kernel = manifest.kernels.first(where: { $0.op == "lm_head" && $0.dtype == dtype.rawValue.lowercased() }) else {
            throw fail("the manifest has no lm_head kernel for \(dtype.rawValue) weights")
        }
        let offered: [(tm: Int, tk: Int)] = kernel.tilings.compactMap { t in
            let v = Dictionary(uniqueKeysWithValues: t.map { ($0.key, $0.value) })
            return v["tm"].flatMap { tm in v["tk"].map { (tm, $0) } }
        }
        let H = c.hiddenSize, V = c.vocabSize, S = c.headDim, NG = DecodeLayout.gemvCores
        func broken(_ tm: Int, _ tk: Int) -> String? {
            if tm % 16 != 0 { return "tm=\(tm) is not a multiple of 16 (gemv_out's vectors)" }
            if V < NG * tm { return "vocab=\(V) < 16·tm=\(NG * tm): every gemv core needs LM rows in its first round" }
            if (NG * tm) % S != 0 { return "S=\(S) (headDim, the hub's object) does not divide the 16 best objects' 16·tm=\(NG * tm) values" }
            if tk % 32 != 0 { return "tk=\(tk) is not a multiple of 32 (Q4 blocks, bf16 vectors)" }
            if dtype == .q4_0 && tk % 64 != 0 { return "tk=\(tk): Q4_0 k-slices must be whole 4-byte words (tk % 64 == 0)" }
            if H % tk != 0 { return "tk=\(tk) does not divide hidden=\(H)" }
            return nil
        }
        var scored: [(tm: Int, tk: Int, paddedRows: Int?)] = []
        var reasons: [String] = []
        for (tm, tk) in offered {
            if let why = broken(tm, tk) {
                scored.append((tm, tk, nil))
                reasons.append("tm=\(tm) tk=\(tk): \(why)")
            } else {
                scored.append((tm, tk, DecodeLayout.pad(V, NG * tm) - V))
            }
        }
        candidates = scored
        guard let best = scored.filter({ $0.paddedRows != nil })
            .min(by: { ($0.paddedRows!, -$0.tm) < ($1.paddedRows!, -$1.tm) }) else {
            throw fail("no gemv tiling serves this LM head (\(reasons.isEmpty ? "the manifest offers none" : reasons.joined(separator: "; ")))")
        }
        self.dtype = dtype
        tm = best.tm
        tk = best.tk
        hubSlice = S
        let tile = DecodeLayout.tileBytes(dtype, tm: tm, tk: tk)
        let padded = DecodeLayout.pad(V, NG * tm)
        stage = DecodeLayout.StageShape(stage: .lm, rows: V, paddedRows: padded, k: H, dtype: dtype, tileBytes: tile,
                                        rounds: padded / (NG * tm), slices: H / tk)
        outputNormOffset = 0
        streamsOffset = DecodeLayout.pad(2 * H, DecodeLayout.alignment)
        pairBytes = 2 * tile
        pairsPerChannel = stage.rounds * stage.slices
        channelBytes = pairsPerChannel * pairBytes
        weightsBytes = streamsOffset + DecodeLayout.channels * channelBytes
        guard streamsOffset + DecodeLayout.channels * pairBytes < 1 << 31 else {
            throw fail("the weight channels' first pairs start past 2^31 bytes of lm_weights (NpuAddressPatchOp arg_plus is 32-bit)")
        }
        let budget = manifest.device.coreBytes - manifest.device.coreStackBytes
        let b = coreBytes(config: c)
        for (role, bytes) in [("gemv", b.gemv), ("hub", b.hub)] where bytes > budget {
            throw fail("a \(role) core of the LM head needs \(bytes) bytes of buffers, more than the \(budget) a core has after its stack (tm=\(tm), tk=\(tk))")
        }
    }

    /// Bytes of the buffers of a gemv core and of the hub core in the LM head run (each 64-byte aligned as IRON places
    /// them); Kernels/drivers/lm_head_driver.cc allocates the same in its arenas. gemv: x_bcast objects (2), the local
    /// x (hidden), the k-slice of x, the split's tiles (2), the fp32 accumulator, output objects (2), its best (4 bf16
    /// slots). hub: hub_in, hub_out, x_bcast objects (2 each), the norm weight, x, y, the bests region (16·tm), the 16
    /// bests (4 slots each).
    public func coreBytes(config c: ModelConfig) -> (gemv: Int, hub: Int) {
        func sum(_ sizes: [Int]) -> Int { sizes.reduce(0) { DecodeLayout.pad($0, DecodeLayout.alignment) + $1 } }
        let S = 2 * hubSlice, H = 2 * c.hiddenSize, NG = DecodeLayout.gemvCores
        let gemv = sum([S, S, H, 2 * tk, stage.tileBytes, stage.tileBytes, 4 * tm, 2 * tm, 2 * tm, 8])
        let hub = sum([S, S, S, S, S, S, H, H, H, 2 * NG * tm, 8 * NG])
        return (gemv, hub)
    }
}
