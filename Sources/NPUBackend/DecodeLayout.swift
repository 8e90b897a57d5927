// DecodeLayout: the one Swift source of issue 12's decode-token numbers — the gemv tiling, padded rows per stage, the weights BO's channel streams and norms, the KV layout and kv_row, the io regions (shared with the LM head run, LMHeadLayout), the kernel names.
//
// The contract (issue 12, realised by Kernels/decode/decode_token.py with its Python twin Kernels/decode/layout.py,
// and by Kernels/drivers/decode_driver.cc): 16 gemv cores g on Tile(g div 4, 2 + g mod 4); weight channel (c, j)
// (index 2c + j) feeds cores 4c + 2j and 4c + 2j + 1 through memory tile c; a hub core; one attention core per KV
// head. Two changes to the first spec, both forced by real rules: a runtime-sequence transfer starts at an offset
// below 2^31 bytes of its argument (mlir-aie AIEX.td NpuAddressPatchOp arg_plus is an I32Attr, written as one
// instruction word by AIETargetNPU.cpp), so the weights BO holds the norms first and then the 8 channel streams
// interleaved pair by pair (one 3-D fill per channel starting at a small offset; 1B bf16's 2.47 GB would put
// channel 7 past 2^31), and the KV BO is block-major (a fill starts inside the first block). One ObjectFifo has one
// object type (python/iron/dataflow/objectfifo.py), so the LM head, whose format may differ from the projections'
// (SmolLM2: Q4_1 projections, a Q8_0 embedding run as bf16), is a second run of the same runlist (issue 12's
// addendum, LMHeadLayout): the decode token ends with the final residual x in the io region x_final, which the LM
// head run reads; result_norm, logits, bests and token are its io regions.
import LlamaCore
import NPUKernels

public struct DecodeLayout: Sendable, Equatable {
    /// The gemv stages: QKV, O, GU, D per layer in the order every channel of the decode token streams them; LM the
    /// LM head run's one stage (LMHeadLayout).
    public enum Stage: Int, CaseIterable, Sendable {
        case qkv, o, gu, d, lm
        public var name: String { ["QKV", "O", "GU", "D", "LM"][rawValue] }
        /// The decode token's stages, in layer order.
        public static let layerStages: [Stage] = [.qkv, .o, .gu, .d]
    }

    /// One gemv stage: tile t (padded rows [t·tm, +tm)) goes to core t mod 16 in round t div 16; its k-slices ks
    /// are the rows' columns [ks·tk, +tk) in the stage's weight format.
    public struct StageShape: Sendable, Equatable {
        public var stage: Stage
        public var rows: Int           // natural rows (QKV: Q + 2·KV; GU: 2F, gate and up tiles alternating; LM: vocab)
        public var paddedRows: Int     // R_s = pad(rows, 16·tm): rows past `rows` are zero weights
        public var k: Int
        public var dtype: DType
        public var tileBytes: Int      // one (tm × tk) tile
        public var rounds: Int         // R_s / (16·tm)
        public var slices: Int         // k / tk
        /// Bytes of the stage on one weight channel (per layer; per run for LM): rounds · slices pair objects.
        public var channelBytes: Int { rounds * slices * 2 * tileBytes }
        /// Bytes of the stage on all 8 channels (the padded matrix).
        public var bytes: Int { DecodeLayout.channels * channelBytes }
    }

    /// One layer's io regions, bf16 element offsets.
    public struct LayerRegions: Sendable, Equatable {
        public var qkv, o, gu, d, packs, kqv, attnNorm, ffnInp, ffnNorm, act, lOut: Int
        /// Issue 17: the hub's biased q ‖ k ‖ v (Qwen2) or normed q ‖ k (Qwen3) rows, `fusedValues` long; the end of
        /// the layer's regions for Llama (no values).
        public var qkvFused: Int
    }

    public static let gemvCores = 16
    public static let columns = 4
    public static let channels = 8
    /// Bytes every part of the weights BO and every io region is aligned to.
    public static let alignment = 64

