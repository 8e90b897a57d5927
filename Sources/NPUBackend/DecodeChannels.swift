// The decode token's DMA traffic from its layout: exact bytes per shim channel and per memory-tile channel in every phase (hub, gemv, attention per layer; the LM head), what the throughput model times.
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

/// One phase of the token: the runtime sequence waits between phases (a drain's data read back by a later fill),
/// so phases serialize; inside one, every channel streams at once.
public struct DecodePhase: Sendable {
    public enum Kind: String, Sendable { case hub, gemv, attention }
    public var name: String
    public var kind: Kind
    public var bytes: [DecodeChannel: Int]
    /// Waits (a drain that a later fill reads, `wait=True` in the runtime sequence) that end this phase.
    public var waits: Int
    public init(name: String, kind: Kind, bytes: [DecodeChannel: Int], waits: Int) {
        self.name = name
        self.kind = kind
        self.bytes = bytes
        self.waits = waits
    }
    /// Bytes that cross the DRAM interface (shim channels).
    public var dramBytes: Int { bytes.filter { $0.key.dram }.reduce(0) { $0 + $1.value } }
}

extension DecodeLayout {
    /// Number of pack fifos (≤ 4 KV heads each) and of attention output joins.
    public var packFifos: Int { (config.kvHeadCount + 3) / 4 }

    /// The token's phases in order with every channel's bytes, for a kernel reading `bucket` KV blocks.
    public func phases(bucket: Int) -> [DecodePhase] {
        let c = config, H = c.hiddenSize, S = hubSlice, nkv = c.kvHeadCount
        var list: [DecodePhase] = []
        func hub(_ name: String, in i: Int, out o: Int, broadcast b: Int = 0, waits: Int = 0) {
            var bytes: [DecodeChannel: Int] = [.hubIn: 2 * i, .hubOut: 2 * o]
            if b > 0 { bytes[.broadcast] = 2 * b }
            list.append(DecodePhase(name: name, kind: .hub, bytes: bytes.filter { $0.value > 0 }, waits: waits))
        }
        func gemv(_ name: String, _ stage: Stage) {
            let s = stages[stage.rawValue]
            var bytes: [DecodeChannel: Int] = [:]
            for ch in 0..<Self.channels {
                bytes[.weights(ch)] = s.channelBytes
                bytes[DecodeChannel(kind: .memTileS2MM, name: "col \(ch / 2) weights \(ch % 2)")] = s.channelBytes
            }
            let out = s.rounds * 2 * tm + (stage == .lm ? 2 * tm : 0)   // per core: its tiles' rows (and the LM best)
            for g in 0..<Self.gemvCores {
                bytes[DecodeChannel(kind: .memTileMM2S, name: "col \(g / 4) to core \(g % 4)")] = s.channelBytes / 2
                bytes[DecodeChannel(kind: .memTileS2MM, name: "col \(g / 4) from core \(g % 4)")] = out
            }
            for col in 0..<Self.columns {
                bytes[.gemvDrain(col)] = 4 * out
                bytes[DecodeChannel(kind: .memTileMM2S, name: "col \(col) join")] = 4 * out
            }
            list.append(DecodePhase(name: name, kind: .gemv, bytes: bytes, waits: 1))   // its drain is read back
        }
        for l in 0..<c.layerCount {
            let p = "layer \(l) "
            hub(p + "hub: attn_norm", in: (l == 0 ? paramsValues + H : 0) + H, out: H, broadcast: H)
            gemv(p + "gemv QKV", .qkv)                                  // wait: qkv drained, read back
            hub(p + "hub: RoPE, packs, K/V rows", in: c.qDim + 2 * c.kvDim, out: nkv * pack + 2 * c.kvDim, waits: 1)   // packs
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
        hub("hub: result_norm", in: H, out: H, broadcast: H)
        gemv("gemv LM", .lm)                                             // wait: bests
        hub("hub: argmax merge", in: Self.gemvCores * tm, out: S)
        return list
    }

    /// Waits per token: 6 per layer (qkv, packs, kqv_out, o, gu, d read back) and the LM bests.
    public var waitsPerToken: Int { 6 * config.layerCount + 1 }

    /// Every channel's bytes over the token.
    public func channelTotals(bucket: Int) -> [DecodeChannel: Int] {
        var total: [DecodeChannel: Int] = [:]
        for p in phases(bucket: bucket) { for (k, v) in p.bytes { total[k, default: 0] += v } }
        return total
    }

    /// Bytes per argument over the token: (weights read, kv read, kv_row written, io read, io written).
    public func argumentBytes(bucket: Int) -> (weights: Int, kv: Int, kvRow: Int, ioRead: Int, ioWritten: Int) {
        let c = config, H = c.hiddenSize
        let norms = 2 * H * (2 * c.layerCount + 1)
        let weights = Self.channels * channelBytes + norms
        let kv = c.layerCount * kvGroups * 2 * bucket * kvChunk
        let kvRow = c.layerCount * 2 * 2 * c.kvDim
        let t = channelTotals(bucket: bucket)
        let mm2s = t.filter { $0.key.kind == .shimMM2S }.reduce(0) { $0 + $1.value }
        let s2mm = t.filter { $0.key.kind == .shimS2MM }.reduce(0) { $0 + $1.value }
        return (weights, kv, kvRow, mm2s - weights - kv, s2mm - kvRow)
    }
}
