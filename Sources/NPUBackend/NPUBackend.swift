// NPUBackend: the Llama graph as fused decode designs on an NPUDevice — weights resident, one runlist per token, counted.
import Foundation
import LlamaCore

/// Runs the graph on an `NPUDevice` (the real NPU through XRT, or `EmulatedDevice`).
///
/// - Load: weights are converted once into the kernels' layouts (bf16; GGUF Q4_1 / Q4_0 blocks as stored)
///   and uploaded into device buffers; KV cache `(layer, kvHead, ctx, headDim)` bf16 (one BO per
///   layer for K and for V) and the activations stay on the device for the session.
/// - Decode: ONE runlist per token: per layer the attention half and the MLP half, then the LM head
///   (argmax variant: one int32 back; logits variant: bf16 logits back). Runs and runlists are built
///   once per (KV length bucket, tail, taps) and reused. Per token the host re-binds each attention
///   run's `k_row` / `v_row` to sub-buffers of the layer's caches at the token's row (the only KV
///   bytes the token writes), writes the step params BO (header, RoPE row, embedding row) with one
///   sync and reads the token or logits with one sync.
/// - Prefill (steps of several rows, no observer, `.last` logits): chunks of `chunk` rows through the
///   per-op prefill designs (rmsnorm, matmul, rope, attn_prefill with KV append, add, swiglu: 15 runs
///   per layer), all layers and the LM head of the last row in ONE runlist per chunk; one sync in
///   (header, RoPE rows, embedding rows), one out. Rows of a step that wants every row's logits, or
///   is observed, run as decode steps instead.
/// - Verify mode (observer non-nil): the `_taps` variants of the same fused designs also write the
///   named intermediates into per-layer debug BOs, synced back after each row's runlist: 2·layers + 1
///   extra syncs per token in verify mode only; the runs and submissions are the same.
public final class NPUBackend: Backend, @unchecked Sendable {
    public let graph: Graph
    public let contextLength: Int
    /// Rows per step accepted; each row is one decode runlist.
    public let maxBatch: Int
    public var label: String { device.label }
    public let device: NPUDevice
    public let designs: DecodeDesigns
    public let prefillDesigns: PrefillDesigns
    /// Whether prompts run through the chunked prefill designs; without them (the real NPU until the
    /// prefill attention design can append KV rows, Kernels/layer_decode/README.md) each prompt row is a
    /// decode step: the same results, one runlist per row.
    public let usesPrefillDesigns: Bool
    public private(set) var counters = BackendCounters()

    private let hwContext: NPUHardwareContext
    private let instructionSource: (String) throws -> [UInt32]
    private let tensors: TensorSource
    private let params: StepParams
    private var kernels: [String: NPUKernel] = [:]
    private var instructionBuffers: [String: NPUBuffer] = [:]
    private var runlists: [RunlistKey: (list: NPURunlist, runs: [NPURun])] = [:]

    // Device buffers for the whole session.
    private var layerWeights: [[String: NPUBuffer]] = []   // per layer: norm_w, wq … (attention), ffn_norm … (MLP)
    private var outputNorm: NPUBuffer!                     // (hidden)
    private var lmHead: NPUBuffer!                          // (vocab, hidden) bf16, Q4_1 or Q4_0 blocks
    private var kCache: [NPUBuffer] = []                    // per layer (kvHead, ctx, headDim); together (layer, kvHead, ctx, headDim)
    private var vCache: [NPUBuffer] = []                    // per layer (kvHead, ctx, headDim)
    private var step: NPUBuffer!                            // step params ‖ embedding row
    private var stepParams: NPUBuffer!                      // sub-buffer: int32[8] ‖ bf16 cos/sin (headDim)
    private var embedRow: NPUBuffer!                        // sub-buffer: (hidden) bf16, layer 0's x
    private var residual: NPUBuffer!                        // (hidden) bf16: l_out of a layer, input of the next
    private var ffnInput: NPUBuffer!                        // (hidden) bf16: ffn_inp
    private var tokenOut: NPUBuffer!                        // (1) int32
    private var logitsOut: NPUBuffer!                       // (vocab) bf16
    private var attentionTaps: [NPUBuffer] = []             // per layer, DecodeDesigns.attentionTaps
    private var mlpTaps: [NPUBuffer] = []                   // per layer, DecodeDesigns.mlpTaps
    private var headTaps: NPUBuffer!                        // result_norm