    public let config: ModelConfig
    public let projectionDType: DType
    public var lmHeadDType: DType { lmHead.dtype }
    public let context: Int
    /// The LM head run: its tiling, its lm_weights BO (it shares the io BO and the sizes of its regions come from it).
    public let lmHead: LMHeadLayout
    /// The decode token's gemv tiling (one tm for every layer stage), the hub's object S (a head, or half of one: hubSlice), KV rows per
    /// block, blocks in the context.
    public let tm: Int, tk: Int, hubSlice: Int, block: Int, blocks: Int
    /// G KV groups of gk heads (one KV channel each); PN, bf16 values of a KV head's pack; the io params region.
    public let kvGroups: Int, headsPerGroup: Int, pack: Int, paramsValues: Int
    /// The tm candidates the manifest offered and the padded rows each gave (nil: a rule excluded it).
    public let candidates: [(tm: Int, tk: Int, paddedRows: Int?)]
    /// QKV, O, GU, D (indexed by `Stage.rawValue`); the LM stage is `lmHead.stage`.
    public let stages: [StageShape]
    /// KV blocks read per kernel: 1, 2, 4 … up to `blocks`.
    public let buckets: [Int]

    // weights BO (bytes): the layers' norms, then the streams; pair p of channel ch at streamsOffset + (p·8 + ch)·pairBytes
    public let normsOffset: Int
    public let attnNormOffsets: [Int], ffnNormOffsets: [Int]
    /// Issue 17: the family's attention-half weights per layer, bf16 after every layer's norms (layout.py
    /// family_extra): Qwen2 q ‖ k ‖ v biases (Q + 2KV values), Qwen3 q_norm ‖ k_norm (2·headDim), Llama none; and
    /// the values the hub drains to io qkv_fused per layer (Qwen2 Q + 2KV, Qwen3 Q + KV, Llama 0).
    public let extraValues: Int, extraOffsets: [Int], fusedValues: Int
    /// Issue 17 (Kernels/decode/README.md "Qwen fp32 rows"): a Qwen family's QKV stage writes its fp32 accumulators
    /// (rounded once, in the hub), so io qkv holds R_QKV fp32 values, row n in bf16 slots 2n, 2n + 1 (the fp32's own
    /// little-endian bytes); Llama's holds R_QKV bf16 rows.
    public var qkvF32: Bool { config.family != .llama }
    /// bf16 slots of one layer's io qkv region: R_QKV, twice that when `qkvF32`.
    public var qkvSlots: Int { stages[0].paddedRows * (qkvF32 ? 2 : 1) }
    public let streamsOffset: Int
    /// One object of a weight channel: two tiles (the split's halves).
    public let pairBytes: Int
    /// Pairs per channel: per layer, per decode run.
    public let pairsPerLayer: Int, pairsPerChannel: Int
    /// Bytes of one channel's stream per decode run.
    public let channelBytes: Int
    public let weightsBytes: Int
    /// The first byte of channel ch's stream (its first pair).
    public var channelOffsets: [Int] { (0..<Self.channels).map { streamsOffset + $0 * pairBytes } }

    // KV BO and kv_row (bf16 elements)
    public let kvElements: Int
    public let kvRowElements: Int

    // io BO (bf16 elements)
    public let ioParams: Int, ioX: Int
    public let layers: [LayerRegions]
    /// x_final: the decode run's last drain (the final residual, hidden values), the LM head run's input; then the LM
    /// head run's regions: result_norm (hidden), logits (its padded vocab rows), bests (16 · lmHead.tm: column c's
    /// object at 4c·tm, core k's best at slot k·tm), token (S: int32 in slots 0–1).
    public let ioXFinal: Int
    public let ioResultNorm: Int, ioLogits: Int, ioBests: Int, ioToken: Int, ioElements: Int

    public static func == (a: DecodeLayout, b: DecodeLayout) -> Bool {
        a.config == b.config && a.projectionDType == b.projectionDType && a.lmHead == b.lmHead
            && a.context == b.context && a.tm == b.tm && a.tk == b.tk && a.block == b.block
    }

    static func pad(_ x: Int, _ m: Int) -> Int { (x + m - 1) / m * m }

