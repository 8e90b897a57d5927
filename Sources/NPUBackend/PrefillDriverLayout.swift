// The prefill run as an emulated kernel: `npuk_prefill_layout` filled from a PrefillLayout for one bucket (with the per-layer arrays it points to), and the driver's per-channel counts under PrefillChannel's names.
import LlamaCore
import NPUKernels

/// `npuk_prefill_layout` for one bucket, owning its per-layer arrays.
public final class PrefillDriverLayout: @unchecked Sendable {
    public private(set) var raw = npuk_prefill_layout()
    private let attnNorm: UnsafeMutablePointer<Int64>
    private let ffnNorm: UnsafeMutablePointer<Int64>
    private let pioLayer: UnsafeMutablePointer<npuk_prefill_io_layer>
    private let extra: UnsafeMutablePointer<Int64>   // issue 17: the family's weights per layer (unused for Llama)

    public init(_ p: PrefillLayout, bucket: Int, execute: Bool = true) {
        let d = p.decode, c = d.config, L = c.layerCount
        attnNorm = .allocate(capacity: L)
        ffnNorm = .allocate(capacity: L)
        pioLayer = .allocate(capacity: L)
        extra = .allocate(capacity: L)
        for i in 0..<L {
            extra[i] = d.extraValues > 0 ? Int64(d.extraOffsets[i]) : 0
            attnNorm[i] = Int64(d.attnNormOffsets[i])
            ffnNorm[i] = Int64(d.ffnNormOffsets[i])
            func o(_ r: PrefillLayout.Region) -> Int64 { Int64(p.pio(r, layer: i)) }
            pioLayer[i] = npuk_prefill_io_layer(attn_norm: o(.attnNorm), qkv: o(.qkv), qpack: o(.qpack), kqv: o(.kqv), o: o(.o),
                                                ffn_inp: o(.ffnInp), ffn_norm: o(.ffnNorm), gu: o(.gu), act: o(.act), d: o(.d),
                                                l_out: o(.lOut), qkv_fused: p.fusedValues > 0 ? o(.qkvFused) : 0)
        }
        var r = npuk_prefill_layout()
        r.hidden = Int32(c.hiddenSize); r.q_dim = Int32(c.qDim); r.kv_dim = Int32(c.kvDim); r.ffn = Int32(c.intermediateSize)
        r.layers = Int32(L); r.heads = Int32(c.headCount); r.kv_heads = Int32(c.kvHeadCount); r.head_dim = Int32(c.headDim)
        r.q_per_kv = Int32(c.groupSize); r.eps = c.rmsNormEps; r.adjacent = c.ropePairing == .adjacent ? 1 : 0
        r.tm = Int32(d.tm); r.tk = Int32(d.tk); r.block = Int32(d.block); r.blocks = Int32(d.blocks)
        r.chunk = Int32(p.chunk); r.unit = Int32(p.unit); r.row_values = Int32(p.rowValues); r.bucket = Int32(bucket)
        r.kv_fill_groups = Int32(p.kvGroupCount); r.kv_fill_heads = Int32(p.kvGroupHeads); r.pack = Int32(p.packValues)
        r.kv_lanes = Int32(p.lanes); r.x_depth = Int32(p.xDepth)
        r.execute = execute ? 1 : 0
        withUnsafeMutableBytes(of: &r.stage) { raw in
            let s = raw.bindMemory(to: npuk_decode_stage.self)
            for (i, st) in d.stages.enumerated() { s[i] = EmulatedDesigns.stage(st) }
        }
        r.streams_offset = Int64(d.streamsOffset); r.pair_bytes = Int64(d.pairBytes); r.pairs = Int64(d.pairsPerChannel)
        r.attn_norm = UnsafePointer(attnNorm); r.ffn_norm = UnsafePointer(ffnNorm); r.weights_bytes = Int64(d.weightsBytes)
        r.kv_slab = Int64(d.kvSlab); r.kv_head_block = Int64(p.kvHeadBlock); r.kv_elements = Int64(d.kvElements)
        r.pio_hdr = Int64(p.pioHeader); r.pio_cs = Int64(p.pioCS); r.pio_x = Int64(p.pioX); r.pio_elements = Int64(p.pioElements)
        r.row_qkv = Int64(p.rowStride(.qkv)); r.row_o = Int64(p.rowStride(.o)); r.row_gu = Int64(p.rowStride(.gu))
        r.row_d = Int64(p.rowStride(.d))
        r.pio_layer = UnsafePointer(pioLayer)
        r.io_x_final = Int64(d.ioXFinal); r.io_elements = Int64(d.ioElements)
        r.family = c.family == .qwen2 ? 1 : c.family == .qwen3 ? 2 : 0
        r.extra_values = Int32(d.extraValues); r.extra_repeats = Int32(p.extraRepeats)
        r.extra = UnsafePointer(extra)
        raw = r
    }

