// DeviceMemoryPlan: every buffer object NPUBackend allocates at load, and the bytes the xdna shim maps
// MAP_LOCKED for them, so --device npu can compare RLIMIT_MEMLOCK with it before allocating anything.
// NPUBackend checks its own allocations against this list at load, so the two cannot drift apart.
import LlamaCore

public struct DeviceMemoryPlan: Sendable, Equatable {
    public enum Category: String, Sendable, CaseIterable {
        case weights = "weights"
        case kvCache = "KV cache"
        case activations = "activations and step params"
        case taps = "verify taps"
        case instructions = "instruction streams"
    }

    public struct Buffer: Sendable, Equatable {
        public var name: String
        public var bytes: Int
        public var flags: BufferFlags
        public var category: Category
    }

    /// NPUBackend's allocations at load, in its order: per layer the nine weights, K and V caches and the two
    /// taps BOs; the output norm, LM head, head taps, step BO, l_out, ffn_inp, token and logits; the prefill
    /// step and slots when the prefill designs are used; then one instruction BO per kernel.
    public let buffers: [Buffer]
    /// xrt::run objects the backend can keep (every runlist it may build), each with a command BO.
    public let runs: Int
    /// Chained commands of those runlists (`runsPerChain` runs each), each with a command BO.
    public let chainedCommands: Int
    /// PDI bytes the hardware context copies into the device heap (bounded by the xclbin's size; 0 if unknown).
    public let pdiBytes: Int
    public let limits: XDNALimits

    public static func == (a: DeviceMemoryPlan, b: DeviceMemoryPlan) -> Bool {
        a.buffers == b.buffers && a.runs == b.runs && a.chainedCommands == b.chainedCommands && a.pdiBytes == b.pdiBytes
    }

    /// The plan for `designs` (and `prefill` when the backend runs prompts through the prefill designs).
    /// `instructionBytes`: each kernel's insts.bin size (kernels missing from it count 0 bytes).
    public init(designs: DecodeDesigns, prefill: PrefillDesigns?, instructionBytes: [String: Int], pdiBytes: Int = 0,
                limits: XDNALimits = .standard) {
        let c = designs.config
        let attn = designs.attentionHalf(bucket: designs.buckets[0], taps: true), mlp = designs.mlpHalf(taps: true)
        let head = designs.lmHead(argmax: false, taps: true)
        func bytes(_ d: FusedDesign, _ a: String) -> Int { d.arguments[d.index(of: a)].bytes }
        var list: [Buffer] = []
        func add(_ name: String, _ n: Int, _ category: Category) {
            list.append(Buffer(name: name, bytes: n, flags: .hostOnly, category: category))
        }
        for l in 0..<c.layerCount {
            let b = "blk.\(l)."
            for (tensor, design, arg) in [("attn_norm.weight", attn, "norm_w"), ("attn_q.weight", attn, "wq"),
                                          ("attn_k.weight", attn, "wk"), ("attn_v.weight", attn, "wv"),
                                          ("attn_output.weight", attn, "wo"), ("ffn_norm.weight", mlp, "norm_w"),
                                          ("ffn_gate.weight", mlp, "w_gate"), ("ffn_up.weight", mlp, "w_up"),
                                          ("ffn_down.weight", mlp, "w_down")] {
                add(b + tensor, bytes(design, arg), .weights)
            }
            add("k_cache-\(l)", bytes(attn, "k_cache"), .kvCache)
            add("v_cache-\(l)", bytes(attn, "v_cache"), .kvCache)
            add("attn_taps-\(l)", bytes(attn, "taps"), .taps)
            add("mlp_taps-\(l)", bytes(mlp, "taps"), .taps)
        }
        add("output_norm.weight", bytes(head, "norm_w"), .weights)
        add("lm_head", bytes(head, "w"), .weights)
        add("head_taps", bytes(head, "taps"), .taps)
        add("step", StepParams(config: c).totalBytes, .activations)
        add("l_out", bytes(mlp, "out"), .activations)
        add("ffn_inp", bytes(attn, "out"), .activations)
        add("token", bytes(designs.lmHead(argmax: true, taps: false), "token"), .activations)
        add("logits", bytes(head, "logits"), .activations)
        if let prefill {
            add("prefill_step", prefill.stepBytes, .activations)
            for use in PrefillDesigns.layerUses { add(use, prefill.design(use).arguments.last!.bytes, .activations) }
        }
        for design in designs.all + (prefill?.all ?? []) {
            list.append(Buffer(name: "insts(\(design.kernelName))", bytes: instructionBytes[design.kernelName] ?? 0,
                               flags: .cacheable, category: .instructions))
        }
        buffers = list

        // Runlists NPUBackend may build (RunlistKey): per KV bucket the decode list without a head, with the
        // argmax head, with the logits head, and the logits head with taps (verify); with prefill designs, the
        // full-chunk list without a head and one per (last row, argmax | logits head).
        let L = c.layerCount, perChain = limits.runsPerChain
        var lists: [Int] = []
        for _ in designs.buckets { lists += [2 * L, 2 * L + 1, 2 * L + 1, 2 * L + 1] }
        if let prefill { lists += [15 * L] + Array(repeating: 15 * L + 1, count: 2 * prefill.chunk) }
        runs = lists.reduce(0, +)
        chainedCommands = lists.reduce(0) { $0 + ($1 + perChain - 1) / perChain }
        self.pdiBytes = pdiBytes
        self.limits = limits
    }