    // Prefill buffers, (chunk, width) bf16 per slot, shared by the layers.
    private var prefillStep: NPUBuffer!                     // header ‖ RoPE rows (chunk, headDim) ‖ embedding rows (chunk, hidden)
    private var prefillRopeParams: NPUBuffer!               // sub-buffer: header ‖ RoPE rows
    private var prefillAttnParams: NPUBuffer!               // sub-buffer: header int32[8]
    private var prefillEmbed: NPUBuffer!                    // sub-buffer: (chunk, hidden)
    private var prefillSlots: [String: NPUBuffer] = [:]     // slot → (chunk, width)
    private var lastRowViews: [Int: NPUBuffer] = [:]        // row → (hidden) view of l_out's row

    enum Tail: Hashable { case none, argmax, logits }
    struct RunlistKey: Hashable { var bucket: Int; var tail: Tail; var taps: Bool; var prefillLastRow: Int? = nil }

    /// - Parameters:
    ///   - xclbin: the decode xclbin (Tools/build-kernels.py output; any name for the emulator).
    ///   - instructions: a kernel's instruction stream (insts.bin words) by kernel name.
    ///   - progress: (bytes uploaded, total weight bytes) during load.
    public init(graph: Graph, tensors: TensorSource, device: NPUDevice, manifest: KernelManifest, contextLength: Int,
                xclbin: String, instructions: @escaping (String) throws -> [UInt32], prefillDesigns usePrefill: Bool = true,
                progress: ((Int, Int) -> Void)? = nil) throws {
        let c = graph.config
        let plan = try Self.plan(graph: graph, tensors: tensors, manifest: manifest, contextLength: contextLength)
        designs = try DecodeDesigns(plan: plan, config: c, projectionDType: WeightConversion.projectionDType(tensors, graph),
                                    lmHeadDType: WeightConversion.lmHeadDType(tensors, graph), context: contextLength)
        prefillDesigns = try PrefillDesigns(plan: plan, config: c, context: contextLength)
        usesPrefillDesigns = usePrefill
        self.graph = graph
        self.contextLength = contextLength
        self.maxBatch = contextLength
        self.device = device
        self.tensors = tensors
        instructionSource = instructions
        params = StepParams(config: c)
        // amdxdna's CUs per hw_context (NPU2 target model), for every device: the kernels this backend opens
        let names = (designs.all + (usePrefill ? prefillDesigns.all : [])).map(\.kernelName)
        try DesignLimits.checkContextKernels(count: names.count, composition: DesignLimits.composition(kernelNames: names),
                                             target: manifest.target, baseline: manifest.baseline)
        if let xrt = device as? XRTDevice, xrt.target == nil { xrt.target = manifest.target }   // XRT's chain size, for counting
        let before = device.counters
        hwContext = try device.openContext(xclbin: xclbin)
        try allocateAndUpload(progress: progress)
        // the memlock check (DeviceMemoryPlan) must describe exactly these allocations
        let loaded = device.counters - before
        try DeviceMemoryPlan(designs: designs, prefill: usePrefill ? prefillDesigns : nil,
                             instructionBytes: instructionBuffers.mapValues(\.size))
            .verify(allocatedBuffers: loaded.buffersAllocated, allocatedBytes: loaded.bytesAllocated)
    }

    /// The kernel plan for a model's weights (throws `KernelPlanError` naming what the kernels cannot serve).
    public static func plan(graph: Graph, tensors: TensorSource, manifest: KernelManifest, contextLength: Int) throws -> KernelPlan {
        try KernelPlan(manifest: manifest, config: graph.config,
                       projectionWeights: WeightConversion.projectionDType(tensors, graph),
                       lmHeadWeights: WeightConversion.lmHeadDType(tensors, graph), context: contextLength, chunk: 64)
    }