    /// Issue 17: half-head hub objects only for heads of at least 128 values (layout.py HALF_HEAD_MIN).
    public static let halfHeadMin = 64

    /// S, decode_token's hub object (values) for a tile height tm, or nil (layout.py `hub_slice`): a whole head when
    /// headDim | tm, else half a head when headDim / 2 ≥ 64 divides tm (head_dim 128 at tm 64: no padded rows for
    /// Llama 3.2 3B); the hub assembles whole heads in its buffers. headDim ≤ 64 keeps S = headDim.
    public static func hubSlice(headDim hd: Int, tm: Int) -> Int? {
        if tm % hd == 0 { return hd }
        if hd % 2 == 0, hd / 2 >= halfHeadMin, tm % (hd / 2) == 0 { return hd / 2 }
        return nil
    }

    /// Bytes of one (tm × tk) weight tile: bf16, or GGUF Q4_1 (20 B) / Q4_0 (18 B) blocks of 32, each row's k-slice
    /// in its own format.
    static func tileBytes(_ d: DType, tm: Int, tk: Int) -> Int {
        switch d {
        case .q4_1: return tm * (tk / 32) * 20
        case .q4_0: return tm * (tk / 32) * 18
        default: return tm * tk * 2
        }
    }

    /// A stage's shape: the layer stages' from `stages`, the LM head's from `lmHead`.
    public func shape(_ s: Stage) -> StageShape { s == .lm ? lmHead.stage : stages[s.rawValue] }

