// The DMA traffic of a token's two runs from their layouts: exact bytes per shim channel and per memory-tile channel in every phase (the decode token's hub, gemv, attention per layer; the LM head run's), what the throughput model times.
import LlamaCore

/// A DMA channel the decode token uses. Shim channels touch DDR (MM2S reads it, S2MM writes it); memory-tile
/// channels split and join on chip; the hub's x_bcast is a core's output channel.
public struct DecodeChannel: Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable, CaseIterable { case shimMM2S = "shim MM2S", shimS2MM = "shim S2MM",
                                                            memTileS2MM = "memory tile S2MM", memTileMM2S = "memory tile MM2S",
                                                            core = "core MM2S" }
    public var kind: Kind
    public var name: String
    public var description: String { "\(kind.rawValue) \(name)" }
    public var dram: Bool { kind == .shimMM2S || kind == .shimS2MM }

    /// Weight channel (c, j), index 2c + j: shim c's MM2S j.
    public static func weights(_ index: Int) -> DecodeChannel { .init(kind: .shimMM2S, name: "weights(\(index / 2),\(index % 2))") }
    public static let hubIn = DecodeChannel(kind: .shimMM2S, name: "hub_in")
    public static func kv(_ group: Int) -> DecodeChannel { .init(kind: .shimMM2S, name: "kvg\(group)") }
    public static func packs(_ i: Int) -> DecodeChannel { .init(kind: .shimMM2S, name: "packs\(i)") }
    public static func gemvDrain(_ column: Int) -> DecodeChannel { .init(kind: .shimS2MM, name: "gemv_out(col \(column))") }
    public static let hubOut = DecodeChannel(kind: .shimS2MM, name: "hub_out")
    public static func attentionDrain(_ i: Int) -> DecodeChannel { .init(kind: .shimS2MM, name: "attn_out\(i)") }
    public static let broadcast = DecodeChannel(kind: .core, name: "hub x_bcast")
}

/// One phase of a run: the runtime sequence waits between phases (a drain's data read back by a later fill), and the
/// runlist runs the LM head after the decode token, so phases serialize; inside one, every channel streams at once.
public struct DecodePhase: Sendable {
    public enum Kind: String, Sendable { case hub, gemv, attention }
    public var name: String
    public var kind: Kind
    public var bytes: [DecodeChannel: Int]
    /// Waits (a drain that a later fill reads, `wait=True` in the runtime sequence) that end this phase.
    public var waits: Int
    /// The run it belongs to: "decode token" or "LM head".
    public var run: String
    public init(name: String, kind: Kind, bytes: [DecodeChannel: Int], waits: Int, run: String = "decode token") {
        self.name = name
        self.kind = kind
        self.bytes = bytes
        self.waits = waits
        self.run = run
    }
    /// Bytes that cross the DRAM interface (shim channels).
    public var dramBytes: Int { bytes.filter { $0.key.dram }.reduce(0) { $0 + $1.value } }
}

extension DecodeLayout {
    /// Number of pack fifos (≤ 4 KV heads each) and of attention output joins.
    public var packFifos: Int { (config.kvHeadCount + 3) / 4 }

    /// A hub phase: values in through hub_in, out through hub_out, and to the gemv cores through x_bcast.
    static func hubPhase(_ name: String, in i: Int, out o: Int, broadcast b: Int = 0, waits: Int = 0) -> DecodePhase {
        var bytes: [DecodeChannel: Int] = [.hubIn: 2 * i, .hubOut: 2 * o]
        if b > 0 { bytes[.broadcast] = 2 * b }
        return DecodePhase(name: name, kind: .hub, bytes: bytes.filter { $0.value > 0 }, waits: waits)
    }