    /// Every kernel name the backend opens for this model (the decode designs, then the prefill designs
    /// when it uses them), as `Tools/build-kernels.py` names them in kernels.json.
    public static func kernelNames(graph: Graph, tensors: TensorSource, manifest: KernelManifest, contextLength: Int,
                                   prefillDesigns: Bool) throws -> [String] {
        let plan = try plan(graph: graph, tensors: tensors, manifest: manifest, contextLength: contextLength)
        let d = try DecodeDesigns(plan: plan, config: graph.config, projectionDType: WeightConversion.projectionDType(tensors, graph),
                                  lmHeadDType: WeightConversion.lmHeadDType(tensors, graph), context: contextLength)
        let prefill = prefillDesigns ? try PrefillDesigns(plan: plan, config: graph.config, context: contextLength).all : []
        return (d.all + prefill).map(\.kernelName)
    }

    /// An emulated device holding every decode design this model needs (a test instrument).
    public static func emulatedDevice(graph: Graph, tensors: TensorSource, manifest: KernelManifest,
                                       contextLength: Int) throws -> EmulatedDevice {
        let plan = try plan(graph: graph, tensors: tensors, manifest: manifest, contextLength: contextLength)
        let d = try DecodeDesigns(plan: plan, config: graph.config, projectionDType: WeightConversion.projectionDType(tensors, graph),
                                  lmHeadDType: WeightConversion.lmHeadDType(tensors, graph), context: contextLength)
        let device = EmulatedDesigns.device(for: d)
        for spec in try PrefillDesigns(plan: plan, config: graph.config, context: contextLength).emulatedSpecs() {
            device.register(spec)
        }
        // the xclbin holds decode and prefill designs: over amdxdna's kernels per context at long contexts
        device.contextKernelExemption = manifest.baseline.hwContextKernels[DesignLimits.composition(kernelNames: device.kernelNames)]
        return device
    }

    // MARK: - Load

    private func dataBuffer(_ bytes: Int, _ name: String) throws -> NPUBuffer {
        // every data argument is in group_id(3+i); the designs share these buffers between kernels
        let b = try device.allocate(size: bytes, flags: .hostOnly, memoryGroup: try kernel(designs.mlpHalf(taps: false).kernelName).memoryGroup(argument: 3))
        (b as? EmulatedBuffer)?.name = name
        return b
    }

    private func allocateAndUpload(progress: ((Int, Int) -> Void)?) throws {
        let c = graph.config
        let attn = designs.attentionHalf(bucket: designs.buckets[0], taps: true), mlp = designs.mlpHalf(taps: true)
        let head = designs.lmHead(argmax: false, taps: true)
        func bytes(_ d: FusedDesign, _ a: String) -> Int { d.arguments[d.index(of: a)].bytes }
        let pd = designs.projectionDType
        var uploads: [(name: String, dtype: DType, buffer: NPUBuffer)] = []
        for l in 0..<c.layerCount {
            let b = "blk.\(l)."
            var w: [String: NPUBuffer] = [:]
            let list: [(String, String, FusedDesign, String, DType)] = [
                ("attn_norm_w", b + "attn_norm.weight", attn, "norm_w", .bf16),
                ("wq", b + "attn_q.weight", attn, "wq", pd), ("wk", b + "attn_k.weight", attn, "wk", pd),
                ("wv", b + "attn_v.weight", attn, "wv", pd), ("wo", b + "attn_output.weight", attn, "wo", pd),
                ("ffn_norm_w", b + "ffn_norm.weight", mlp, "norm_w", .bf16),
                ("w_gate", b + "ffn_gate.weight", mlp, "w_gate", pd), ("w_up", b + "ffn_up.weight", mlp, "w_up", pd),
                ("w_down", b + "ffn_down.weight", mlp, "w_down", pd),
            ]
            for (key, tensor, design, arg, dtype) in list {
                let buffer = try dataBuffer(bytes(design, arg), tensor)
                w[key] = buffer
                uploads.append((tensor, dtype, buffer))
            }
            layerWeights.append(w)
            kCache.append(try dataBuffer(bytes(attn, "k_cache"), "k_cache-\(l)"))
            vCache.append(try dataBuffer(bytes(attn, "v_cache"), "v_cache-\(l)"))
            attentionTaps.append(try dataBuffer(bytes(attn, "taps"), "attn_taps-\(l)"))
            mlpTaps.append(try dataBuffer(bytes(mlp, "taps"), "mlp_taps-\(l)"))
        }
        outputNorm = try dataBuffer(bytes(head, "norm_w"), "output_norm.weight")
        uploads.append(("output_norm.weight", .bf16, outputNorm))
        lmHead = try dataBuffer(bytes(head, "w"), graph.outputWeightName)
        uploads.append((graph.outputWeightName, designs.lmHeadDType, lmHead))
        headTaps = try dataBuffer(bytes(head, "taps"), "head_taps")
        step = try dataBuffer(params.totalBytes, "step")
        stepParams = try device.subBuffer(of: step, offset: 0, size: params.paramsBytes)
        embedRow = try device.subBuffer(of: step, offset: params.embedOffset, size: 2 * c.hiddenSize)
        residual = try dataBuffer(bytes(mlp, "out"), "l_out")
        ffnInput = try dataBuffer(bytes(attn, "out"), "ffn_inp")
        tokenOut = try dataBuffer(bytes(designs.lmHead(argmax: true, taps: false), "token"), "token")
        logitsOut = try dataBuffer(bytes(head, "logits"), "logits")

        let pre = prefillDesigns
        if usesPrefillDesigns { try allocatePrefill(pre) }
        try upload(uploads, progress: progress)
        // every kernel's instruction stream, uploaded once (runs and runlists are built on first use, without syncs)
        for design in designs.all + (usesPrefillDesigns ? prefillDesigns.all : []) { _ = try instructionBuffer(design.kernelName) }
        counters.load = device.counters
    }