    /// The layout of a model's decode token and LM head. The decode tiling: among the manifest's gemv tilings of the
    /// projection dtype, those with S | tm, tm | F, tm | H, tk | H, Q, F (tk a multiple of 32, of 64 with Q4_0
    /// weights); of these the one with the fewest padded rows over the layers, ties → the larger tm. The LM head has
    /// its own (LMHeadLayout). Throws `KernelPlanError` (use "decode" or "lm_head") naming the rule a shape breaks.
    public init(manifest: KernelManifest, config c: ModelConfig, projection: DType, lmHead: DType, context: Int) throws {
        func fail(_ m: String) -> KernelPlanError { KernelPlanError(use: "decode", message: m) }
        let (H, Q, KV, F, L, hd) = (c.hiddenSize, c.qDim, c.kvDim, c.intermediateSize, c.layerCount, c.headDim)
        let nkv = c.kvHeadCount
        guard [DType.bf16, .q4_1, .q4_0].contains(projection) else {
            throw fail("no gemv kernel takes \(projection.rawValue) weights (convert them at upload)")
        }
        guard c.headCount % nkv == 0 else { throw fail("heads=\(c.headCount) is not a multiple of kvHeads=\(nkv)") }
        guard nkv <= 8 else { throw fail("kvHeads=\(nkv): the design has one attention core per KV head and at most 8 (2 pack fifos of 4)") }
        guard hd % 32 == 0 || hd == 16 else { throw fail("headDim=\(hd): rope serves a multiple of 32, or 16") }
        guard H % 32 == 0 else { throw fail("hidden=\(H) is not a multiple of 32 (rmsnorm's vectors)") }
        // tilings: the manifest's gemv kernel of the projections' weight type
        guard let gemv = manifest.kernels.first(where: { $0.op == "gemv" && $0.dtype == projection.rawValue.lowercased() }) else {
            throw fail("the manifest has no gemv kernel for \(projection.rawValue) weights")
        }
        let offered: [(tm: Int, tk: Int)] = gemv.tilings.compactMap { t in
            let v = Dictionary(uniqueKeysWithValues: t.map { ($0.key, $0.value) })
            return v["tm"].flatMap { tm in v["tk"].map { (tm, $0) } }
        }
        let q4_0 = projection == .q4_0
        func natural(_ s: Stage) -> Int { [Q + 2 * KV, H, 2 * F, H][s.rawValue] }
        func padded(_ s: Stage, _ tm: Int) -> Int { Self.pad(natural(s), Self.gemvCores * tm) }
        func broken(_ tm: Int, _ tk: Int) -> String? {
            if tm % 16 != 0 { return "tm=\(tm) is not a multiple of 16 (gemv_out's vectors)" }
            if Self.hubSlice(headDim: hd, tm: tm) == nil {
                return "neither headDim=\(hd) nor half of it (>= \(Self.halfHeadMin)), the hub's object, divides tm=\(tm)"
            }
            if F % tm != 0 { return "tm=\(tm) does not divide ffn=\(F) (gate/up tile pairs)" }
            if H % tm != 0 { return "tm=\(tm) does not divide hidden=\(H)" }
            if tk % 32 != 0 { return "tk=\(tk) is not a multiple of 32 (Q4 blocks, bf16 vectors)" }
            if q4_0 && tk % 64 != 0 { return "tk=\(tk): Q4_0 k-slices must be whole 4-byte words (tk % 64 == 0)" }
            for (n, v) in [("hidden", H), ("qDim", Q), ("ffn", F)] where v % tk != 0 { return "tk=\(tk) does not divide \(n)=\(v)" }
            return nil
        }
        var scored: [(tm: Int, tk: Int, paddedRows: Int?)] = []
        var reasons: [String] = []
        for (tm, tk) in offered {
            if let why = broken(tm, tk) {
                scored.append((tm, tk, nil))
                reasons.append("tm=\(tm) tk=\(tk): \(why)")
                continue
            }
            let perLayer = Stage.layerStages.reduce(0) { $0 + padded($1, tm) - natural($1) }
            scored.append((tm, tk, L * perLayer))
        }
        candidates = scored
        guard let best = scored.filter({ $0.paddedRows != nil })
            .min(by: { ($0.paddedRows!, -$0.tm) < ($1.paddedRows!, -$1.tm) }) else {
            throw fail("no gemv tiling serves this model (\(reasons.isEmpty ? "the manifest offers none" : reasons.joined(separator: "; ")))")
        }
        guard context <= c.maxContext else { throw fail("context \(context) exceeds max_position_embeddings \(c.maxContext)") }
        // the attention block: the plan's kqv_out tiling, the first candidate whose buffers fit a core (issue 17:
        // head_dim 128 takes block 32), as Tools/decode_designs.py takes it
        let plan = try KernelPlan(manifest: manifest, config: c, projectionWeights: projection, lmHeadWeights: lmHead,
                                  context: context, chunk: 64)
        guard let blockSize = plan.instance("kqv_out")?.tiling["block"] else {
            throw fail("the manifest has no attention_decode kernel with a block tiling")
        }
        guard context >= blockSize, context % blockSize == 0 else {
            throw fail("context \(context) is not a positive multiple of the attention block \(blockSize)")
        }

        config = c
        projectionDType = projection
        self.lmHead = try LMHeadLayout(manifest: manifest, config: c, dtype: lmHead)
        self.context = context
        tm = best.tm
        tk = best.tk
        let S = Self.hubSlice(headDim: hd, tm: best.tm)!
        hubSlice = S
        block = blockSize
        blocks = context / blockSize
        kvGroups = min(nkv, 4)
        guard nkv % kvGroups == 0 else { throw fail("kvHeads=\(nkv) does not split into \(kvGroups) KV groups of equal size") }
        headsPerGroup = nkv / kvGroups
        // io's params and packs stay padded to whole heads (a multiple of S either way): the io layout is tm's only
        pack = Self.pad(c.groupSize * hd + 2 * hd + 16, hd)
        paramsValues = Self.pad(16 + hd, hd)

        stages = Stage.layerStages.map { s in
            let k = [H, Q, H, F][s.rawValue]
            return StageShape(stage: s, rows: natural(s), paddedRows: padded(s, best.tm), k: k, dtype: projection,
                              tileBytes: Self.tileBytes(projection, tm: best.tm, tk: best.tk),
                              rounds: padded(s, best.tm) / (Self.gemvCores * best.tm), slices: k / best.tk)
        }
        var b = 1, list: [Int] = []
        while b < context / blockSize { list.append(b); b *= 2 }
        list.append(context / blockSize)
        buckets = list

        // weights BO: the layers' norms (bf16), then the 8 channel streams interleaved pair by pair from a 64-byte
        // boundary (output_norm_w is the LM head's, in lm_weights)
        normsOffset = 0
        attnNormOffsets = (0..<L).map { 2 * $0 * 2 * H }
        ffnNormOffsets = (0..<L).map { (2 * $0 + 1) * 2 * H }
        switch c.family {
        case .llama: (extraValues, fusedValues) = (0, 0)
        case .qwen2: (extraValues, fusedValues) = (c.qDim + 2 * c.kvDim, c.qDim + 2 * c.kvDim)
        case .qwen3: (extraValues, fusedValues) = (2 * c.headDim, c.qDim + c.kvDim)
        }
        let extra = extraValues
        extraOffsets = (0..<L).map { 2 * L * 2 * H + $0 * 2 * extra }
        streamsOffset = Self.pad(2 * L * 2 * H + L * 2 * extra, Self.alignment)
        pairBytes = 2 * stages[0].tileBytes
        pairsPerLayer = stages.reduce(0) { $0 + $1.rounds * $1.slices }
        pairsPerChannel = L * pairsPerLayer
        channelBytes = pairsPerChannel * pairBytes
        weightsBytes = streamsOffset + Self.channels * channelBytes
        guard streamsOffset + Self.channels * pairBytes < 1 << 31 else {
            throw fail("the weight channels' first pairs start past 2^31 bytes of the weights BO (NpuAddressPatchOp arg_plus is 32-bit)")
        }

        // KV, block-major: (block, layer, group, head in group, K|V, row, headDim); a block of every layer and group
        // is one slab, so each transfer starts inside the first slab (below 2^31 bytes)
        kvElements = blocks * L * kvGroups * headsPerGroup * 2 * blockSize * hd
        // kv_row runs from base(pos) to the last layer's last head's V row end: off(L−1, G−1, gk−1, V) + hd
        kvRowElements = L * kvGroups * headsPerGroup * 2 * blockSize * hd - blockSize * hd + hd
        guard 2 * L * kvGroups * headsPerGroup * 2 * blockSize * hd < 1 << 31 else {
            throw fail("one KV block of every layer is past 2^31 bytes: a KV transfer could not start in it (arg_plus is 32-bit)")
        }

        // io regions, each starting at a multiple of 32 bf16
        var cursor = 0
        func region(_ n: Int) -> Int {
            let at = cursor
            cursor = Self.pad(cursor + n, Self.alignment / 2)
            return at
        }
        ioParams = region(paramsValues)
        ioX = region(H)
        var regions: [LayerRegions] = []
        for _ in 0..<L {
            let qkvSlots = stages[0].paddedRows * (c.family == .llama ? 1 : 2)   // = self.qkvSlots
            regions.append(LayerRegions(qkv: region(qkvSlots), o: region(stages[1].paddedRows),
                                        gu: region(stages[2].paddedRows), d: region(stages[3].paddedRows),
                                        packs: region(nkv * pack), kqv: region(Q), attnNorm: region(H), ffnInp: region(H),
                                        ffnNorm: region(H), act: region(F), lOut: region(H), qkvFused: region(fusedValues)))
        }
        layers = regions
        ioXFinal = region(H)
        ioResultNorm = region(H)
        ioLogits = region(self.lmHead.stage.paddedRows)
        ioBests = region(Self.gemvCores * self.lmHead.tm)
        ioToken = region(self.lmHead.hubSlice)      // the LM head hub's object (a whole head: layout.py IOLayout)
        ioElements = cursor
        try checkCores(manifest.device)
    }