    func pages(_ bytes: Int) -> Int { (bytes + limits.pageBytes - 1) / limits.pageBytes * limits.pageBytes }

    /// Bytes of one category as allocated (before page rounding).
    public func bytes(_ category: Category) -> Int {
        buffers.filter { $0.category == category }.reduce(0) { $0 + $1.bytes }
    }

    /// host_only BOs as mapped: each rounded up to whole pages (memlock.pageBytes).
    public var hostOnlyMappedBytes: Int { buffers.filter { $0.flags == .hostOnly }.reduce(0) { $0 + pages($1.bytes) } }
    /// Bytes the cacheable BOs (instructions) and the PDIs take in the device heap.
    public var heapUseBytes: Int {
        buffers.filter { $0.flags == .cacheable }.reduce(0) { $0 + pages($1.bytes) } + pages(pdiBytes)
    }
    /// The device heap as mapped: memlock.deviceHeapBytes at open, grown in steps of it until the heap use fits.
    public var heapMappedBytes: Int {
        let step = limits.deviceHeapBytes
        return max(1, (heapUseBytes + step - 1) / step) * step
    }
    /// Command BOs: one per run and one per chained command, each xrt.execBufferBytes page-rounded.
    public var commandMappedBytes: Int { (runs + chainedCommands) * pages(limits.execBufferBytes) }
    /// Everything the xdna shim maps MAP_LOCKED for this backend: what RLIMIT_MEMLOCK must cover.
    public var mappedBytes: Int { hostOnlyMappedBytes + heapMappedBytes + commandMappedBytes }

    /// The plan in one line: total, then each part.
    public var breakdown: String {
        func f(_ n: Int) -> String { NPUEnvironment.formatBytes(UInt64(n)) }
        let hostOnly = [Category.weights, .kvCache, .activations, .taps].map { "\($0.rawValue) \(f(bytes($0)))" }
        return hostOnly.joined(separator: ", ") + ", command buffers \(f(commandMappedBytes)) (\(runs) runs + "
            + "\(chainedCommands) chained commands), device heap \(f(heapMappedBytes)) (instruction streams "
            + "\(f(bytes(.instructions))) and PDIs \(f(pdiBytes)))"
    }

    /// NPUBackend's check of its load against the plan: the same number of buffers and bytes, or an error
    /// saying the memlock check no longer describes the allocation.
    public func verify(allocatedBuffers: Int, allocatedBytes: Int) throws {
        let bytes = buffers.reduce(0) { $0 + $1.bytes }
        guard allocatedBuffers == buffers.count, allocatedBytes == bytes else {
            throw NPUDeviceError("NPUBackend load", "allocated \(allocatedBuffers) buffers of \(allocatedBytes) bytes, "
                                 + "but DeviceMemoryPlan lists \(buffers.count) of \(bytes): the memlock check "
                                 + "(DeviceMemoryPlan.swift) must list exactly what NPUBackend allocates")
        }
    }
}

extension NPUBackend {
    /// The plan for a model as NPUBackend would load it (the same KernelPlan and designs as its init).
    public static func memoryPlan(graph: Graph, tensors: TensorSource, manifest: KernelManifest, contextLength: Int,
                                  prefillDesigns: Bool, instructionBytes: [String: Int], pdiBytes: Int = 0,
                                  limits: XDNALimits = .standard) throws -> DeviceMemoryPlan {
        try memoryPlan(config: graph.config, projection: WeightConversion.projectionDType(tensors, graph),
                       lmHead: WeightConversion.lmHeadDType(tensors, graph), manifest: manifest,
                       contextLength: contextLength, prefillDesigns: prefillDesigns, instructionBytes: instructionBytes,
                       pdiBytes: pdiBytes, limits: limits)
    }

    /// The plan from the shapes alone: a config and the weight types the designs are built for.
    public static func memoryPlan(config: ModelConfig, projection: DType, lmHead: DType, manifest: KernelManifest,
                                  contextLength: Int, prefillDesigns: Bool, instructionBytes: [String: Int] = [:],
                                  pdiBytes: Int = 0, limits: XDNALimits = .standard) throws -> DeviceMemoryPlan {
        let plan = try KernelPlan(manifest: manifest, config: config, projectionWeights: projection,
                                  lmHeadWeights: lmHead, context: contextLength, chunk: 64)
        let designs = try DecodeDesigns(plan: plan, config: config, projectionDType: projection, lmHeadDType: lmHead,
                                        context: contextLength)
        let prefill = prefillDesigns ? try PrefillDesigns(plan: plan, config: config, context: contextLength) : nil
        return DeviceMemoryPlan(designs: designs, prefill: prefill, instructionBytes: instructionBytes,
                                pdiBytes: pdiBytes, limits: limits)
    }
}
