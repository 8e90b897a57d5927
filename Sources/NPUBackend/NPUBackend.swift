// NPUBackend: the Llama graph on an NPUDevice as one runlist per token — the decode token run and the LM head run, one driver command — weights resident in their channel layouts, KV and io resident, counted.
import Foundation
import LlamaCore

/// Runs the graph on an `NPUDevice` (the real NPU through XRT, or `EmulatedDevice`).
///
/// - Load: the weights BO is written once in the decode token's channel layout (`DecodeWeights`: the layers' norms,
///   then every matrix's tiles permuted into the 8 channel streams, bf16 or GGUF Q4_1 / Q4_0 blocks as stored), the
///   lm_weights BO in the LM head's (output_norm_w, then its channel streams in its own format: bf16, Q4_1, Q4_0 as
///   stored, other formats rounded to bf16); the KV BO (`DecodeLayout`: block, layer, group, head, K|V, row,
///   headDim) and the io BO stay on the device.
/// - Decode: a runlist per KV length bucket, built once: [decode token run, LM head run] — two runs, one chained
///   command, one driver command per token. Per token the host writes the io params region and the embedding row
///   (one sync of that range), re-binds kv_row to the token's row (one set_arg), executes, waits, and syncs back only
///   what it needs: the token (4 bytes) for greedy, the logits when sampling needs them, every intermediate's io
///   regions in verify mode.
/// - Prompts of more than one row run through the prefill designs (issue 13; `PrefillLayout`): chunks of C = block
///   rows at multiples of C, one runlist each — [prefill], or [prefill, LM head] for the chunk holding the last row —
///   the pio inputs in with one sync and kv_blk re-bound to the chunk's block (one set_arg); a cached prefix not on a
///   chunk boundary continues with decode steps up to it. Without prefill designs (or one row) prompt rows run as
///   decode steps, a row whose logits nobody reads through the bucket's runlist of the decode token run alone.
/// - Verify mode (observer non-nil): the io regions of every intermediate are the taps (node names as llama.cpp's).
public final class NPUBackend: Backend, @unchecked Sendable {
    public let graph: Graph
    public let contextLength: Int
    /// Rows per step accepted; each row is one runlist execution.
    public let maxBatch: Int
    public var label: String { device.label }
    public let device: NPUDevice
    public let designs: DecodeDesigns
    public var layout: DecodeLayout { designs.layout }
    public private(set) var counters = BackendCounters()
    /// Prompts of more than one row through the prefill runs (default). false: every prompt row as a decode step (the
    /// decode path alone, as before issue 13; tests of its per-row counts).
    public var promptsThroughPrefill = true

    private let hwContext: NPUHardwareContext
    private let instructionSource: (String) throws -> [UInt32]
    private let tensors: TensorSource
    private let params: StepParams
    private var kernels: [String: NPUKernel] = [:]
    private var instructionBuffers: [String: NPUBuffer] = [:]
    /// Per bucket: the decode token run, the runlist [decode, LM head] and the runlist [decode] (prompt rows).
    private var runlists: [Int: (run: NPURun, token: NPURunlist, layers: NPURunlist)] = [:]
    private var lmHeadRun: NPURun?   // one run, in every bucket's token runlist (XRT lets a run join several runlists)
    /// Per bucket: the prefill run and its runlists [prefill] (a prompt chunk) and [prefill, LM head] (the chunk
    /// holding the prompt's last row); [LM head] alone for verify mode's prompt rows.
    private var prefillRunlists: [Int: (run: NPURun, chunk: NPURunlist, last: NPURunlist)] = [:]
    private var lmHeadAloneList: NPURunlist?

    // Device buffers for the whole session.
    private var weights: NPUBuffer!     // the layers' norms ‖ channel streams
    private var lmWeights: NPUBuffer!   // output_norm_w ‖ the LM head's channel streams
    private var kv: NPUBuffer!          // the KV cache
    private var io: NPUBuffer!          // params, x, every intermediate, x_final, result_norm, logits, bests, token
    private var pio: NPUBuffer?         // the prefill's io: header, RoPE rows, embeddings, every intermediate of a chunk