    // MARK: - KV

    /// Elements of one KV head's block pair (K block ‖ V block), of one block half, of one group's block (the kvg
    /// object: gk heads), and of one block of every layer and group (a slab: the stride between a group's blocks).
    public var kvHeadStride: Int { 2 * block * config.headDim }
    public var kvHalfStride: Int { block * config.headDim }
    public var kvChunk: Int { headsPerGroup * kvHeadStride }
    public var kvSlab: Int { config.layerCount * kvGroups * kvChunk }

    /// off(l, grp, i, kv): element offset in the KV BO of layer l, group grp, head i of the group, K (false) or V
    /// (true), block 0 row 0 — and, relative to kv_row, of the token's row (static).
    public func kvOffset(layer l: Int, group: Int, head i: Int, value: Bool) -> Int {
        ((l * kvGroups + group) * headsPerGroup + i) * kvHeadStride + (value ? kvHalfStride : 0)
    }

    /// base(pos): kv_row's first element in the KV BO for position `pos`.
    public func kvRowBase(position pos: Int) -> Int {
        (pos / block) * kvSlab + (pos % block) * config.headDim
    }

    /// Element of the KV BO holding K (or V) of KV head h, layer l, position pos, dimension d.
    public func kvElement(layer l: Int, kvHead h: Int, position pos: Int, value: Bool, dim d: Int) -> Int {
        kvOffset(layer: l, group: h / headsPerGroup, head: h % headsPerGroup, value: value) + kvRowBase(position: pos) + d
    }

