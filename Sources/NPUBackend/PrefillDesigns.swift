// The chunked prefill designs: one per-op kernel per `prefill_*` use of the manifest (arguments as the manifest orders them), and their emulation.
import LlamaCore
import NPUKernels

/// Prefill runs the per-op designs on `chunk` rows at once (the design always moves `chunk` rows;
/// the host zero-pads a short step): 15 runs per layer, all layers in one runlist per chunk.
public struct PrefillDesigns: Sendable {
    public let plan: KernelPlan
    public let config: ModelConfig
    public let chunk: Int
    public let context: Int
    /// The uses of one layer in run order.
    public static let layerUses = [
        "prefill_attn_norm", "prefill_Qcur", "prefill_Kcur", "prefill_Vcur", "prefill_Qrope", "prefill_Krope",
        "prefill_kqv_out", "prefill_attn_out", "prefill_ffn_inp", "prefill_ffn_norm", "prefill_ffn_gate",
        "prefill_ffn_up", "prefill_ffn_act", "prefill_ffn_out", "prefill_l_out",
    ]

    public init(plan: KernelPlan, config: ModelConfig, context: Int) throws {
        self.plan = plan
        self.config = config
        self.context = context
        guard let n = plan.instance("prefill_attn_norm")?.values["rows"] else {
            throw KernelPlanError(use: "prefill_attn_norm", message: "the plan has no prefill instances")
        }
        chunk = n
        // validation hook: aiecc's buffer arguments (NPU2 target model), today's exceptions in the baseline
        try DesignLimits.checkBufferArguments(all, target: plan.manifest.target, baseline: plan.manifest.baseline)
    }

    /// Bytes of the prefill step BO: int32[8] header, `chunk` RoPE rows, `chunk` embedding rows.
    public var ropeParamsBytes: Int { 32 + chunk * config.headDim * 2 }
    public var stepBytes: Int { ropeParamsBytes + chunk * config.hiddenSize * 2 }

    public func design(_ use: String) -> FusedDesign {
        let instance = plan.instance(use)!
        let op = plan.manifest.kernels.first { $0.name == instance.kernel }!.op
        let args = instance.args.map { a -> DesignArgument in
            let bytes = a.dtype.bytes(a.shape.reduce(1, *))!
            let role: ArgumentRole
            switch (op, a.name) {
            case (_, "w"): role = .weight
            case (_, "params"): role = .params
            case (_, "k_cache"), (_, "v_cache"): role = .kvCache
            case (_, "y"), (_, "out"): role = .output
            default: role = .input
            }
            return DesignArgument(name: a.name, bytes: bytes, role: role)
        }
        return FusedDesign(kernelName: use, design: use, kind: .mlpHalf, taps: false, arguments: args)
    }

    public var all: [FusedDesign] { Self.layerUses.map(design) }

    /// The emulated kernels: each run calls the op's tile driver on `chunk` rows.
    public func emulatedSpecs() -> [EmulatedKernelSpec] {
        Self.layerUses.map { spec($0) }
    }