    private func allocatePrefill(_ pre: PrefillDesigns) throws {
        let c = graph.config
        prefillStep = try dataBuffer(pre.stepBytes, "prefill_step")
        prefillRopeParams = try device.subBuffer(of: prefillStep, offset: 0, size: pre.ropeParamsBytes)
        prefillAttnParams = try device.subBuffer(of: prefillStep, offset: 0, size: 32)
        prefillEmbed = try device.subBuffer(of: prefillStep, offset: pre.ropeParamsBytes, size: pre.chunk * c.hiddenSize * 2)
        for use in PrefillDesigns.layerUses {
            let d = pre.design(use)
            let out = d.arguments.last!
            prefillSlots[String(use.dropFirst("prefill_".count))] = try dataBuffer(out.bytes, use)
        }
    }

    private func upload(_ uploads: [(name: String, dtype: DType, buffer: NPUBuffer)], progress: ((Int, Int) -> Void)?) throws {

        let total = uploads.reduce(0) { $0 + $1.buffer.size }
        var done = 0
        progress?(0, total)
        for u in uploads {
            try WeightConversion.write(u.name, as: u.dtype, from: tensors, into: u.buffer.hostMemory)
            try u.buffer.sync(.toDevice)
            done += u.buffer.size
            progress?(done, total)
        }
    }

    // MARK: - Kernels, runs, runlists (built once, reused)

    private func kernel(_ name: String) throws -> NPUKernel {
        if let k = kernels[name] { return k }
        let k = try hwContext.kernel(named: name)
        kernels[name] = k
        return k
    }

    /// Bytes of the instruction streams uploaded at load.
    public var instructionBytes: Int { instructionBuffers.values.reduce(0) { $0 + $1.size } }

    private func instructionBuffer(_ name: String) throws -> (NPUBuffer, Int) {
        let words = try instructionSource(name)
        guard !words.isEmpty else { throw NPUDeviceError("instructions of \(name)", "the instruction stream is empty") }
        if let b = instructionBuffers[name] { return (b, words.count) }
        let k = try kernel(name)
        let b = try device.allocate(size: 4 * words.count, flags: .cacheable, memoryGroup: k.memoryGroup(argument: 1))
        (b as? EmulatedBuffer)?.name = "insts(\(name))"
        b.hostMemory.withMemoryRebound(to: UInt32.self) { p in for (i, w) in words.enumerated() { p[i] = w } }
        try b.sync(.toDevice)
        instructionBuffers[name] = b
        return (b, words.count)
    }

    private func makeRun(_ design: FusedDesign, _ buffers: [String: NPUBuffer]) throws -> NPURun {
        let run = try hwContext.makeRun(try kernel(design.kernelName))
        let (insts, words) = try instructionBuffer(design.kernelName)
        try run.setArgument(0, value: 3)
        try run.setArgument(1, buffer: insts)
        try run.setArgument(2, value: UInt64(words))
        for (i, a) in design.arguments.enumerated() {
            guard let b = buffers[a.name] else { throw NPUDeviceError("run of \(design.kernelName)", "no buffer for \(a.name)") }
            try run.setArgument(3 + i, buffer: b)
        }
        return run
    }

