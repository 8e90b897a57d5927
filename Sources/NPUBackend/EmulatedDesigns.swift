// The kernels of DecodeDesigns as emulated kernels: a decode token run calls npuk_decode_token (Kernels/drivers/decode_driver.cc), the LM head run npuk_lm_head (lm_head_driver.cc), with the layouts DecodeLayout computed, and each reports the bytes it moved.
import LlamaCore
import NPUKernels

/// `npuk_decode_layout` filled from a DecodeLayout for one bucket, with the per-layer arrays it points to (owned).
public final class DecodeDriverLayout: @unchecked Sendable {
    public private(set) var raw = npuk_decode_layout()
    private let attnNorm: UnsafeMutablePointer<Int64>
    private let ffnNorm: UnsafeMutablePointer<Int64>
    private let kvGroup: UnsafeMutablePointer<Int64>
    private let ioLayer: UnsafeMutablePointer<npuk_decode_io_layer>
    private let extra: UnsafeMutablePointer<Int64>

    public init(_ l: DecodeLayout, bucket: Int, execute: Bool = true) {
        let c = l.config, L = c.layerCount
        attnNorm = .allocate(capacity: L)
        ffnNorm = .allocate(capacity: L)
        kvGroup = .allocate(capacity: L * l.kvGroups)
        ioLayer = .allocate(capacity: L)
        extra = .allocate(capacity: L)
        for i in 0..<L {
            extra[i] = Int64(l.extraOffsets[i])
            attnNorm[i] = Int64(l.attnNormOffsets[i])
            ffnNorm[i] = Int64(l.ffnNormOffsets[i])
            for g in 0..<l.kvGroups { kvGroup[i * l.kvGroups + g] = Int64(l.kvOffset(layer: i, group: g, head: 0, value: false)) }
            let r = l.layers[i]
            ioLayer[i] = npuk_decode_io_layer(qkv: Int64(r.qkv), o: Int64(r.o), gu: Int64(r.gu), d: Int64(r.d), packs: Int64(r.packs),
                                              kqv: Int64(r.kqv), attn_norm: Int64(r.attnNorm), ffn_inp: Int64(r.ffnInp),
                                              ffn_norm: Int64(r.ffnNorm), act: Int64(r.act), l_out: Int64(r.lOut),
                                              qkv_fused: Int64(r.qkvFused))
        }
        var d = npuk_decode_layout()
        d.hidden = Int32(c.hiddenSize); d.q_dim = Int32(c.qDim); d.kv_dim = Int32(c.kvDim); d.ffn = Int32(c.intermediateSize)
        d.layers = Int32(L); d.heads = Int32(c.headCount); d.kv_heads = Int32(c.kvHeadCount)
        d.head_dim = Int32(c.headDim); d.q_per_kv = Int32(c.groupSize); d.eps = c.rmsNormEps
        d.adjacent = c.ropePairing == .adjacent ? 1 : 0
        d.tm = Int32(l.tm); d.tk = Int32(l.tk); d.hub_slice = Int32(l.hubSlice); d.block = Int32(l.block)
        d.blocks = Int32(l.blocks); d.bucket = Int32(bucket); d.kv_groups = Int32(l.kvGroups)
        d.heads_per_group = Int32(l.headsPerGroup); d.pack = Int32(l.pack); d.params = Int32(l.paramsValues)
        d.execute = execute ? 1 : 0
        withUnsafeMutableBytes(of: &d.stage) { raw in
            let p = raw.bindMemory(to: npuk_decode_stage.self)
            for (i, s) in l.stages.enumerated() { p[i] = EmulatedDesigns.stage(s) }
        }
        d.streams_offset = Int64(l.streamsOffset); d.pair_bytes = Int64(l.pairBytes); d.pairs = Int64(l.pairsPerChannel)
        d.attn_norm = UnsafePointer(attnNorm); d.ffn_norm = UnsafePointer(ffnNorm)
        d.weights_bytes = Int64(l.weightsBytes)
        d.kv_group = UnsafePointer(kvGroup)
        d.kv_chunk = Int64(l.kvChunk); d.kv_slab = Int64(l.kvSlab); d.kv_head_stride = Int64(l.kvHeadStride); d.kv_half_stride = Int64(l.kvHalfStride)
        d.kv_elements = Int64(l.kvElements); d.kv_row_elements = Int64(l.kvRowElements)
        d.io_params = Int64(l.ioParams); d.io_x = Int64(l.ioX); d.io_x_final = Int64(l.ioXFinal); d.io_elements = Int64(l.ioElements)
        d.io_layer = UnsafePointer(ioLayer)
        d.family = c.family == .qwen2 ? 1 : c.family == .qwen3 ? 2 : 0
        d.extra_values = Int32(l.extraValues); d.fused_values = Int32(l.fusedValues)
        d.extra = UnsafePointer(extra)
        raw = d
    }