    private func spec(_ use: String) -> EmulatedKernelSpec {
        let c = config
        let instance = plan.instance(use)!
        let v = instance.values
        let design = design(use)
        let name = use
        let rows = Int32(chunk)
        func u16(_ p: UnsafeMutableRawPointer) -> UnsafeMutablePointer<UInt16> { p.assumingMemoryBound(to: UInt16.self) }
        func i32(_ p: UnsafeMutableRawPointer) -> UnsafeMutablePointer<Int32> { p.assumingMemoryBound(to: Int32.self) }
        let check = EmulatedDesigns.check
        var spec: EmulatedKernelSpec
        switch instance.kernel {
        case "rmsnorm_bf16":
            spec = EmulatedKernelSpec(name: name, arguments: design.arguments) { p in
                try check(npuk_rmsnorm_bf16(u16(p[0]), u16(p[1]), u16(p[2]), rows, Int32(v["N"]!), c.rmsNormEps), name)
            }
        case "matmul_bf16", "matmul_q4_1", "matmul_q4_0":
            let q4 = instance.kernel == "matmul_q4_1", q40 = instance.kernel == "matmul_q4_0"
            let (m, k) = (Int32(v["M"]!), Int32(v["K"]!))
            let (tr, tk, tn, cores) = (Int32(v["tr"]!), Int32(v["tk"]!), Int32(v["tn"]!), Int32(v["cores"]!))
            spec = EmulatedKernelSpec(name: name, arguments: design.arguments) { p in
                try check(q4 ? npuk_matmul_q4_1(u16(p[0]), p[1].assumingMemoryBound(to: UInt8.self), u16(p[2]), rows, rows, m, k, tr, tk, tn, cores)
                             : q40 ? npuk_matmul_q4_0(u16(p[0]), p[1].assumingMemoryBound(to: UInt8.self), u16(p[2]), rows, rows, m, k, tr, tk, tn, cores)
                             : npuk_matmul_bf16(u16(p[0]), u16(p[1]), u16(p[2]), rows, rows, m, k, tr, tk, tn, cores), name)
            }
        case "rope_bf16":
            let heads = Int32(v["heads"]!), hd = c.headDim, half = hd / 2
            spec = EmulatedKernelSpec(name: name, arguments: design.arguments) { p in
                // the driver takes fp32 tables; the device has the params' bf16 rows, exact in fp32
                let start = Int(i32(p[1])[1])
                var cosT = [Float](repeating: 0, count: (start + chunk) * half), sinT = cosT
                let cs = (p[1] + 32).assumingMemoryBound(to: UInt16.self)
                for r in 0..<chunk {
                    for i in 0..<half {
                        cosT[(start + r) * half + i] = bf16ToFloat(cs[r * hd + i])
                        sinT[(start + r) * half + i] = bf16ToFloat(cs[r * hd + half + i])
                    }
                }
                try check(npuk_rope_bf16(u16(p[0]), u16(p[2]), rows, heads, Int32(hd), Int32(start),
                                         c.ropePairing == .adjacent ? 1 : 0, cosT, sinT, Int32(start + chunk)), name)
            }
        case "attn_prefill_bf16":
            let (block, qrows) = (v["block"]!, v["qrows"]!)
            spec = EmulatedKernelSpec(name: name, arguments: design.arguments) { p in
                let start = i32(p[5])[1], real = i32(p[5])[2]
                try check(npuk_attn_prefill_bf16(u16(p[0]), u16(p[1]), u16(p[2]), u16(p[3]), u16(p[4]), Int32(context),
                                                 start, real, Int32(c.headCount), Int32(c.kvHeadCount), Int32(c.headDim),
                                                 Int32(block), Int32(qrows), u16(p[6])), name)
            }
            spec.kvCapacity = context
            // per (head, row group) core: the blocks up to its last row's causal limit; divided by
            // kvHeads because the counted argument holds every KV head
            spec.kvTraffic = { p in
                let start = Int(i32(p[5])[1]), real = Int(i32(p[5])[2])
                var blocksRead = 0
                for row0 in stride(from: 0, to: real, by: qrows) {
                    let n = min(qrows, real - row0)
                    blocksRead += min(context / block, (start + row0 + n - 1) / block + 1)
                }
                return (blocksRead * block * c.headCount / c.kvHeadCount, real)
            }
        case "add_bf16", "swiglu_bf16":
            let (n, tile, cores) = (Int32(v["N"]!), Int32(v["tile"]!), Int32(v["cores"]!))
            let add = instance.kernel == "add_bf16"
            spec = EmulatedKernelSpec(name: name, arguments: design.arguments) { p in
                try check(add ? npuk_add_bf16(u16(p[0]), u16(p[1]), u16(p[2]), n, tile, cores)
                              : npuk_swiglu_bf16(u16(p[0]), u16(p[1]), u16(p[2]), n, tile, cores), name)
            }
        default:
            preconditionFailure("no emulation for \(instance.kernel)")
        }
        spec.exemption = EmulatedDesigns.exemption(design, plan.manifest)
        return spec
    }
}
