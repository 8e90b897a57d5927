// NPUBackend: the Llama graph as fused decode designs on an NPUDevice — weights resident, one runlist per token, counted.
import Foundation
import LlamaCore

/// Runs the graph on an `NPUDevice` (the real NPU through XRT, or `EmulatedDevice`).
///
/// - Load: weights are converted once into the kernels' layouts (bf16; GGUF Q4_1 blocks as stored)
///   and uploaded into device buffers; KV cache `(layer, kvHead, ctx, headDim)` bf16 (one BO per
///   layer for K and for V) and the activations stay on the device for the session.
/// - Decode: ONE runlist per token: per layer the attention half and the MLP half, then the LM head
///   (argmax variant: one int32 back; logits variant: bf16 logits back). Runs and runlists are built
///   once per (KV length bucket, tail, taps) and reused. Per token the host writes the step params
///   BO (header, RoPE row, embedding row) with one sync and reads the token or logits with one sync.
/// - Prefill: repeated decode steps (one runlist per prompt row, rows before the last without the
///   LM head). The chunked matmul/attn_prefill path is not built yet.
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
    private var lmHead: NPUBuffer!                          // (vocab, hidden) bf16 or Q4_1 blocks
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

    enum Tail: Hashable { case none, argmax, logits }
    struct RunlistKey: Hashable { var bucket: Int; var tail: Tail; var taps: Bool }

    /// - Parameters:
    ///   - xclbin: the decode xclbin (Tools/build-kernels.py output; any name for the emulator).
    ///   - instructions: a kernel's instruction stream (insts.bin words) by kernel name.
    ///   - progress: (bytes uploaded, total weight bytes) during load.
    public init(graph: Graph, tensors: TensorSource, device: NPUDevice, manifest: KernelManifest, contextLength: Int,
                xclbin: String, instructions: @escaping (String) throws -> [UInt32],
                progress: ((Int, Int) -> Void)? = nil) throws {
        let c = graph.config
        let plan = try Self.plan(graph: graph, tensors: tensors, manifest: manifest, contextLength: contextLength)
        designs = try DecodeDesigns(plan: plan, config: c, projectionDType: WeightConversion.projectionDType(tensors, graph),
                                    lmHeadDType: WeightConversion.lmHeadDType(tensors, graph), context: contextLength)
        self.graph = graph
        self.contextLength = contextLength
        self.maxBatch = contextLength
        self.device = device
        self.tensors = tensors
        instructionSource = instructions
        params = StepParams(config: c)
        hwContext = try device.openContext(xclbin: xclbin)
        try allocateAndUpload(progress: progress)
    }

    /// The kernel plan for a model's weights (throws `KernelPlanError` naming what the kernels cannot serve).
    public static func plan(graph: Graph, tensors: TensorSource, manifest: KernelManifest, contextLength: Int) throws -> KernelPlan {
        try KernelPlan(manifest: manifest, config: graph.config,
                       projectionWeights: WeightConversion.projectionDType(tensors, graph),
                       lmHeadWeights: WeightConversion.lmHeadDType(tensors, graph), context: contextLength, chunk: 64)
    }

    /// An emulated device holding every decode design this model needs (a test instrument).
    public static func emulatedDevice(graph: Graph, tensors: TensorSource, manifest: KernelManifest,
                                       contextLength: Int) throws -> EmulatedDevice {
        let plan = try plan(graph: graph, tensors: tensors, manifest: manifest, contextLength: contextLength)
        let d = try DecodeDesigns(plan: plan, config: graph.config, projectionDType: WeightConversion.projectionDType(tensors, graph),
                                  lmHeadDType: WeightConversion.lmHeadDType(tensors, graph), context: contextLength)
        return EmulatedDesigns.device(for: d)
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

        let total = uploads.reduce(0) { $0 + $1.buffer.size }
        var done = 0
        progress?(0, total)
        for u in uploads {
            try WeightConversion.write(u.name, as: u.dtype, from: tensors, into: u.buffer.hostMemory)
            try u.buffer.sync(.toDevice)
            done += u.buffer.size
            progress?(done, total)
        }
        // every kernel's instruction stream, uploaded once (runs and runlists are built on first use, without syncs)
        for design in designs.all { _ = try instructionBuffer(design.kernelName) }
        counters.load = device.counters
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
        for l in 0..<graph.config.layerCount {
            let w = layerWeights[l]
            var a: [String: NPUBuffer] = [
                "x": l == 0 ? embedRow : residual, "norm_w": w["attn_norm_w"]!, "wq": w["wq"]!, "wk": w["wk"]!,
                "wv": w["wv"]!, "wo": w["wo"]!, "k_cache": kCache[l], "v_cache": vCache[l], "params": stepParams,
                "out": ffnInput,
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
        let list = try runlist(RunlistKey(bucket: bucket, tail: tail, taps: taps))
        let row = try embedding(token)
        params.write(position: position, bucket: bucket, embedding: row, into: step.hostMemory)
        try step.sync(.toDevice)
        try list.execute()
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
        let trafficBefore = (device as? EmulatedDevice)?.traffic
        let r = try body()
        counters.recordToken(device.counters - before,
                             traffic: trafficBefore.map { (device as! EmulatedDevice).traffic - $0 })
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
        for (i, t) in prompt.dropLast().enumerated() {
            try measured { _ = try runToken(t, position: start + i, tail: .none, taps: false) }
        }
        var out: [Int] = []
        var token = prompt.last!, pos = start + prompt.count - 1
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

    /// bf16 for activations; for a matmul the weights' precision on the device: Q4_1 when used as
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
