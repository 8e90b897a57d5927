// PrefillLayout: the one Swift source of issue 13's prefill numbers — one run of prefill_<w>_b<bucket> per prompt chunk of C = block rows for every layer: the pio BO's regions, kv_blk (the chunk's block of the block-major cache), the KV group fills, the row core's object U, the kernel names and arguments.
//
// The contract: Kernels/decode/README.md "Prefill", its Python twin Kernels/decode/layout.py `PrefillLayout` (printed
// by `Tools/decode_designs.py --layout-json --prefill`, compared with this by PythonMirrorTests) and the design
// Kernels/decode/prefill.py; realised on the emulated device by Kernels/drivers/prefill_driver.cc. The prefill run
// reads decode's weights BO and KV BO as they are (DecodeLayout), writes the chunk's block through kv_blk, every
// intermediate of the C rows into pio (its own BO), and the last prompt row's final residual into decode's io
// x_final, which the LM head run (unchanged) reads.
import LlamaCore

public struct PrefillLayout: Sendable, Equatable {
    /// pio's per-layer regions, in layout order (layer.py LAYER_REGIONS).
    public enum Region: String, CaseIterable, Sendable {
        case attnNorm = "attn_norm", qkv, qkvFused = "qkv_fused", qpack, kqv, o, ffnInp = "ffn_inp", ffnNorm = "ffn_norm",
             gu, act, d, lOut = "l_out"
    }

    /// The chunk header: int32[8] [start, rows, 1, bucket, 0…] in 16 bf16 slots.
    public static let headerValues = 16
    /// The row core's object is at most this many values (2 KB).
    public static let unitMax = 1024
    /// aie::mmul<8, 8, 8> (aieApi.mmul.bf16Shapes): C, tm, tk, headDim and the block are multiples of it.
    public static let mmul = 8
    /// The attention core's output piece: 8 query rows of one head.
    public static let attentionRows = 8
    /// rmsnorm_sum_bf16's fp32 lanes (the row core's pr_acc).
    public static let normLanes = 32

    public let decode: DecodeLayout
    public var config: ModelConfig { decode.config }
    /// Chunk rows (= the attention block), the row core's object U, its row buffers RM = H (issue 17: rows arrive and
    /// leave as U-value objects; RMSNorm sums a row's squares into `normLanes` fp32 lanes, then scales it out).
    public let chunk: Int, unit: Int, rowValues: Int
    /// KV group fills of the prefill: KG groups of kgk heads (2 when kvHeads is even, else 1); pack fifo g holds
    /// group g's heads.
    public let kvGroupCount: Int, kvGroupHeads: Int
    /// Attention cores per KV group (`lanes`: the largest divisor of grp at most 4; core n takes query index
    /// r·lanes + n of each of the group's heads in turn, repeat r < reps = grp / lanes): the group's K‖V blocks are
    /// broadcast to its lanes, so read `reps` times per layer (once when grp ≤ 4).
    public let lanes: Int, reps: Int
    /// A pack object (one query head's C roped rows, then one header row) and one head's K block ‖ V block.
    public let packValues: Int, kvHeadBlock: Int
    /// pio (bf16 elements): head regions hdr, cs, x; per layer regions at layerBase + l·layerStride + layerOffsets.
    public let pioHeader: Int, pioCS: Int, pioX: Int, layerBase: Int, layerStride: Int, pioElements: Int
    public let sizes: [String: Int]
    /// The per-layer regions this model's layout has, in order: every Region but qkvFused, which only a Qwen family
    /// has (issue 17).
    public let regions: [Region]
    /// Issue 17 (Qwen): the family core's fused q ‖ k ‖ v row (qDim + 2·kvDim values, the biases added or q and k
    /// normed; 0 for Llama), the family's weights per layer (decode's extraValues) and how many times over their fill
    /// reads them into one U-value object (Qwen3's q_norm ‖ k_norm: U / (2·headDim); else 1).
    public let fusedValues: Int, extraRepeats: Int
    /// Issue 17 (Qwen, single rounding): the QKV stage writes its fp32 rows (two C/2-row objects per round,
    /// prefill_mm_out_f32) and the family core rounds once; pio qkv then holds C rows of 2·R_QKV bf16-typed slots
    /// (fp32 value n at slots 2n, 2n + 1; decode's `qkvF32` convention).
    public var qkvF32: Bool { fusedValues > 0 }
    public let layerOffsets: [Region: Int]
    public let rowStrides: [String: Int]
    /// The GEMM cores' activation slice objects (xb's depth at each core): 2, or 1 when a core's buffers would exceed
    /// its budget with 2 — bf16 at head_dim 128 (tm 128, C 32: two 16 KB weight tiles; 65536 B double-buffered,
    /// 61440 B single) — the weight tiles staying double-buffered (layout.py `x_depth`; task G).
    public let xDepth: Int

