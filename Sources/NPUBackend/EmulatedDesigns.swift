// The decode designs of DecodeDesigns as emulated kernels: each run calls the NPUKernels drivers (fused layer halves, LM head) on the device copies.
import LlamaCore
import NPUKernels

public enum EmulatedDesigns {
    /// An emulated xclbin with every decode design of `designs`.
    public static func device(for designs: DecodeDesigns) -> EmulatedDevice {
        EmulatedDevice(kernels: designs.all.map { spec(for: $0, designs) }, target: designs.plan.manifest.target)
    }

    /// The baseline entry that tolerates a design binding more buffer arguments than aiecc emits (the plan
    /// checked it: DesignLimits.checkBufferArguments), or nil.
    static func exemption(_ design: FusedDesign, _ manifest: KernelManifest) -> NPU2Exemption? {
        design.arguments.count > manifest.target.aieccBufferArguments ? manifest.baseline.bufferArguments[design.design] : nil
    }

    static func check(_ status: Int32, _ kernel: String) throws {
        guard status == 0 else {
            let why = status == 1 ? "NPUK_BAD_SHAPE (a shape or position the design cannot serve)" :
                status == 2 ? "NPUK_CORE_MEMORY (buffers exceed a core's memory)" : "status \(status)"
            throw NPUDeviceError("run of \(kernel)", "the kernel driver failed: \(why)")
        }
        var bytes: Int32 = 0, remainder: Int32 = 0
        let misaligned = npuk_take_misaligned(&bytes, &remainder)
        guard misaligned == 0 else {
            throw NPUDeviceError("run of \(kernel)", "\(misaligned) misaligned vector accesses (the first: \(bytes) bytes at an address ≡ \(remainder) mod \(min(bytes, 64))); load_v/store_v read wrong data there on the NPU")
        }
    }

    /// The layer-half drivers' weight format code (NPUK_WEIGHTS_*) of the projections' dtype.
    static func weightFormat(_ dtype: DType) -> Int32 {
        switch dtype {
        case .q4_1: return Int32(NPUK_WEIGHTS_Q4_1)
        case .q4_0: return Int32(NPUK_WEIGHTS_Q4_0)
        default: return Int32(NPUK_WEIGHTS_BF16)
        }
    }

    public static func spec(for design: FusedDesign, _ d: DecodeDesigns) -> EmulatedKernelSpec {
        let c = d.config
        let name = design.kernelName
        let (tk, cores) = (Int32(d.tk), Int32(d.cores))
        let attentionTM = d.attentionTM.map(Int32.init), mlpTM = d.mlpTM.map(Int32.init)
        let eps = c.rmsNormEps
        let hidden = Int32(c.hiddenSize)
        func u16(_ p: UnsafeMutableRawPointer) -> UnsafeMutablePointer<UInt16> { p.assumingMemoryBound(to: UInt16.self) }
        var spec: EmulatedKernelSpec
        switch design.kind {
        case .attentionHalf(let bucket):
            let q4 = weightFormat(d.projectionDType)
            spec = EmulatedKernelSpec(name: name, arguments: design.arguments) { p in
                try check(npuk_layer_attention_half_step(
                    u16(p[0]), u16(p[1]), eps, q4, p[2], p[3], p[4], p[5], u16(p[6]), u16(p[7]), u16(p[8]), u16(p[9]),
                    Int32(d.context), p[10].assumingMemoryBound(to: Int32.self), hidden, Int32(c.headCount),
                    Int32(c.kvHeadCount), Int32(c.headDim), c.ropePairing == .adjacent ? 1 : 0, attentionTM, tk, cores,
                    Int32(d.block), Int32(d.splits), Int32(bucket), design.taps ? u16(p[12]) : nil, u16(p[11])), name)
            }
            spec.kvCapacity = d.context
            spec.kvReadPositions = bucket * d.block
            // the caches are only read; the new rows go through k_row / v_row (kvHeads rows at a stride)
            spec.kvAppendRows = 0
            spec.kvRowCount = c.kvHeadCount
        case .mlpHalf:
            let q4 = weightFormat(d.projectionDType)
            spec = EmulatedKernelSpec(name: name, arguments: design.arguments) { p in
                try check(npuk_layer_mlp_half_taps(u16(p[0]), u16(p[1]), eps, q4, p[2], p[3], p[4], hidden,
                                                   Int32(c.intermediateSize), mlpTM, tk, cores,
                                                   design.taps ? u16(p[6]) : nil, u16(p[5])), name)
            }
        case .lmHeadArgmax, .lmHeadLogits:
            let argmax = design.kind == .lmHeadArgmax
            let use = d.plan.instance(argmax ? "result_output" : "result_logits")!.values
            let (htm, htk, hcores) = (Int32(use["tm"]!), Int32(use["tk"]!), Int32(use["cores"]!))
            let head = d.lmHeadDType
            let vocab = Int32(c.vocabSize)
            spec = EmulatedKernelSpec(name: name, arguments: design.arguments) { p in
                // rmsnorm on one core; its row goes through the memory tile to the gemv cores
                var xn = [UInt16](repeating: 0, count: c.hiddenSize)
                try check(npuk_rmsnorm_bf16(u16(p[0]), u16(p[1]), &xn, 1, hidden, eps), name)
                if design.taps { u16(p[4]).update(from: xn, count: c.hiddenSize) }
                if argmax {
                    let token = p[3].assumingMemoryBound(to: Int32.self)
                    let w = p[2].assumingMemoryBound(to: UInt8.self)
                    try check(head == .q4_1 ? npuk_lm_head_argmax_q4_1(w, xn, token, vocab, hidden, htm, htk, hcores)
                                 : head == .q4_0 ? npuk_lm_head_argmax_q4_0(w, xn, token, vocab, hidden, htm, htk, hcores)
                                 : npuk_lm_head_argmax_bf16(u16(p[2]), xn, token, vocab, hidden, htm, htk, hcores), name)
                } else {
                    let w = p[2].assumingMemoryBound(to: UInt8.self)
                    try check(head == .q4_1 ? npuk_gemv_q4_1(w, xn, u16(p[3]), vocab, hidden, htm, htk, hcores)
                                 : head == .q4_0 ? npuk_gemv_q4_0(w, xn, u16(p[3]), vocab, hidden, htm, htk, hcores)
                                 : npuk_gemv_bf16(u16(p[2]), xn, u16(p[3]), vocab, hidden, htm, htk, hcores), name)
                }
            }
        }
        spec.exemption = exemption(design, d.plan.manifest)
        return spec
    }
}