    public func executing(_ execute: Bool) -> npuk_decode_layout {
        var d = raw
        d.execute = execute ? 1 : 0
        return d
    }

    deinit {
        attnNorm.deallocate()
        ffnNorm.deallocate()
        kvGroup.deallocate()
        ioLayer.deallocate()
        extra.deallocate()
    }
}

extension npuk_lm_layout {
    /// The LM head run's layout from a DecodeLayout (LMHeadLayout and the io regions).
    public init(_ l: DecodeLayout, execute: Bool = true) {
        self.init()
        let lm = l.lmHead
        hidden = Int32(l.config.hiddenSize); vocab = Int32(l.config.vocabSize)
        tm = Int32(lm.tm); tk = Int32(lm.tk); hub_slice = Int32(lm.hubSlice); eps = l.config.rmsNormEps
        self.execute = execute ? 1 : 0
        stage = EmulatedDesigns.stage(lm.stage)
        output_norm = Int64(lm.outputNormOffset); streams_offset = Int64(lm.streamsOffset); pair_bytes = Int64(lm.pairBytes)
        pairs = Int64(lm.pairsPerChannel); weights_bytes = Int64(lm.weightsBytes)
        io_x_final = Int64(l.ioXFinal); io_result_norm = Int64(l.ioResultNorm); io_logits = Int64(l.ioLogits)
        io_bests = Int64(l.ioBests); io_token = Int64(l.ioToken); io_elements = Int64(l.ioElements)
    }
}

extension npuk_decode_traffic {
    /// The driver's per-channel counts under the names DecodeChannel gives them (shim channels and the broadcast).
    public func channels(_ layout: DecodeLayout) -> [DecodeChannel: Int] {
        var out: [DecodeChannel: Int] = [.hubIn: Int(hub_in), .hubOut: Int(hub_out), .broadcast: Int(broadcast)]
        withUnsafeBytes(of: weight_channel) { r in
            for i in 0..<DecodeLayout.channels { out[.weights(i)] = Int(r.load(fromByteOffset: 8 * i, as: Int64.self)) }
        }
        withUnsafeBytes(of: kv_channel) { r in
            for i in 0..<layout.kvGroups { out[.kv(i)] = Int(r.load(fromByteOffset: 8 * i, as: Int64.self)) }
        }
        withUnsafeBytes(of: pack_channel) { r in
            for i in 0..<layout.packFifos { out[.packs(i)] = Int(r.load(fromByteOffset: 8 * i, as: Int64.self)) }
        }
        withUnsafeBytes(of: attn_drain) { r in
            for i in 0..<layout.packFifos { out[.attentionDrain(i)] = Int(r.load(fromByteOffset: 8 * i, as: Int64.self)) }
        }
        withUnsafeBytes(of: gemv_drain) { r in
            for i in 0..<DecodeLayout.columns { out[.gemvDrain(i)] = Int(r.load(fromByteOffset: 8 * i, as: Int64.self)) }
        }
        return out
    }
}

public enum EmulatedDesigns {
    /// An emulated xclbin with every decode design of `designs`.
    public static func device(for designs: DecodeDesigns) -> EmulatedDevice {
        EmulatedDevice(kernels: designs.all.map { spec(for: $0, designs) }, target: designs.manifest.target)
    }

    /// The baseline entry that tolerates a design binding more buffer arguments than aiecc emits, or nil.
    static func exemption(_ design: FusedDesign, _ manifest: KernelManifest) -> NPU2Exemption? {
        design.arguments.count > manifest.target.aieccBufferArguments ? manifest.baseline.bufferArguments[design.design] : nil
    }