    public static func == (a: PrefillLayout, b: PrefillLayout) -> Bool { a.decode == b.decode }

    /// The prefill layout of a decode layout for cores of `coreBudget` bytes (data memory less stack); throws
    /// `KernelPlanError` (use "prefill") naming a rule a shape breaks.
    public init(_ d: DecodeLayout, coreBudget: Int) throws {
        func fail(_ m: String) -> KernelPlanError { KernelPlanError(use: "prefill", message: m) }
        let c = d.config, H = c.hiddenSize, F = c.intermediateSize, hd = c.headDim, Q = c.qDim, KV = c.kvDim
        let nkv = c.kvHeadCount, C = d.block, m = Self.mmul
        var why: [String] = []
        if C % m != 0 || d.tm % m != 0 || d.tk % m != 0 || hd % m != 0 {
            why.append("C=\(C), tm=\(d.tm), tk=\(d.tk), headDim=\(hd), block=\(d.block) must be multiples of \(m) (aie::mmul<8, 8, 8>)")
        }
        if C > 64 { why.append("C=\(C) rows > 64: the chunk's row iterations exceed the shim BD's 64 (shimBd.iterationSizeMax)") }
        if nkv > 8 || (nkv > 4 && nkv % 2 != 0) {
            why.append("kvHeads=\(nkv): the KV heads must split into at most 2 equal groups of at most 4 (the attention columns 5 and 6)")
        }
        guard why.isEmpty else { throw fail(why.joined(separator: "; ")) }
        decode = d
        chunk = C
        fusedValues = c.family == .llama ? 0 : Q + 2 * KV
        regions = Region.allCases.filter { $0 != .qkvFused || c.family != .llama }
        // U: the largest multiple of lcm(hd, tm) dividing hidden, qDim, 2·kvDim and ffn, at most unitMax
        func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }
        let g = [H, Q, 2 * KV, F].reduce(0, gcd)
        let base = hd * d.tm / gcd(hd, d.tm)
        guard let u = Array(stride(from: base, through: min(g, Self.unitMax), by: base)).last(where: { g % $0 == 0 }) else {
            throw fail("no row-core object size: lcm(headDim \(hd), tm \(d.tm)) = \(base) divides none of the common divisors of hidden \(H), qDim \(Q), 2·kvDim \(2 * KV), ffn \(F) up to \(Self.unitMax)")
        }
        unit = u
        if c.family != .llama && u % 32 != 0 {
            throw fail("the family core's fp32 objects hold U/2 = \(u / 2) values, not a multiple of 16 (bias_add_f32_bf16 / round_f32_bf16 work 16 lanes at a time)")
        }
        if c.family == .qwen3 && u % d.extraValues != 0 {
            throw fail("qwen3's q_norm ‖ k_norm (\(d.extraValues) values) do not divide the row core's object U=\(u): the row core cannot take them as one object")
        }
        extraRepeats = c.family == .qwen3 ? u / d.extraValues : 1
        // H (issue 17: the row core streams its rows in U-value objects); a family core's buffers (their type shared)
        // hold a fused q ‖ k ‖ v row
        rowValues = max(H, fusedValues)
        kvGroupCount = nkv % 2 == 0 ? 2 : 1   // 2 groups when the heads split evenly (more lanes); pack fifo g = group g
        kvGroupHeads = nkv / kvGroupCount
        let grp = c.groupSize
        lanes = (1...min(grp, 4)).last { grp % $0 == 0 }!
        reps = grp / lanes
        packValues = C * hd + hd
        kvHeadBlock = 2 * d.block * hd
        // pio regions, each at a multiple of 32 values
        let st = d.stages
        let R = (qkv: st[0].paddedRows, o: st[1].paddedRows, gu: st[2].paddedRows, d: st[3].paddedRows)
        var size: [String: Int] = ["hdr": u, "cs": C * u, "x": C * H]
        var layerSizes: [Region: Int] = [.attnNorm: C * H, .qkv: C * R.qkv * (c.family == .llama ? 1 : 2), .qpack: c.groupSize * nkv * packValues, .kqv: C * Q,
                                         .o: C * R.o, .ffnInp: C * H, .ffnNorm: C * H, .gu: C * R.gu, .act: C * F, .d: C * R.d,
                                         .lOut: C * H]
        if fusedValues > 0 { layerSizes[.qkvFused] = C * fusedValues }
        for (r, n) in layerSizes { size[r.rawValue] = n }
        sizes = size
        let align = DecodeLayout.alignment / 2
        var at = 0
        func place(_ n: Int) -> Int { let here = at; at = DecodeLayout.pad(at + n, align); return here }
        pioHeader = place(u)
        pioCS = place(C * u)
        pioX = place(C * H)
        layerBase = at
        var offsets: [Region: Int] = [:]
        for r in regions { offsets[r] = place(layerSizes[r]!) - layerBase }
        layerOffsets = offsets
        layerStride = at - layerBase
        pioElements = layerBase + c.layerCount * layerStride
        var strides = ["x": H, "attn_norm": H, "kqv": Q, "ffn_inp": H, "ffn_norm": H, "act": F, "l_out": H,
                       "qkv": R.qkv * (c.family == .llama ? 1 : 2), "o": R.o, "gu": R.gu, "d": R.d, "cs": u]
        if fusedValues > 0 { strides["qkv_fused"] = fusedValues }
        rowStrides = strides
        xDepth = Self.gemmBytes(d, chunk: C, xDepth: 2) > coreBudget ? 1 : 2
    }

    // MARK: - per-core budgets (issue 17)

    /// Bytes of the data memory a GEMM core and the row core take in prefill.py (fifo objects at their depths and
    /// Buffers, each 64-byte aligned as IRON places them; the stack apart; layout.py `PrefillLayout.core_bytes`):
    /// GEMM w tile ×2, xb C×tk ×xDepth, py C×tm, pacc C×tm f32, pscr tm×tk (Q4); row core 8 U-value fifo objects,
    /// three row buffers of `rowValues` (a norm's weights, the row being normed, the last prompt row), the header rows
    /// (U values) and the norm's fp32 lanes.
    public var coreBytes: (gemm: Int, row: Int) {
        let row = Self.sum(Array(repeating: 2 * unit, count: 8) + Array(repeating: 2 * rowValues, count: 3) + [2 * unit, 4 * Self.normLanes])
        return (Self.gemmBytes(decode, chunk: chunk, xDepth: xDepth), row)
    }

    static func sum(_ sizes: [Int]) -> Int { sizes.reduce(0) { DecodeLayout.pad($0, DecodeLayout.alignment) + $1 } }

    /// A GEMM core's buffers with its activation slice at `xDepth`.
    public static func gemmBytes(_ d: DecodeLayout, chunk C: Int, xDepth: Int) -> Int {
        let tile = d.stages[0].tileBytes, q4 = d.projectionDType != .bf16
        return sum([tile, tile] + Array(repeating: 2 * C * d.tk, count: xDepth) + [2 * C * d.tm, 4 * C * d.tm]
                   + (q4 ? [2 * d.tm * d.tk] : []))
    }

    /// Throws when a core's buffers exceed `budget` (its data memory less its stack). Since task G every shape the
    /// plan makes fits: a bf16 GEMM core at head_dim 128 takes its activation slice single-buffered (xDepth 1).
    public func checkCores(budget: Int) throws {
        let b = coreBytes
        let over = [("gemm", b.gemm), ("row", b.row)].filter { $0.1 > budget }
        guard over.isEmpty else {
            throw KernelPlanError(use: "prefill", message: over.map {
                "a \($0.0) core needs \($0.1) bytes of buffers, more than the \(budget) a core has after its stack (C=\(chunk), tm=\(decode.tm), tk=\(decode.tk), U=\(unit), row values=\(rowValues))"
            }.joined(separator: "; "))
        }
    }

    // MARK: - pio

    public var pioBytes: Int { 2 * pioElements }
    /// Element offset of a per-layer pio region.
    public func pio(_ r: Region, layer l: Int) -> Int { layerBase + l * layerStride + layerOffsets[r]! }
    /// Element offset of the pack of query index j (query head h·grp + j) of KV head h in layer l.
    public func qpack(layer l: Int, j: Int, kvHead h: Int) -> Int {
        pio(.qpack, layer: l) + (j * config.kvHeadCount + h) * packValues
    }
    /// Values per row of a C-row region.
    public func rowStride(_ r: Region) -> Int { rowStrides[r.rawValue]! }
    /// Bytes the host writes into pio before a chunk's run: hdr, cs, x.
    public var hostInputBytes: Int { 2 * layerBase }

    // MARK: - kv and kv_blk

    /// One block of every layer, KV head and K|V (decode's slab): kv_blk's elements.
    public var kvBlockElements: Int { decode.kvSlab }
    /// Element offset of head h's K (or V) block of layer l inside a block slab (heads contiguous within a layer).
    public func kvOffset(layer l: Int, kvHead h: Int, value: Bool) -> Int {
        (l * config.kvHeadCount + h) * kvHeadBlock + (value ? decode.block * config.headDim : 0)
    }
    /// Element of the KV BO where kv_blk starts for a chunk at `start` (a multiple of C).
    public func kvBlockBase(start: Int) -> Int {
        precondition(start % chunk == 0, "a prefill chunk starts at a multiple of \(chunk), not \(start)")
        return (start / chunk) * decode.kvSlab
    }
    /// KV group g's fill in layer l: (start element, blocks, elements per block, block stride, repeats): per repeat
    /// and head of the group in turn (kvHeadBlock apart), that head's K‖V blocks 0 … bucket-1, broadcast to the lanes.
    public func kvGroupFill(layer l: Int, group g: Int, bucket: Int)
        -> (start: Int, blocks: Int, elements: Int, stride: Int, repeats: Int) {
        (kvOffset(layer: l, kvHead: g * kvGroupHeads, value: false), bucket, kvHeadBlock, decode.kvSlab, reps)
    }
    /// The bucket a chunk at `start` runs: the smallest covering its C rows' blocks 0 … start/C.
    public func bucket(start: Int) -> Int {
        let need = start / chunk + 1
        return decode.buckets.first { $0 >= need } ?? decode.buckets.last!
    }

    // MARK: - kernels

    public func kernelName(bucket: Int) -> String { "prefill_\(decode.projectionDType.rawValue.lowercased())_b\(bucket)" }
    public var kernelNames: [String] { decode.buckets.map { kernelName(bucket: $0) } }
}

extension PrefillLayout {
    /// The prefill kernel's 5 data arguments (aiecc: opcode, instr, ninstr, then these): decode's weights and kv, the
    /// chunk's kv_blk, pio, decode's io (x_final written; its host range is decode's, untouched by this run).
    public var arguments: [DesignArgument] {
        let d = decode
        return [DesignArgument(name: "weights", bytes: d.weightsBytes, role: .weight),
                DesignArgument(name: "kv", bytes: 2 * d.kvElements, role: .kvCache),
                DesignArgument(name: "kv_blk", bytes: 2 * kvBlockElements, role: .kvBlock),
                DesignArgument(name: "pio", bytes: pioBytes, role: .prefillIO, hostInputBytes: hostInputBytes),
                DesignArgument(name: "io", bytes: 2 * d.ioElements, role: .io, hostInputBytes: d.hostInputBytes)]
    }
}