    /// The smallest bucket covering positions 0...pos.
    public func bucket(forPosition pos: Int) -> Int {
        let needed = (pos + 1 + block - 1) / block
        return buckets.first { $0 >= needed } ?? buckets.last!
    }

    // MARK: - Names

    /// The decode token kernel of a bucket: decode_<projection dtype>_b<bucket>.
    public func kernelName(bucket: Int) -> String {
        "decode_\(projectionDType.rawValue.lowercased())_b\(bucket)"
    }

    /// Bytes of the io BO the host writes per token (params and the embedding row): the first regions.
    public var hostInputBytes: Int { 2 * (ioX + config.hiddenSize) }

    // MARK: - Per-core budgets (what the emulated driver's arenas hold; checked at plan time)

    /// Bytes of the buffers of a gemv core, the hub core and an attention core in the decode token run
    /// (decode_token.py's Buffers and the fifo objects on each core), each 64-byte aligned as IRON places them;
    /// Kernels/drivers/decode_driver.cc allocates the same in its 63 KB arenas. (The LM head run's: `lmHead.coreBytes`.)
    public var coreBytes: (gemv: Int, hub: Int, attention: Int) {
        func sum(_ sizes: [Int]) -> Int { sizes.reduce(0) { Self.pad($0, Self.alignment) + $1 } }
        let c = config, S = 2 * hubSlice, H = 2 * c.hiddenSize
        let kmax = stages.map(\.k).max()!, tile = stages[0].tileBytes
        let gemv = sum([S, S, 2 * kmax, 2 * tk, tile, tile, 4 * tm, 2 * tm, 2 * tm])
        // issue 17 (decode_token.py qwen_step): hub_row (one head of fp32 q/k/v, 2·headDim slots), then Qwen2's hub_qkvb
        // and hub_bias, or Qwen3's hub_qkn
        let row = 4 * c.headDim
        let qwen = c.family == .qwen2 ? [row, 2 * extraValues, 2 * extraValues] : c.family == .qwen3 ? [row, 2 * extraValues] : []
        let hub = sum([S, S, S, S, S, S, 2 * paramsValues, 2 * c.headDim, H, H, H, H, 2 * (c.qDim + c.kvDim),
                       2 * (c.qDim + c.kvDim), 2 * c.kvDim, 2 * pack, 2 * tm, 2 * tm, 2 * tm] + qwen)
        let attention = sum([2 * pack, 2 * kvHeadStride, 2 * kvHeadStride, 2 * c.groupSize * c.headDim,
                             4 * c.groupSize * (c.headDim + 16), 4 * block])
        return (gemv, hub, attention)
    }

    func checkCores(_ device: KernelDevice) throws {
        let budget = device.coreBytes - device.coreStackBytes
        let b = coreBytes
        for (role, bytes) in [("gemv", b.gemv), ("hub", b.hub), ("attention", b.attention)] where bytes > budget {
            throw KernelPlanError(use: "decode", message: "a \(role) core needs \(bytes) bytes of buffers, more than the \(budget) a core has after its stack (tm=\(tm), tk=\(tk))")
        }
    }
}