    private func runlist(_ key: RunlistKey) throws -> NPURunlist {
        if let r = runlists[key] { return r.list }
        let list = try hwContext.makeRunlist()
        var runs: [NPURun] = []
        if let lastRow = key.prefillLastRow {
            runs = try prefillRuns(lastRow: lastRow, tail: key.tail)
            for r in runs { try list.add(r) }
            runlists[key] = (list, runs)
            return list
        }
        for l in 0..<graph.config.layerCount {
            let w = layerWeights[l]
            var a: [String: NPUBuffer] = [
                "x": l == 0 ? embedRow : residual, "norm_w": w["attn_norm_w"]!, "wq": w["wq"]!, "wk": w["wk"]!,
                "wv": w["wv"]!, "wo": w["wo"]!, "k_cache": kCache[l], "v_cache": vCache[l],
                "k_row": try kvRow(kCache[l], position: 0), "v_row": try kvRow(vCache[l], position: 0),
                "params": stepParams, "out": ffnInput,
            ]
            if key.taps { a["taps"] = attentionTaps[l] }
            runs.append(try makeRun(designs.attentionHalf(bucket: key.bucket, taps: key.taps), a))
            var m: [String: NPUBuffer] = ["x": ffnInput, "norm_w": w["ffn_norm_w"]!, "w_gate": w["w_gate"]!,
                                          "w_up": w["w_up"]!, "w_down": w["w_down"]!, "out": residual]
            if key.taps { m["taps"] = mlpTaps[l] }
            runs.append(try makeRun(designs.mlpHalf(taps: key.taps), m))
        }
        switch key.tail {
        case .none: break
        case .argmax:
            runs.append(try makeRun(designs.lmHead(argmax: true, taps: false),
                                    ["x": residual, "norm_w": outputNorm, "w": lmHead, "token": tokenOut]))
        case .logits:
            var h: [String: NPUBuffer] = ["x": residual, "norm_w": outputNorm, "w": lmHead, "logits": logitsOut]
            if key.taps { h["taps"] = headTaps }
            runs.append(try makeRun(designs.lmHead(argmax: false, taps: key.taps), h))
        }
        for r in runs { try list.add(r) }
        runlists[key] = (list, runs)
        return list
    }

    /// The row argument (k_row / v_row) of a layer's K or V cache at `position`: a sub-buffer from row
    /// `position` of KV head 0, so head h's new row is at the design's static offset h · context · headDim · 2.
    private func kvRow(_ cache: NPUBuffer, position: Int) throws -> NPUBuffer {
        try device.subBuffer(of: cache, offset: designs.kvRowOffset(position: position), size: designs.kvRowBytes)
    }

    /// Re-binds k_row / v_row of every attention-half run of `key`'s runlist to row `position` (2 · layers
    /// set_arg calls, fresh sub-buffer objects: the run keeps its bound buffers alive). The runs are in a
    /// runlist that is not executing: XRT's runlist documents reuse by calling execute() again and forbids
    /// only add/start while it executes; that set_arg between executions takes effect at the next
    /// execute() is the assumption, to be confirmed on hardware.
    private func bindKVRows(_ key: RunlistKey, position: Int) throws {
        guard let runs = runlists[key]?.runs else { return }
        let d = designs.attentionHalf(bucket: key.bucket, taps: key.taps)
        let (k, v) = (3 + d.index(of: "k_row"), 3 + d.index(of: "v_row"))
        for l in 0..<graph.config.layerCount {
            let run = runs[2 * l]   // per layer: attention half, MLP half
            try run.setArgument(k, buffer: try kvRow(kCache[l], position: position))
            try run.setArgument(v, buffer: try kvRow(vCache[l], position: position))
            counters.argumentRebinds += 2
        }
    }