    public func executing(_ execute: Bool) -> npuk_prefill_layout {
        var r = raw
        r.execute = execute ? 1 : 0
        return r
    }

    deinit {
        attnNorm.deallocate()
        ffnNorm.deallocate()
        pioLayer.deallocate()
        extra.deallocate()
    }
}

/// The prefill run's DMA channels (README "Prefill": shims and memory tiles), under DecodeChannel's kinds.
public enum PrefillChannel {
    public static let xIn = DecodeChannel(kind: .shimMM2S, name: "xin")
    public static let rowMain = DecodeChannel(kind: .shimMM2S, name: "rmain")
    public static let rowSecond = DecodeChannel(kind: .shimMM2S, name: "rsecond")
    public static func kv(_ g: Int) -> DecodeChannel { .init(kind: .shimMM2S, name: "pkvg\(g)") }
    public static func packs(_ i: Int) -> DecodeChannel { .init(kind: .shimMM2S, name: "ppacks\(i)") }
    public static func gemmDrain(_ c: Int) -> DecodeChannel { .init(kind: .shimS2MM, name: "pgout(col \(c))") }
    public static let rowOut = DecodeChannel(kind: .shimS2MM, name: "rout")
    public static let rowAux = DecodeChannel(kind: .shimS2MM, name: "raux")
    /// Issue 17 (Qwen): the family core's input (weights, qkv rows) and output (fused rows), shim (7, 0).
    public static let familyIn = DecodeChannel(kind: .shimMM2S, name: "pfin")
    public static let familyOut = DecodeChannel(kind: .shimS2MM, name: "pfout")
    public static func attentionDrain(_ i: Int) -> DecodeChannel { .init(kind: .shimS2MM, name: "pattnj\(i)") }
    /// Memory tile (4, 1)'s blocked activation slices to the 16 GEMM cores (counted once).
    public static let broadcast = DecodeChannel(kind: .memTileMM2S, name: "xb (4,1) broadcast")
}

extension npuk_prefill_traffic {
    /// The driver's per-channel counts (channels that moved nothing left out).
    public func channels(_ p: PrefillLayout) -> [DecodeChannel: Int] {
        var out: [DecodeChannel: Int] = [PrefillChannel.xIn: Int(x_in), PrefillChannel.rowMain: Int(row_main),
                                         PrefillChannel.rowSecond: Int(row_second), PrefillChannel.rowOut: Int(row_out),
                                         PrefillChannel.rowAux: Int(row_aux), PrefillChannel.broadcast: Int(broadcast),
                                         PrefillChannel.familyIn: Int(family_in), PrefillChannel.familyOut: Int(family_out)]
        withUnsafeBytes(of: weight_channel) { r in
            for i in 0..<DecodeLayout.channels { out[.weights(i)] = Int(r.load(fromByteOffset: 8 * i, as: Int64.self)) }
        }
        withUnsafeBytes(of: kv_channel) { r in
            for i in 0..<p.kvGroupCount { out[PrefillChannel.kv(i)] = Int(r.load(fromByteOffset: 8 * i, as: Int64.self)) }
        }
        withUnsafeBytes(of: pack_channel) { r in
            for i in 0..<p.kvGroupCount { out[PrefillChannel.packs(i)] = Int(r.load(fromByteOffset: 8 * i, as: Int64.self)) }
        }
        withUnsafeBytes(of: attn_drain) { r in
            for i in 0..<p.kvGroupCount { out[PrefillChannel.attentionDrain(i)] = Int(r.load(fromByteOffset: 8 * i, as: Int64.self)) }
        }
        withUnsafeBytes(of: gemm_drain) { r in
            for i in 0..<DecodeLayout.columns { out[PrefillChannel.gemmDrain(i)] = Int(r.load(fromByteOffset: 8 * i, as: Int64.self)) }
        }
        return out.filter { $0.value > 0 }
    }
}