    /// - Parameters:
    ///   - xclbin: the decode xclbin (Tools/build-kernels.py output; any name for the emulator).
    ///   - instructions: a kernel's instruction stream (insts.bin words) by kernel name.
    ///   - progress: (bytes written, total weight bytes) during load.
    public init(graph: Graph, tensors: TensorSource, device: NPUDevice, manifest: KernelManifest, contextLength: Int,
                xclbin: String, instructions: @escaping (String) throws -> [UInt32], progress: ((Int, Int) -> Void)? = nil) throws {
        let c = graph.config
        designs = try Self.designs(graph: graph, tensors: tensors, manifest: manifest, contextLength: contextLength)
        self.graph = graph
        self.contextLength = contextLength
        self.maxBatch = contextLength
        self.device = device
        self.tensors = tensors
        instructionSource = instructions
        params = StepParams(config: c)
        // amdxdna's CUs per hw_context (NPU2 target model), for every device: the kernels this backend opens
        let names = designs.all.map(\.kernelName)
        try DesignLimits.checkContextKernels(count: names.count, composition: "decode", target: manifest.target,
                                             baseline: manifest.baseline)
        if let xrt = device as? XRTDevice, xrt.target == nil { xrt.target = manifest.target }   // XRT's chain size, for counting
        let before = device.counters
        hwContext = try device.openContext(xclbin: xclbin)
        try allocateAndUpload(progress: progress)
        // the memlock check (DeviceMemoryPlan) must describe exactly these allocations
        let loaded = device.counters - before
        try DeviceMemoryPlan(designs: designs, instructionBytes: instructionBuffers.mapValues(\.size))
            .verify(allocatedBuffers: loaded.buffersAllocated, allocatedBytes: loaded.bytesAllocated)
    }

    /// The per-use kernel plan of a model's weights (Tools/build-kernels.py plans the same uses; throws
    /// `KernelPlanError` naming what the kernels cannot serve).
    public static func plan(graph: Graph, tensors: TensorSource, manifest: KernelManifest, contextLength: Int) throws -> KernelPlan {
        try KernelPlan(manifest: manifest, config: graph.config,
                       projectionWeights: WeightConversion.projectionDType(tensors, graph),
                       lmHeadWeights: WeightConversion.lmHeadDType(tensors, graph), context: contextLength, chunk: 64)
    }

    /// The decode designs of a model (one decode token kernel per KV length bucket, the LM head kernel).
    public static func designs(graph: Graph, tensors: TensorSource, manifest: KernelManifest, contextLength: Int) throws -> DecodeDesigns {
        try DecodeDesigns(manifest: manifest, config: graph.config, projectionDType: WeightConversion.projectionDType(tensors, graph),
                          lmHeadDType: WeightConversion.lmHeadDType(tensors, graph), context: contextLength)
    }

    /// Every kernel name the backend opens for this model, as `Tools/build-kernels.py` names them in kernels.json.
    public static func kernelNames(graph: Graph, tensors: TensorSource, manifest: KernelManifest, contextLength: Int) throws -> [String] {
        try designs(graph: graph, tensors: tensors, manifest: manifest, contextLength: contextLength).all.map(\.kernelName)
    }

    /// An emulated device holding every decode design this model needs (a test instrument).
    public static func emulatedDevice(graph: Graph, tensors: TensorSource, manifest: KernelManifest,
                                       contextLength: Int) throws -> EmulatedDevice {
        EmulatedDesigns.device(for: try designs(graph: graph, tensors: tensors, manifest: manifest, contextLength: contextLength))
    }

    // MARK: - Load

    private func dataBuffer(_ bytes: Int, _ name: String) throws -> NPUBuffer {
        // every data argument is in group_id(3+i); the kernels of every bucket share these buffers
        let b = try device.allocate(size: bytes, flags: .hostOnly,
                                    memoryGroup: try kernel(designs.all[0].kernelName).memoryGroup(argument: 3))
        (b as? EmulatedBuffer)?.name = name
        return b
    }