    /// Every layer's 15 per-op prefill runs, then the LM head on row `lastRow` of l_out.
    private func prefillRuns(lastRow: Int, tail: Tail) throws -> [NPURun] {
        let p = prefillSlots
        var runs: [NPURun] = []
        for l in 0..<graph.config.layerCount {
            let w = layerWeights[l]
            let x: NPUBuffer = l == 0 ? prefillEmbed : p["l_out"]!
            let bindings: [(String, [String: NPUBuffer])] = [
                ("attn_norm", ["x": x, "w": w["attn_norm_w"]!, "y": p["attn_norm"]!]),
                ("Qcur", ["x": p["attn_norm"]!, "w": w["wq"]!, "y": p["Qcur"]!]),
                ("Kcur", ["x": p["attn_norm"]!, "w": w["wk"]!, "y": p["Kcur"]!]),
                ("Vcur", ["x": p["attn_norm"]!, "w": w["wv"]!, "y": p["Vcur"]!]),
                ("Qrope", ["x": p["Qcur"]!, "params": prefillRopeParams, "y": p["Qrope"]!]),
                ("Krope", ["x": p["Kcur"]!, "params": prefillRopeParams, "y": p["Krope"]!]),
                ("kqv_out", ["q": p["Qrope"]!, "k_new": p["Krope"]!, "v_new": p["Vcur"]!, "k_cache": kCache[l],
                             "v_cache": vCache[l], "params": prefillAttnParams, "out": p["kqv_out"]!]),
                ("attn_out", ["x": p["kqv_out"]!, "w": w["wo"]!, "y": p["attn_out"]!]),
                ("ffn_inp", ["a": p["attn_out"]!, "b": x, "out": p["ffn_inp"]!]),
                ("ffn_norm", ["x": p["ffn_inp"]!, "w": w["ffn_norm_w"]!, "y": p["ffn_norm"]!]),
                ("ffn_gate", ["x": p["ffn_norm"]!, "w": w["w_gate"]!, "y": p["ffn_gate"]!]),
                ("ffn_up", ["x": p["ffn_norm"]!, "w": w["w_up"]!, "y": p["ffn_up"]!]),
                ("ffn_act", ["gate": p["ffn_gate"]!, "up": p["ffn_up"]!, "out": p["ffn_act"]!]),
                ("ffn_out", ["x": p["ffn_act"]!, "w": w["w_down"]!, "y": p["ffn_out"]!]),
                ("l_out", ["a": p["ffn_out"]!, "b": p["ffn_inp"]!, "out": p["l_out"]!]),
            ]
            for (slot, b) in bindings { runs.append(try makeRun(prefillDesigns.design("prefill_" + slot), b)) }
        }
        if tail != .none {
            if lastRowViews[lastRow] == nil {
                let h = 2 * graph.config.hiddenSize
                lastRowViews[lastRow] = try device.subBuffer(of: p["l_out"]!, offset: lastRow * h, size: h)
            }
            let x = lastRowViews[lastRow]!
            runs.append(tail == .argmax
                ? try makeRun(designs.lmHead(argmax: true, taps: false), ["x": x, "norm_w": outputNorm, "w": lmHead, "token": tokenOut])
                : try makeRun(designs.lmHead(argmax: false, taps: false), ["x": x, "norm_w": outputNorm, "w": lmHead, "logits": logitsOut]))
        }
        return runs
    }

    /// One prefill chunk of up to `chunk` rows at `start`: one sync in, one runlist.
    private func runPrefillChunk(_ tokens: ArraySlice<Int>, start: Int, tail: Tail) throws {
        let chunk = prefillDesigns.chunk, c = graph.config
        let before = device.counters
        let emulated = device as? EmulatedDevice
        let trafficBefore = emulated?.traffic
        let chainsBefore = emulated?.chains.count ?? 0
        let list = try runlist(RunlistKey(bucket: 0, tail: tail, taps: false, prefillLastRow: tokens.count - 1))
        let memory = prefillStep.hostMemory
        memory.initializeMemory(as: UInt8.self, repeating: 0)
        let header = memory.baseAddress!.assumingMemoryBound(to: Int32.self)
        for (i, v) in [start + tokens.count - 1, start, tokens.count, 0, 0, 0, 0, 0].enumerated() { header[i] = Int32(v) }
        for r in 0..<chunk {
            params.writeRope(position: start + r, into: memory.baseAddress! + 32 + r * 2 * c.headDim)
        }
        let rows = (memory.baseAddress! + prefillDesigns.ropeParamsBytes).assumingMemoryBound(to: UInt16.self)
        for (r, t) in tokens.enumerated() { (rows + r * c.hiddenSize).update(from: try embedding(t), count: c.hiddenSize) }
        try prefillStep.sync(.toDevice)
        try list.execute()   // XRT's protocol: execute, wait (errors reported here), then sync the outputs
        try list.wait(timeoutMilliseconds: 10_000)
        if tail == .logits { try logitsOut.sync(.fromDevice) }
        if tail == .argmax { try tokenOut.sync(.fromDevice) }
        counters.recordPrefillChunk(device.counters - before,
                                    traffic: trafficBefore.map { emulated!.traffic - $0 },
                                    chains: emulated.map { Array($0.chains[chainsBefore...]) })
    }