    /// A gemv phase: every weight channel's share of the stage through its memory tile to its two cores, each core's
    /// output rows (and, for the LM stage, its best object) joined per column and drained; its drain is read back.
    static func gemvPhase(_ name: String, _ s: StageShape, tm: Int, f32: Bool = false) -> DecodePhase {
        var bytes: [DecodeChannel: Int] = [:]
        for ch in 0..<channels {
            bytes[.weights(ch)] = s.channelBytes
            bytes[DecodeChannel(kind: .memTileS2MM, name: "col \(ch / 2) weights \(ch % 2)")] = s.channelBytes
        }
        // per core: its tiles' rows (fp32 for a Qwen QKV stage: two objects of tm slots per round), and the LM best
        let out = s.rounds * 2 * tm * (f32 ? 2 : 1) + (s.stage == .lm ? 2 * tm : 0)
        for g in 0..<gemvCores {
            bytes[DecodeChannel(kind: .memTileMM2S, name: "col \(g / 4) to core \(g % 4)")] = s.channelBytes / 2
            bytes[DecodeChannel(kind: .memTileS2MM, name: "col \(g / 4) from core \(g % 4)")] = out
        }
        for col in 0..<columns {
            bytes[.gemvDrain(col)] = 4 * out
            bytes[DecodeChannel(kind: .memTileMM2S, name: "col \(col) join")] = 4 * out
        }
        return DecodePhase(name: name, kind: .gemv, bytes: bytes, waits: 1)
    }

    /// The decode token run's phases in order with every channel's bytes, for a kernel reading `bucket` KV blocks.
    public func phases(bucket: Int) -> [DecodePhase] {
        let c = config, H = c.hiddenSize, nkv = c.kvHeadCount
        var list: [DecodePhase] = []
        func hub(_ name: String, in i: Int, out o: Int, broadcast b: Int = 0, waits: Int = 0) {
            list.append(Self.hubPhase(name, in: i, out: o, broadcast: b, waits: waits))
        }
        func gemv(_ name: String, _ stage: Stage) {
            list.append(Self.gemvPhase(name, stages[stage.rawValue], tm: tm, f32: stage == .qkv && qkvF32))
        }
        for l in 0..<c.layerCount {
            let p = "layer \(l) "
            hub(p + "hub: attn_norm", in: (l == 0 ? paramsValues + H : 0) + H, out: H, broadcast: H)
            gemv(p + "gemv QKV", .qkv)                                  // wait: qkv drained, read back
            // issue 17: a Qwen layer's extra weights and fp32 q/k/v rows (2 slots a value) in, its fused rows out
            // (qkv_fused, awaited with the packs)
            hub(p + "hub: RoPE, packs, K/V rows", in: (c.qDim + 2 * c.kvDim) * (qkvF32 ? 2 : 1) + extraValues,
                out: nkv * pack + 2 * c.kvDim + fusedValues, waits: 1)   // packs
            var a: [DecodeChannel: Int] = [:]
            for i in 0..<packFifos {
                let n = min(4, nkv - 4 * i)
                a[.packs(i)] = 2 * n * pack
                a[DecodeChannel(kind: .memTileS2MM, name: "packs\(i)")] = 2 * n * pack
                a[.attentionDrain(i)] = 2 * n * c.groupSize * c.headDim
                a[DecodeChannel(kind: .memTileMM2S, name: "attn join \(i)")] = 2 * n * c.groupSize * c.headDim
            }
            for h in 0..<nkv {
                a[DecodeChannel(kind: .memTileMM2S, name: "pack to head \(h)")] = 2 * pack
                a[DecodeChannel(kind: .memTileMM2S, name: "kv to head \(h)")] = 2 * bucket * kvHeadStride
                a[DecodeChannel(kind: .memTileS2MM, name: "attn from head \(h)")] = 2 * c.groupSize * c.headDim
            }
            for g in 0..<kvGroups {
                a[.kv(g)] = 2 * bucket * kvChunk
                a[DecodeChannel(kind: .memTileS2MM, name: "kvg\(g)")] = 2 * bucket * kvChunk
            }
            list.append(DecodePhase(name: p + "attention", kind: .attention, bytes: a, waits: 1))   // kqv
            hub(p + "hub: kqv_out", in: c.qDim, out: 0, broadcast: c.qDim)
            gemv(p + "gemv O", .o)
            hub(p + "hub: ffn_inp, ffn_norm", in: 2 * H, out: 2 * H, broadcast: H)
            gemv(p + "gemv GU", .gu)
            hub(p + "hub: SwiGLU", in: 2 * c.intermediateSize, out: c.intermediateSize, broadcast: c.intermediateSize)
            gemv(p + "gemv D", .d)
            hub(p + "hub: l_out", in: H, out: H)
        }
        hub("hub: x_final", in: 0, out: H)
        return list
    }