    private func allocateAndUpload(progress: ((Int, Int) -> Void)?) throws {
        let l = layout
        weights = try dataBuffer(l.weightsBytes, "weights")
        lmWeights = try dataBuffer(l.lmHead.weightsBytes, "lm_weights")
        kv = try dataBuffer(2 * l.kvElements, "kv")
        io = try dataBuffer(2 * l.ioElements, "io")
        if let p = designs.prefill { pio = try dataBuffer(p.pioBytes, "pio") }
        let total = l.weightsBytes + l.lmHead.weightsBytes
        try DecodeWeights.write(l, tensors: tensors, into: weights.hostMemory) { done, _ in progress?(done, total) }
        try weights.sync(.toDevice)
        try DecodeWeights.writeLMHead(l, tensors: tensors, outputWeight: graph.outputWeightName, into: lmWeights.hostMemory) { done, _ in
            progress?(l.weightsBytes + done, total)
        }
        try lmWeights.sync(.toDevice)
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

    /// The row argument for `position`: the KV BO from base(pos) on, so each group's new K and V rows are at the
    /// design's static offsets off(l, group, i, K|V).
    private func kvRow(position: Int) throws -> NPUBuffer {
        try device.subBuffer(of: kv, offset: 2 * layout.kvRowBase(position: position), size: 2 * layout.kvRowElements)
    }

    /// A run of `design` with opcode, its instruction stream and its data arguments bound.
    private func makeRun(_ design: FusedDesign, _ buffers: [String: NPUBuffer]) throws -> NPURun {
        let run = try hwContext.makeRun(try kernel(design.kernelName))
        let (insts, words) = try instructionBuffer(design.kernelName)
        try run.setArgument(0, value: 3)
        try run.setArgument(1, buffer: insts)
        try run.setArgument(2, value: UInt64(words))
        for (i, a) in design.arguments.enumerated() { try run.setArgument(3 + i, buffer: buffers[a.name]!) }
        return run
    }

    /// The bucket's decode token run (weights, kv, kv_row re-bound per token, io) and its two runlists: [decode, LM
    /// head (lm_weights, io)] for a token, [decode] for a prompt row without logits.
    private func runlist(bucket: Int) throws -> (run: NPURun, token: NPURunlist, layers: NPURunlist) {
        if let r = runlists[bucket] { return r }
        let run = try makeRun(designs.token(bucket: bucket), ["weights": weights, "kv": kv, "kv_row": try kvRow(position: 0), "io": io])
        let token = try hwContext.makeRunlist()
        try token.add(run)
        try token.add(try lmHead())
        let layers = try hwContext.makeRunlist()
        try layers.add(run)
        runlists[bucket] = (run, token, layers)
        return (run, token, layers)
    }

    /// The LM head run (lm_weights, io), shared by every runlist that ends with it.
    private func lmHead() throws -> NPURun {
        if let r = lmHeadRun { return r }
        let r = try makeRun(designs.lmHead, ["lm_weights": lmWeights, "io": io])
        lmHeadRun = r
        return r
    }

    /// The kv_blk argument of a chunk at `start`: the KV BO's block start/C of every layer, head and K|V.
    private func kvBlock(_ p: PrefillLayout, start: Int) throws -> NPUBuffer {
        try device.subBuffer(of: kv, offset: 2 * p.kvBlockBase(start: start), size: 2 * p.kvBlockElements)
    }

    /// The bucket's prefill run (weights, kv, kv_blk re-bound per chunk, pio, io) and its runlists.
    private func prefillRunlist(bucket: Int, _ p: PrefillLayout) throws -> (run: NPURun, chunk: NPURunlist, last: NPURunlist) {
        if let r = prefillRunlists[bucket] { return r }
        let run = try makeRun(designs.prefill(bucket: bucket, p),
                              ["weights": weights, "kv": kv, "kv_blk": try kvBlock(p, start: 0), "pio": pio!, "io": io])
        let chunk = try hwContext.makeRunlist()
        try chunk.add(run)
        let last = try hwContext.makeRunlist()
        try last.add(run)
        try last.add(try lmHead())
        prefillRunlists[bucket] = (run, chunk, last)
        return (run, chunk, last)
    }

    // MARK: - Prefill (issue 13)

    /// One prompt chunk: `tokens` (1…C rows) at positions start… (start a multiple of C). The host writes pio's
    /// header, RoPE rows and embeddings (zeros past the rows; one sync), re-binds kv_blk to the chunk's block (one
    /// set_arg) and executes [prefill], or [prefill, LM head] when the chunk holds the prompt's last row.
    private func runChunk(_ tokens: ArraySlice<Int>, start: Int, lmHead: Bool) throws {
        let p = designs.prefill!, H = graph.config.hiddenSize, rows = tokens.count
        let bucket = p.bucket(start: start)
        let (run, chunkList, lastList) = try prefillRunlist(bucket: bucket, p)
        try run.setArgument(3 + designs.prefill(bucket: bucket, p).index(of: "kv_blk"), buffer: try kvBlock(p, start: start))
        counters.argumentRebinds += 1
        let base = pio!.hostMemory.baseAddress!
        base.initializeMemory(as: UInt8.self, repeating: 0, count: p.hostInputBytes)
        let header = (base + 2 * p.pioHeader).assumingMemoryBound(to: Int32.self)
        for (i, v) in [Int32(start), Int32(rows), 1, Int32(bucket)].enumerated() { header[i] = v }
        for (r, t) in tokens.enumerated() {
            params.writeRope(position: start + r, into: base + 2 * (p.pioCS + r * p.unit))
            let row = try embedding(t)
            (base + 2 * (p.pioX + r * H)).assumingMemoryBound(to: UInt16.self).update(from: row, count: H)
        }
        try pio!.sync(.toDevice, offset: 0, size: p.hostInputBytes)
        let list = lmHead ? lastList : chunkList
        try list.execute()
        try list.wait(timeoutMilliseconds: 10_000)
    }

    /// A prompt through the prefill runs: decode steps up to the next chunk boundary when `start` is not on one (a
    /// cached prefix; at most C − 1 rows, or the prompt's end), then chunks of C rows, the last possibly partial;
    /// the LM head runs after the prompt's last row only (its logits and token are then in io).
    private func prefillPrompt(_ tokens: [Int], start: Int) throws {
        let C = designs.prefill!.chunk, n = tokens.count
        var i = 0
        while (start + i) % C != 0 && i < n {
            let last = i == n - 1
            try measured { _ = try runToken(tokens[i], position: start + i, lmHead: last) }
            i += 1
        }
        while i < n {
            let rows = min(C, n - i)
            let last = i + rows == n
            try measured(chunk: true) { try runChunk(tokens[i..<i + rows], start: start + i, lmHead: last) }
            i += rows
        }
    }

    /// Whether a prompt of `count` rows runs through the prefill designs (more than one row, the designs built).
    /// Issue 17: Qwen models too — the prefill's family core adds the biases / norms the q-k heads (group Q).
    private func prefills(_ count: Int) -> Bool {
        promptsThroughPrefill && designs.prefill != nil && count > 1
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

    /// One token at `position`: the io inputs (one sync of their range), kv_row re-bound (one set_arg), the runlist
    /// executed (one driver command) and waited for — [decode, LM head], or without `lmHead` [decode] alone.
    private func runToken(_ token: Int, position: Int, lmHead: Bool = true) throws -> [UInt16] {
        let bucket = designs.bucket(forPosition: position)
        let (run, tokenList, layersList) = try runlist(bucket: bucket)
        let list = lmHead ? tokenList : layersList
        // XRT's runlist documents reuse by calling execute() again; that set_arg between executions takes effect
        // at the next execute() is the assumption (REFERENCE §9: rebinding to a sub-buffer of a bound parent is safe)
        try run.setArgument(3 + designs.token(bucket: bucket).index(of: "kv_row"), buffer: try kvRow(position: position))
        counters.argumentRebinds += 1
        let row = try embedding(token)
        let l = layout
        params.write(position: position, bucket: bucket, embedding: row, into: io.hostMemory,
                     paramsAt: 2 * l.ioParams, embeddingAt: 2 * l.ioX)
        try io.sync(.toDevice, offset: 0, size: l.hostInputBytes)
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

    /// `count` bf16 values of io at element `at`, after a sync of just that range.
    private func readIO(at: Int, count: Int) throws -> [Float] {
        try io.sync(.fromDevice, offset: 2 * at, size: 2 * count)
        return try bf16Values(at: at, count: count)
    }

    /// `count` bf16 values of io at element `at` from the host view (already synced back).
    private func bf16Values(at: Int, count: Int) throws -> [Float] {
        let raw = try io.readableHostBytes(offset: 2 * at, size: 2 * count)
        return (0..<count).map { bf16ToFloat(raw.load(fromByteOffset: 2 * $0, as: UInt16.self)) }
    }

    /// `count` fp32 values of io from bf16 element `at` (two slots each: a Qwen QKV stage's rows, DecodeLayout.qkvF32).
    private func f32Values(at: Int, count: Int) throws -> [Float] {
        let raw = try io.readableHostBytes(offset: 2 * at, size: 4 * count)
        return (0..<count).map { Float(bitPattern: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self)) }
    }

    private func readToken() throws -> Int {
        let at = 2 * layout.ioToken
        try io.sync(.fromDevice, offset: at, size: 4)
        return Int(try io.readableHostBytes(offset: at, size: 4).load(as: Int32.self))
    }

    private func measured<R>(chunk: Bool = false, _ body: () throws -> R) rethrows -> R {
        let before = device.counters
        let emulated = device as? EmulatedDevice
        let trafficBefore = emulated?.traffic
        let chainsBefore = emulated?.chains.count ?? 0
        let rebindsBefore = counters.argumentRebinds
        let r = try body()
        let used = device.counters - before, traffic = trafficBefore.map { emulated!.traffic - $0 }
        if chunk {
            counters.recordChunk(used, traffic: traffic, chains: emulated.map { Array($0.chains[chainsBefore...]) })
        } else {
            counters.recordToken(used, traffic: traffic, chains: emulated.map { Array($0.chains[chainsBefore...]) },
                                 rebinds: counters.argumentRebinds - rebindsBefore)
        }
        return r
    }

    /// Greedy decode of one token on the NPU: the argmax merge's token, 4 bytes back.
    public func nextTokenGreedy(after token: Int, position: Int) throws -> Int {
        try checkStep([token], position)
        return try measured {
            _ = try runToken(token, position: position)
            return try readToken()
        }
    }

    /// Greedy generation: the prompt through the prefill runs (or as decode steps without prefill designs), then
    /// `count` tokens; returns the generated ids.
    public func generateGreedy(prompt: [Int], start: Int = 0, count: Int) throws -> [Int] {
        try checkStep(prompt, start)
        var out: [Int] = []
        guard count > 0, !prompt.isEmpty else { return out }
        var token: Int
        if prefills(prompt.count) {
            try prefillPrompt(prompt, start: start)
            token = try readToken()
        } else {
            // the prompt's rows before the last: no logits read, so the decode token run alone
            for (i, t) in prompt.dropLast().enumerated() { try measured { _ = try runToken(t, position: start + i, lmHead: false) } }
            token = try nextTokenGreedy(after: prompt.last!, position: start + prompt.count - 1)
        }
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
        let c = graph.config, l = layout
        if observer == nil, logitRows == .last, prefills(tokens.count) {
            try prefillPrompt(tokens, start: start)
            return try readIO(at: l.ioLogits, count: c.vocabSize)
        }
        var logits: [Float] = []
        var captured: [String: [Float]] = [:]
        // verify mode with prefill designs: the prompt's chunks through the prefill runs, their taps from pio (decode
        // steps up to the first chunk boundary, as the prompt would run)
        let chunked = observer != nil && prefills(tokens.count), C = designs.prefill?.chunk ?? 1
        var r = 0
        while r < tokens.count {
            if chunked && (start + r) % C == 0 {
                let rows = min(C, tokens.count - r)
                try chunkWithTaps(tokens[r..<r + rows], start: start + r, last: r + rows == tokens.count,
                                  allLogits: logitRows == .all, captured: &captured, logits: &logits)
                r += rows
                continue
            }
            let t = tokens[r]
            let wantLogits = r == tokens.count - 1 || logitRows == .all
            let taps = observer != nil
            try measured {
                // the LM head runs when the row's logits are read (verify reads every row's result_norm and logits)
                let row = try runToken(t, position: start + r, lmHead: wantLogits || taps)
                if taps {
                    // every intermediate's io regions, one sync from the first layer's region to the end
                    let from = l.layers[0].qkv
                    try io.sync(.fromDevice, offset: 2 * from, size: 2 * (l.ioElements - from))
                    captured["inp_embd", default: []] += row.map(bf16ToFloat)
                    try capture(into: &captured)
                    let out = try bf16Values(at: l.ioLogits, count: c.vocabSize)
                    captured["result_output", default: []] += out
                    if wantLogits { logits += out }
                } else if wantLogits {
                    logits += try readIO(at: l.ioLogits, count: c.vocabSize)
                }
            }
            r += 1
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

    /// Verify mode's prompt chunk: the chunk's runlist ([prefill], or [prefill, LM head] when it holds the prompt's
    /// last row), then its taps — pio's per-layer regions (one sync) and the chunk's KV block (one sync: Krope is the
    /// cached roped K) — as llama.cpp's nodes row by row. result_norm and result_output of the prompt's last row are
    /// the LM head run's after the prefill (on the x_final the prefill wrote); every other row's come from the LM
    /// head run alone ([LM head]) on its final residual, copied by the host from pio's last l_out into io.x_final.
    private func chunkWithTaps(_ tokens: ArraySlice<Int>, start: Int, last: Bool, allLogits: Bool,
                               captured: inout [String: [Float]], logits: inout [Float]) throws {
        let p = designs.prefill!, c = graph.config, l = layout, H = c.hiddenSize, hd = c.headDim, grp = c.groupSize
        let Q = c.qDim, KV = c.kvDim, F = c.intermediateSize, rows = tokens.count, L = c.layerCount, V = c.vocabSize
        try measured(chunk: true) { try runChunk(tokens, start: start, lmHead: last) }
        try pio!.sync(.fromDevice, offset: 2 * p.layerBase, size: p.pioBytes - 2 * p.layerBase)
        try kv.sync(.fromDevice, offset: 2 * p.kvBlockBase(start: start), size: 2 * p.kvBlockElements)
        func values(_ b: NPUBuffer, _ at: Int, _ n: Int) throws -> [Float] {
            let raw = try b.readableHostBytes(offset: 2 * at, size: 2 * n)
            return (0..<n).map { bf16ToFloat(raw.load(fromByteOffset: 2 * $0, as: UInt16.self)) }
        }
        // n fp32 values at bf16 element `at` (fp32 value i in slots at + 2i, at + 2i + 1: its little-endian bytes)
        func fp32(_ b: NPUBuffer, _ at: Int, _ n: Int) throws -> [Float] {
            let raw = try b.readableHostBytes(offset: 2 * at, size: 4 * n)
            return (0..<n).map { Float(bitPattern: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self)) }
        }
        var lastRow: (norm: [Float], logits: [Float])?
        if last {
            try io.sync(.fromDevice, offset: 2 * l.ioResultNorm, size: 2 * (l.ioLogits + V - l.ioResultNorm))
            lastRow = (try values(io, l.ioResultNorm, H), try values(io, l.ioLogits, V))
        }
        for (r, t) in tokens.enumerated() {
            captured["inp_embd", default: []] += try embedding(t).map(bf16ToFloat)
            for i in 0..<L {
                func put(_ name: String, _ v: [Float]) { captured["\(name)-\(i)", default: []] += v }
                func row(_ region: PrefillLayout.Region, _ n: Int) throws -> [Float] {
                    try values(pio!, p.pio(region, layer: i) + r * p.rowStride(region), n)
                }
                put("attn_norm", try row(.attnNorm, H))
                // issue 17: a Qwen family's qkv rows are the QKV stage's fp32 rows (rounded once, by the family core)
                let qkv = p.qkvF32 ? try fp32(pio!, p.pio(.qkv, layer: i) + r * p.rowStride(.qkv), Q + 2 * KV)
                    : try row(.qkv, Q + 2 * KV)
                // Qwen2's products are Q/K/Vcur_mm and the family core's biased rows (qkv_fused) Q/K/Vcur; Qwen3's
                // normed q and k are Qcur_normed/Kcur_normed, its Vcur the fused row's v (the fp32 product rounded
                // once: what RoPE's pass copies into the KV cache; decode's tap reads the same value from its packs)
                let mm = c.family.hasQKVBias ? "_mm" : ""
                put("Qcur" + mm, Array(qkv[0..<Q]))
                put("Kcur" + mm, Array(qkv[Q..<Q + KV]))
                if c.family == .llama { put("Vcur", Array(qkv[(Q + KV)...])) }
                if c.family != .llama {
                    let fused = try row(.qkvFused, Q + 2 * KV)
                    let (q, k) = c.family.hasQKNorm ? ("Qcur_normed", "Kcur_normed") : ("Qcur", "Kcur")
                    put(q, Array(fused[0..<Q]))
                    put(k, Array(fused[Q..<Q + KV]))
                    if c.family.hasQKVBias { put("Vcur_mm", Array(qkv[(Q + KV)...])) }
                    put("Vcur", Array(fused[(Q + KV)...]))
                }
                var qrope: [Float] = [], krope: [Float] = []
                for n in 0..<c.headCount { qrope += try values(pio!, p.qpack(layer: i, j: n % grp, kvHead: n / grp) + r * hd, hd) }
                for h in 0..<c.kvHeadCount {
                    krope += try values(kv, l.kvElement(layer: i, kvHead: h, position: start + r, value: false, dim: 0), hd)
                }
                put("Qrope", qrope)
                put("Krope", krope)
                put("kqv_out", try row(.kqv, Q))
                put("attn_out", try row(.o, H))
                put("ffn_inp", try row(.ffnInp, H))
                put("ffn_norm", try row(.ffnNorm, H))
                let gu = try row(.gu, 2 * F)
                var gate: [Float] = [], up: [Float] = []
                for t in 0..<F / l.tm {
                    gate += gu[2 * t * l.tm..<(2 * t + 1) * l.tm]
                    up += gu[(2 * t + 1) * l.tm..<(2 * t + 2) * l.tm]
                }
                put("ffn_gate", gate)
                put("ffn_up", up)
                put("ffn_act", try row(.act, F))
                put("ffn_out", try row(.d, H))
                put("l_out", try row(.lOut, H))
            }
            let head: (norm: [Float], logits: [Float])
            if last && r == rows - 1 {
                head = lastRow!
            } else {
                head = try lmHeadAlone(pio: p.pio(.lOut, layer: L - 1) + r * H)
            }
            captured["result_norm", default: []] += head.norm
            captured["result_output", default: []] += head.logits
            if allLogits || (last && r == rows - 1) { logits += head.logits }
        }
    }

    /// The LM head run alone on a prompt row's final residual (H bf16 values of pio at `at`, copied into io.x_final;
    /// a sync back of it first, since the runs wrote it, then one each way): its result_norm and logits.
    private func lmHeadAlone(pio at: Int) throws -> (norm: [Float], logits: [Float]) {
        let l = layout, H = graph.config.hiddenSize, V = graph.config.vocabSize
        let src = try pio!.readableHostBytes(offset: 2 * at, size: 2 * H)
        try io.sync(.fromDevice, offset: 2 * l.ioXFinal, size: 2 * H)   // the runs wrote x_final: the host's copy is stale
        (io.hostMemory.baseAddress! + 2 * l.ioXFinal).copyMemory(from: src.baseAddress!, byteCount: 2 * H)
        try io.sync(.toDevice, offset: 2 * l.ioXFinal, size: 2 * H)
        if lmHeadAloneList == nil {
            let list = try hwContext.makeRunlist()
            try list.add(try lmHead())
            lmHeadAloneList = list
        }
        try lmHeadAloneList!.execute()
        try lmHeadAloneList!.wait(timeoutMilliseconds: 10_000)
        try io.sync(.fromDevice, offset: 2 * l.ioResultNorm, size: 2 * (l.ioLogits + V - l.ioResultNorm))
        return (try bf16Values(at: l.ioResultNorm, count: H), try bf16Values(at: l.ioLogits, count: V))
    }

    /// The io regions as llama.cpp's nodes (already synced back): Qcur/Kcur/Vcur are the qkv rows, Qrope/Krope the
    /// packs' q and k, ffn_gate/ffn_up the gu stage's alternating tm-row tiles.
    private func capture(into captured: inout [String: [Float]]) throws {
        let c = graph.config, l = layout, H = c.hiddenSize, hd = c.headDim, grp = c.groupSize
        for (i, r) in l.layers.enumerated() {
            func put(_ name: String, _ v: [Float]) { captured["\(name)-\(i)", default: []] += v }
            put("attn_norm", try bf16Values(at: r.attnNorm, count: H))
            // issue 17: a Qwen family's qkv region holds the QKV stage's fp32 rows (rounded once, in the hub)
            let qkv = l.qkvF32 ? try f32Values(at: r.qkv, count: c.qDim + 2 * c.kvDim)
                : try bf16Values(at: r.qkv, count: c.qDim + 2 * c.kvDim)
            // issue 17: Qwen2's products are Q/K/Vcur_mm and the hub's biased rows (qkv_fused) Q/K/Vcur
            let mm = c.family.hasQKVBias ? "_mm" : ""
            let packs = try bf16Values(at: r.packs, count: c.kvHeadCount * l.pack)
            put("Qcur" + mm, Array(qkv[0..<c.qDim]))
            put("Kcur" + mm, Array(qkv[c.qDim..<c.qDim + c.kvDim]))
            if c.family.hasQKNorm {
                // Qwen3's v is the fp32 product rounded once by the hub (round_f32_bf16): the Vcur the attention and the
                // KV cache use, as each pack carries it (a tap of the fp32 row would credit the device with precision
                // its attention never saw)
                var v: [Float] = []
                for h in 0..<c.kvHeadCount {
                    let at = h * l.pack + (grp + 1) * hd
                    v += packs[at..<at + hd]
                }
                put("Vcur", v)
            } else {
                put("Vcur" + mm, Array(qkv[(c.qDim + c.kvDim)...]))
            }
            if c.family != .llama {
                let fused = try bf16Values(at: r.qkvFused, count: l.fusedValues)
                let (q, k) = c.family.hasQKNorm ? ("Qcur_normed", "Kcur_normed") : ("Qcur", "Kcur")
                put(q, Array(fused[0..<c.qDim]))
                put(k, Array(fused[c.qDim..<c.qDim + c.kvDim]))
                if c.family.hasQKVBias { put("Vcur", Array(fused[(c.qDim + c.kvDim)...])) }
            }
            var qrope: [Float] = [], krope: [Float] = []
            for h in 0..<c.kvHeadCount {
                let at = h * l.pack
                qrope += packs[at..<at + grp * hd]                  // the roped q of the KV head's query heads
                krope += packs[at + grp * hd..<at + (grp + 1) * hd] // its roped k
            }
            put("Qrope", qrope)
            put("Krope", krope)
            put("kqv_out", try bf16Values(at: r.kqv, count: c.qDim))
            put("attn_out", try bf16Values(at: r.o, count: H))
            put("ffn_inp", try bf16Values(at: r.ffnInp, count: H))
            put("ffn_norm", try bf16Values(at: r.ffnNorm, count: H))
            let gu = try bf16Values(at: r.gu, count: 2 * c.intermediateSize)
            var gate: [Float] = [], up: [Float] = []
            for p in 0..<c.intermediateSize / l.tm {   // gate tile, up tile, … each tm rows
                let at = 2 * p * l.tm
                gate += gu[at..<at + l.tm]
                up += gu[at + l.tm..<at + 2 * l.tm]
            }
            put("ffn_gate", gate)
            put("ffn_up", up)
            put("ffn_act", try bf16Values(at: r.act, count: c.intermediateSize))
            put("ffn_out", try bf16Values(at: r.d, count: H))
            put("l_out", try bf16Values(at: r.lOut, count: H))
        }
        captured["result_norm", default: []] += try bf16Values(at: l.ioResultNorm, count: H)
    }

    /// The KV cache's rows of one layer at `positions`, every KV head (rows × kvDim: head h's hd values at h·hd, as
    /// the graph's Krope / Vcur nodes), K or V, synced back row by row (tests and verify).
    public func cachedRows(layer l: Int, positions: Range<Int>, value: Bool) throws -> [Float] {
        let c = graph.config, hd = c.headDim
        var out: [Float] = []
        for pos in positions {
            for h in 0..<c.kvHeadCount {
                let at = layout.kvElement(layer: l, kvHead: h, position: pos, value: value, dim: 0)
                try kv.sync(.fromDevice, offset: 2 * at, size: 2 * hd)
                let raw = try kv.readableHostBytes(offset: 2 * at, size: 2 * hd)
                out += (0..<hd).map { bf16ToFloat(raw.load(fromByteOffset: 2 * $0, as: UInt16.self)) }
            }
        }
        return out
    }

    // MARK: - Backend

    /// bf16 for activations; for a matmul the weights' precision on the device: Q4_1 / Q4_0 as stored, bf16 — or
    /// Q8_0 when the weights were Q8_0 converted to bf16 at upload (SmolLM2's LM head), since that rounding is part of
    /// the node's error against a reference that reads the file's weights.
    public func dtype(of node: Node) -> DType {
        guard case .matmul(let weight) = node.op else { return .bf16 }
        let onDevice = node.name == "result_output" ? designs.lmHeadDType : designs.projectionDType
        if onDevice == .bf16, tensors.info(weight)?.dtype == .q8_0 { return .q8_0 }
        return onDevice
    }

    /// The layout was made at init (a shape the kernels cannot serve fails there, naming its rule),
    /// so every node of the graph has a kernel (issue 17: Qwen's biases and q/k norms are the decode hub's qwen_step).
    public func unsupportedReason(_ node: Node) -> String? { nil }
}