    /// The prompt through the chunked prefill; the last chunk ends with `tail`'s LM head.
    private func prefill(_ tokens: [Int], start: Int, tail: Tail) throws {
        if !usesPrefillDesigns {   // each row a decode step; the last one ends with the LM head
            for (i, t) in tokens.enumerated() {
                let last = i == tokens.count - 1
                try measured { _ = try runToken(t, position: start + i, tail: last ? tail : .none, taps: false) }
            }
            if tail == .logits { try logitsOut.sync(.fromDevice) }
            if tail == .argmax { try tokenOut.sync(.fromDevice) }
            return
        }
        let chunk = prefillDesigns.chunk
        for from in stride(from: 0, to: tokens.count, by: chunk) {
            let to = min(from + chunk, tokens.count)
            try runPrefillChunk(tokens[from..<to], start: start + from, tail: to == tokens.count ? tail : .none)
        }
    }

    // MARK: - Decode

    /// The token's embedding row as the kernels take it (bf16), converted on the host from the file.
    /// Sources without stored bytes (in-memory tensors) are converted whole, once.
    private func embedding(_ token: Int) throws -> [UInt16] {
        let h = graph.config.hiddenSize
        if let table = embeddingTable { return Array(table[token * h..<(token + 1) * h]) }
        if (try? tensors.rawBytes("token_embd.weight")) == nil {
            embeddingTable = try tensors.floats("token_embd.weight").map(floatToBF16)
            return try embedding(token)
        }
        return try tensors.floats("token_embd.weight", rows: token..<token + 1).map(floatToBF16)
    }
    private var embeddingTable: [UInt16]?   // (vocab, hidden) bf16, only for sources without stored bytes

    /// One token at `position`: write the step BO (one sync), execute the runlist (one submission).
    private func runToken(_ token: Int, position: Int, tail: Tail, taps: Bool) throws -> [UInt16] {
        let bucket = designs.bucket(forPosition: position)
        let key = RunlistKey(bucket: bucket, tail: tail, taps: taps)
        let list = try runlist(key)
        try bindKVRows(key, position: position)
        let row = try embedding(token)
        params.write(position: position, bucket: bucket, embedding: row, into: step.hostMemory)
        try step.sync(.toDevice)
        try list.execute()   // XRT's protocol: execute, wait (errors reported here), then the caller syncs outputs
        try list.wait(timeoutMilliseconds: 10_000)
        return row
    }

    private func checkStep(_ tokens: [Int], _ start: Int) throws {
        guard start >= 0, start + tokens.count <= contextLength else {
            throw StepError.contextFull(position: start, tokens: tokens.count, contextLength: contextLength)
        }
        for t in tokens where t < 0 || t >= graph.config.vocabSize {
            throw StepError.tokenOutOfRange(id: t, vocabSize: graph.config.vocabSize)
        }
    }

    private func readBF16(_ buffer: NPUBuffer, count: Int, offset: Int = 0) throws -> [Float] {
        try buffer.sync(.fromDevice)
        let raw = try buffer.readableHostBytes()
        return (0..<count).map { bf16ToFloat(raw.load(fromByteOffset: 2 * (offset + $0), as: UInt16.self)) }
    }

    private func measured<R>(_ body: () throws -> R) rethrows -> R {
        let before = device.counters
        let emulated = device as? EmulatedDevice
        let trafficBefore = emulated?.traffic
        let chainsBefore = emulated?.chains.count ?? 0
        let rebindsBefore = counters.argumentRebinds
        let r = try body()
        counters.recordToken(device.counters - before,
                             traffic: trafficBefore.map { emulated!.traffic - $0 },
                             chains: emulated.map { Array($0.chains[chainsBefore...]) },
                             rebinds: counters.argumentRebinds - rebindsBefore)
        return r
    }