    /// The LM head run's phases: output_norm_w (lm_weights) and x_final in, result_norm out and broadcast; the LM
    /// stage (its drain of the bests read back: one wait); the bests in, the token out.
    public var lmHeadPhases: [DecodePhase] {
        let H = config.hiddenSize, lm = lmHead
        return [Self.hubPhase("hub: result_norm", in: 2 * H, out: H, broadcast: H),
                Self.gemvPhase("gemv LM", lm.stage, tm: lm.tm),
                Self.hubPhase("hub: argmax merge", in: Self.gemvCores * lm.tm, out: lm.hubSlice)]   // the LM head hub's object (a head)
            .map { var p = $0; p.run = "LM head"; return p }
    }

    /// A token's phases in the order its runlist runs them: the decode token's, then the LM head's when it runs.
    public func tokenPhases(bucket: Int, lmHead: Bool = true) -> [DecodePhase] {
        phases(bucket: bucket) + (lmHead ? lmHeadPhases : [])
    }

    /// Waits in the decode token run: 6 per layer (qkv, packs, kqv_out, o, gu, d read back).
    public var waitsPerToken: Int { 6 * config.layerCount }
    /// Waits in the LM head run: its bests read back.
    public var lmHeadWaits: Int { 1 }

    /// Every channel's bytes over the decode token run.
    public func channelTotals(bucket: Int) -> [DecodeChannel: Int] { Self.totals(phases(bucket: bucket)) }
    /// Every channel's bytes over the LM head run.
    public var lmHeadChannelTotals: [DecodeChannel: Int] { Self.totals(lmHeadPhases) }
    /// Every channel's bytes over a token's runlist (both runs; the LM head shares the decode token's channels).
    public func tokenChannelTotals(bucket: Int, lmHead: Bool = true) -> [DecodeChannel: Int] {
        Self.totals(tokenPhases(bucket: bucket, lmHead: lmHead))
    }

    static func totals(_ phases: [DecodePhase]) -> [DecodeChannel: Int] {
        var total: [DecodeChannel: Int] = [:]
        for p in phases { for (k, v) in p.bytes { total[k, default: 0] += v } }
        return total
    }

    /// Bytes per argument over the decode token run: (weights read, kv read, kv_row written, io read, io written).
    public func argumentBytes(bucket: Int) -> (weights: Int, kv: Int, kvRow: Int, ioRead: Int, ioWritten: Int) {
        let c = config, H = c.hiddenSize
        // the layers' norms and (issue 17) a Qwen family's biases or q/k norms, which the hub reads from the weights BO
        let norms = 2 * H * 2 * c.layerCount + 2 * extraValues * c.layerCount
        let weights = Self.channels * channelBytes + norms
        let kv = c.layerCount * kvGroups * 2 * bucket * kvChunk
        let kvRow = c.layerCount * 2 * 2 * c.kvDim
        let (mm2s, s2mm) = Self.shimBytes(channelTotals(bucket: bucket))
        return (weights, kv, kvRow, mm2s - weights - kv, s2mm - kvRow)
    }

    /// Bytes per argument over the LM head run: (lm_weights read, io read, io written).
    public var lmHeadArgumentBytes: (weights: Int, ioRead: Int, ioWritten: Int) {
        let weights = Self.channels * lmHead.channelBytes + 2 * config.hiddenSize
        let (mm2s, s2mm) = Self.shimBytes(lmHeadChannelTotals)
        return (weights, mm2s - weights, s2mm)
    }

    /// Bytes read from DDR (shim MM2S) and written to it (shim S2MM).
    static func shimBytes(_ totals: [DecodeChannel: Int]) -> (mm2s: Int, s2mm: Int) {
        (totals.filter { $0.key.kind == .shimMM2S }.reduce(0) { $0 + $1.value },
         totals.filter { $0.key.kind == .shimS2MM }.reduce(0) { $0 + $1.value })
    }
}
