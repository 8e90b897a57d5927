// DeviceMemoryPlan: every buffer object NPUBackend allocates at load, and the bytes the xdna shim maps
// MAP_LOCKED for them, so --device npu can compare RLIMIT_MEMLOCK with it before allocating anything.
// NPUBackend checks its own allocations against this list at load, so the two cannot drift apart.
import LlamaCore

public struct DeviceMemoryPlan: Sendable, Equatable {
    public enum Category: String, Sendable, CaseIterable {
        case weights = "weights"
        case kvCache = "KV cache"
        case activations = "io (params, intermediates, logits, token)"
        case instructions = "instruction streams"
    }

    public struct Buffer: Sendable, Equatable {
        public var name: String
        public var bytes: Int
        public var flags: BufferFlags
        public var category: Category
    }

    /// NPUBackend's allocations at load, in its order: the weights BO (norms ‖ channel streams), the lm_weights BO
    /// (output_norm_w ‖ the LM head's channel streams), the KV BO, the io BO, the prefill's pio BO; then one
    /// instruction BO per kernel (each KV length bucket's decode token, the LM head, each bucket's prefill).
    public let buffers: [Buffer]
    /// xrt::run objects the backend can keep (one decode token run per bucket and the LM head run), each with a
    /// command BO.
    public let runs: Int
    /// Chained commands of its runlists (`runsPerChain` runs each: one chain per runlist), each with a command BO:
    /// per bucket [decode, LM head] and [decode] (prompt rows without logits).
    public let chainedCommands: Int
    /// PDI bytes the hardware context copies into the device heap (bounded by the xclbin's size; 0 if unknown).
    public let pdiBytes: Int
    public let limits: XDNALimits

    public static func == (a: DeviceMemoryPlan, b: DeviceMemoryPlan) -> Bool {
        a.buffers == b.buffers && a.runs == b.runs && a.chainedCommands == b.chainedCommands && a.pdiBytes == b.pdiBytes
    }

    /// The plan for `designs`. `instructionBytes`: each kernel's insts.bin size (kernels missing from it count 0 bytes).
    public init(designs: DecodeDesigns, instructionBytes: [String: Int], pdiBytes: Int = 0, limits: XDNALimits = .standard) {
        let l = designs.layout
        var list: [Buffer] = [
            Buffer(name: "weights", bytes: l.weightsBytes, flags: .hostOnly, category: .weights),
            Buffer(name: "lm_weights", bytes: l.lmHead.weightsBytes, flags: .hostOnly, category: .weights),
            Buffer(name: "kv", bytes: 2 * l.kvElements, flags: .hostOnly, category: .kvCache),
            Buffer(name: "io", bytes: 2 * l.ioElements, flags: .hostOnly, category: .activations),
        ]
        if let p = designs.prefill { list.append(Buffer(name: "pio", bytes: p.pioBytes, flags: .hostOnly, category: .activations)) }
        for design in designs.all {
            list.append(Buffer(name: "insts(\(design.kernelName))", bytes: instructionBytes[design.kernelName] ?? 0,
                               flags: .cacheable, category: .instructions))
        }
        buffers = list
        // per KV bucket a decode token run and two runlists (NPUBackend builds them on first use); one LM head run;
        // with prefill designs per bucket a prefill run and two runlists ([prefill], [prefill, LM head]), and the
        // verify mode's [LM head] alone (a prompt row's logits from its l_out)
        let prefill = designs.prefill == nil ? 0 : designs.buckets.count
        runs = designs.buckets.count + 1 + prefill
        chainedCommands = 2 * designs.buckets.count + 2 * prefill + (prefill > 0 ? 1 : 0)
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
        let hostOnly = [Category.weights, .kvCache, .activations].map { "\($0.rawValue) \(f(bytes($0)))" }
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
    /// The plan for a model as NPUBackend would load it (the same designs as its init).
    public static func memoryPlan(graph: Graph, tensors: TensorSource, manifest: KernelManifest, contextLength: Int,
                                  instructionBytes: [String: Int], pdiBytes: Int = 0,
                                  limits: XDNALimits = .standard) throws -> DeviceMemoryPlan {
        try memoryPlan(config: graph.config, projection: WeightConversion.projectionDType(tensors, graph),
                       lmHead: WeightConversion.lmHeadDType(tensors, graph), manifest: manifest,
                       contextLength: contextLength, instructionBytes: instructionBytes, pdiBytes: pdiBytes, limits: limits)
    }

    /// The plan from the shapes alone: a config and the weight types the designs are built for.
    public static func memoryPlan(config: ModelConfig, projection: DType, lmHead: DType, manifest: KernelManifest,
                                  contextLength: Int, instructionBytes: [String: Int] = [:],
                                  pdiBytes: Int = 0, limits: XDNALimits = .standard) throws -> DeviceMemoryPlan {
        let designs = try DecodeDesigns(manifest: manifest, config: config, projectionDType: projection, lmHeadDType: lmHead,
                                        context: contextLength)
        return DeviceMemoryPlan(designs: designs, instructionBytes: instructionBytes, pdiBytes: pdiBytes, limits: limits)
    }
}