    /// Greedy decode of one token on the NPU: the argmax LM head brings back one int32.
    public func nextTokenGreedy(after token: Int, position: Int) throws -> Int {
        try checkStep([token], position)
        return try measured {
            _ = try runToken(token, position: position, tail: .argmax, taps: false)
            try tokenOut.sync(.fromDevice)
            return Int(try tokenOut.readableHostBytes().load(as: Int32.self))
        }
    }

    /// Greedy generation: the prompt as decode steps (the last with the argmax head), then `count`
    /// tokens; returns the generated ids.
    public func generateGreedy(prompt: [Int], start: Int = 0, count: Int) throws -> [Int] {
        try checkStep(prompt, start)
        var out: [Int] = []
        guard count > 0 else { return out }
        try prefill(prompt, start: start, tail: .argmax)
        var token = Int(try tokenOut.readableHostBytes().load(as: Int32.self))
        out.append(token)
        var pos = start + prompt.count
        while out.count < count && pos < contextLength {
            token = try nextTokenGreedy(after: token, position: pos)
            out.append(token)
            pos += 1
        }
        return out
    }

    public func step(tokens: [Int], start: Int, logitRows: LogitRows, observer: NodeObserver?) throws -> [Float] {
        guard !tokens.isEmpty else { return [] }
        try checkStep(tokens, start)
        let c = graph.config
        if tokens.count > 1 && observer == nil && logitRows == .last {
            try prefill(tokens, start: start, tail: .logits)
            let raw = try logitsOut.readableHostBytes()
            return (0..<c.vocabSize).map { bf16ToFloat(raw.load(fromByteOffset: 2 * $0, as: UInt16.self)) }
        }
        var logits: [Float] = []
        var captured: [String: [Float]] = [:]
        for (r, t) in tokens.enumerated() {
            let last = r == tokens.count - 1
            let wantLogits = last || logitRows == .all
            let taps = observer != nil
            try measured {
                let row = try runToken(t, position: start + r, tail: wantLogits || taps ? .logits : .none, taps: taps)
                if wantLogits || taps {
                    let l = try readBF16(logitsOut, count: c.vocabSize)
                    if wantLogits { logits += l }
                    if taps { captured["result_output", default: []] += (wantLogits ? l : []) }
                }
                if taps {
                    captured["inp_embd", default: []] += row.map(bf16ToFloat)
                    for l in 0..<c.layerCount {
                        try capture(attentionTaps[l], designs.attentionTaps, layer: l, into: &captured)
                        try capture(mlpTaps[l], designs.mlpTaps, layer: l, into: &captured)
                    }
                    try capture(headTaps, designs.lmHeadTaps, layer: nil, into: &captured)
                }
            }
        }
        if let observer {
            for node in graph.nodes {
                guard let values = captured[node.name] else {
                    throw StepError.unsupportedNode(name: node.name, reason: "verify mode captured no output for it")
                }
                values.withUnsafeBufferPointer { observer(node, $0, values.count / node.width) }
            }
        }
        return logits
    }

    private func capture(_ buffer: NPUBuffer, _ layout: TapLayout, layer: Int?, into captured: inout [String: [Float]]) throws {
        let total = layout.reduce(0) { $0 + $1.width }
        let values = try readBF16(buffer, count: total)
        var offset = 0
        for (slot, width) in layout {
            captured[layer.map { "\(slot)-\($0)" } ?? slot, default: []] += values[offset..<offset + width]
            offset += width
        }
    }

    // MARK: - Backend

    /// bf16 for activations; for a matmul the weights' precision on the device: Q4_1 / Q4_0 when used as
    /// stored, bf16 — or Q8_0 when the weights were Q8_0 converted to bf16 at upload, since that
    /// rounding is part of the node's error against a reference that reads the file's weights.
    public func dtype(of node: Node) -> DType {
        guard case .matmul(let weight) = node.op else { return .bf16 }
        let onDevice = node.name == "result_output" ? designs.lmHeadDType : designs.projectionDType
        if onDevice == .bf16, tensors.info(weight)?.dtype == .q8_0 { return .q8_0 }
        return onDevice
    }

    /// The plan was made at init (a shape the kernels cannot serve fails there, naming its use),
    /// so every node of the graph has a kernel.
    public func unsupportedReason(_ node: Node) -> String? { nil }
}