    static func check(_ status: Int32, _ kernel: String) throws {
        guard status == 0 else {
            let why = status == 1 ? "NPUK_BAD_SHAPE (a shape or position the design cannot serve)" :
                status == 2 ? "NPUK_CORE_MEMORY (buffers exceed a core's or a memory tile's memory)" :
                status == 3 ? "NPUK_BAD_LAYOUT (a channel stream was not consumed exactly)" : "status \(status)"
            throw NPUDeviceError("run of \(kernel)", "the kernel driver failed: \(why)")
        }
        var bytes: Int32 = 0, remainder: Int32 = 0
        let misaligned = npuk_take_misaligned(&bytes, &remainder)
        guard misaligned == 0 else {
            throw NPUDeviceError("run of \(kernel)", "\(misaligned) misaligned vector accesses (the first: \(bytes) bytes at an address ≡ \(remainder) mod \(min(bytes, 64))); load_v/store_v read wrong data there on the NPU")
        }
    }

    /// A stage as the drivers take it.
    static func stage(_ s: DecodeLayout.StageShape) -> npuk_decode_stage {
        npuk_decode_stage(rows: Int64(s.rows), padded_rows: Int64(s.paddedRows), k: Int64(s.k), rounds: Int64(s.rounds),
                          tile_bytes: Int64(s.tileBytes), format: weightFormat(s.dtype), unused: 0)
    }

    /// The driver's weight format code (NPUK_WEIGHTS_*) of a dtype.
    static func weightFormat(_ dtype: DType) -> Int32 {
        switch dtype {
        case .q4_1: return Int32(NPUK_WEIGHTS_Q4_1)
        case .q4_0: return Int32(NPUK_WEIGHTS_Q4_0)
        default: return Int32(NPUK_WEIGHTS_BF16)
        }
    }

    public static func spec(for design: FusedDesign, _ d: DecodeDesigns) -> EmulatedKernelSpec {
        let name = design.kernelName
        let layout = d.layout
        var spec = EmulatedKernelSpec(name: name, arguments: design.arguments) { _ in
            preconditionFailure("the decode designs run through `measured`")
        }
        switch design.kind {
        case .decodeToken(let bucket):
            let driver = DecodeDriverLayout(layout, bucket: bucket)
            spec.measured = { p, execute in
                var traffic = npuk_decode_traffic()
                var raw = driver.executing(execute)
                try check(npuk_decode_token(&raw, p[0].assumingMemoryBound(to: UInt8.self), p[1].assumingMemoryBound(to: UInt16.self),
                                            p[2].assumingMemoryBound(to: UInt16.self), p[3].assumingMemoryBound(to: UInt16.self),
                                            &traffic), name)
                return RunTraffic(read: [Int(traffic.weights_read), Int(traffic.kv_read), 0, Int(traffic.io_read)],
                                  written: [0, 0, Int(traffic.kv_row_written), Int(traffic.io_written)],
                                  channels: traffic.channels(layout))
            }
            spec.phases = layout.phases(bucket: bucket)
        case .lmHead:
            spec.measured = { p, execute in
                var traffic = npuk_decode_traffic()
                var raw = npuk_lm_layout(layout, execute: execute)
                try check(npuk_lm_head(&raw, p[0].assumingMemoryBound(to: UInt8.self), p[1].assumingMemoryBound(to: UInt16.self),
                                       &traffic), name)
                return RunTraffic(read: [Int(traffic.weights_read), Int(traffic.io_read)], written: [0, Int(traffic.io_written)],
                                  channels: traffic.channels(layout).filter { $0.value > 0 })
            }
            spec.phases = layout.lmHeadPhases
        case .prefill(let bucket):
            let p = d.prefill!   // a prefill design exists only when PrefillLayout accepts the layout
            let driver = PrefillDriverLayout(p, bucket: bucket)
            spec.measured = { a, execute in
                var traffic = npuk_prefill_traffic()
                var raw = driver.executing(execute)
                try check(npuk_prefill_chunk(&raw, a[0].assumingMemoryBound(to: UInt8.self), a[1].assumingMemoryBound(to: UInt16.self),
                                             a[2].assumingMemoryBound(to: UInt16.self), a[3].assumingMemoryBound(to: UInt16.self),
                                             a[4].assumingMemoryBound(to: UInt16.self), &traffic), name)
                return RunTraffic(read: [Int(traffic.weights_read), Int(traffic.kv_read), 0, Int(traffic.pio_read), 0],
                                  written: [0, 0, Int(traffic.kv_blk_written), Int(traffic.pio_written), Int(traffic.io_written)],
                                  channels: traffic.channels(p))
            }
        }
        spec.exemption = exemption(design, d.manifest)
        return spec
    }
}
