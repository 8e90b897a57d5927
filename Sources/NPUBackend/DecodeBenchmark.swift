// Decode benchmark: exact per-token counts from the emulated runlist (bytes per argument and per DMA channel) and a MODELLED NPU decode time from the channels the decode token and LM head runs use.
import Foundation
import LlamaCore

/// The throughput model of a decode token (issue 12 point 5). Per phase (DecodeLayout.tokenPhases: the hub, gemv and
/// attention phases of every layer, then the LM head run's, serialized as the runtime sequences wait between them and
/// the runlist runs one run after the other):
/// max(each channel's bytes / `channelBytesPerSecond`, the phase's DRAM bytes / `dramBytesPerSecond`); plus
/// `secondsPerWait` per wait, `secondsPerRun` per run and `secondsPerSync` per host BO sync. Sources:
/// - DRAM ceiling 50 GB/s: issue 12's modelling figure (REFERENCE.md §6 measured 55–65 GB/s over 8 shim columns).
/// - Per channel 35.7 / 4 = 8.9 GB/s: Xilinx/mlir-air programming_examples/fused_decode/README.md ("the Llama-1B
///   design already sustains 35.7 GB/s on four channels"), a lower bound for one MM2S channel; memory-tile and core
///   channels are held to the same figure.
/// - Per run 33 µs: REFERENCE.md §5 (xrt::runlist, ~33 µs per run, xdna-driver PR #135).
/// - Per wait 10 µs and per host sync 10 µs: ASSUMED (no public measurement of a runtime-sequence wait or a small
///   BO sync on amdxdna was found).
public struct DecodeCostModel: Sendable {
    public var dramBytesPerSecond = 50e9
    public var channelBytesPerSecond = 35.7e9 / 4
    public var secondsPerRun = 33e-6
    public var secondsPerWait = 10e-6
    public var secondsPerSync = 10e-6
    public init() {}

    /// A phase's time and what bounds it: "DRAM" or the slowest channel.
    public func phase(_ p: DecodePhase) -> (seconds: Double, limit: String) {
        let dram = Double(p.dramBytes) / dramBytesPerSecond
        // the busiest channel; of equal ones the DRAM side (a memory tile's channel only relays a shim channel's bytes)
        let rank: [DecodeChannel.Kind: Int] = [.shimMM2S: 4, .shimS2MM: 3, .memTileS2MM: 2, .memTileMM2S: 1, .core: 0]
        guard let (channel, bytes) = p.bytes.max(by: { a, b in
            (a.value, rank[a.key.kind]!, b.key.name) < (b.value, rank[b.key.kind]!, a.key.name)
        }) else { return (0, "nothing") }
        let slowest = Double(bytes) / channelBytesPerSecond
        return dram >= slowest ? (dram, "DRAM") : (slowest, channel.description)
    }

    /// The phases' times and their waits (one run's data movement; without the per-run and sync costs).
    public func seconds(phases: [DecodePhase]) -> Double {
        phases.reduce(0) { $0 + phase($1).seconds + Double($1.waits) * secondsPerWait }
    }

    /// A run known only by its bytes (the DRAM ceiling) plus the per-run cost: the TDR bound of other kernels.
    public func seconds(ofRunStreaming bytes: Int) -> Double { Double(bytes) / dramBytesPerSecond + secondsPerRun }

    public var description: String {
        String(format: "DRAM %.0f GB/s (issue 12), %.2f GB/s per DMA channel (mlir-air fused_decode: 35.7 GB/s on 4 channels), "
                   + "%.0f µs per run (REFERENCE §5), %.0f µs per wait and %.0f µs per host sync (assumed)",
               dramBytesPerSecond / 1e9, channelBytesPerSecond / 1e9, secondsPerRun * 1e6, secondsPerWait * 1e6,
               secondsPerSync * 1e6)
    }
}

/// One decode token's counts at a context position, and its modelled time.
public struct DecodeBenchResult: Sendable {
    public var model: String
    public var weights: String
    public var position: Int
    public var bucket: Int
    public var layout: DecodeLayout
    public var kernelsExecuted: Bool
    public var perToken: DeviceCounters
    /// What the emulated run moved, as the driver counted it (per argument and per shim channel).
    public var traffic: DeviceTraffic
    /// Bytes of the model's weights in their formats, without padding (what one token must at least stream).
    public var naturalWeightBytes: Int
    /// Run arguments the host re-bound for the token (kv_row).
    public var argumentRebinds: Int
    /// The token's runlist as the driver receives it.
    public var chains: [RunlistChain]
    public var target: NPU2Target
    public var contextKernels: Int
    public var cost: DecodeCostModel
    /// A 64-row prompt chunk from position 0 on the same emulated device (issue 13): its runlist [prefill, LM head]'s
    /// counts and traffic as the driver counted them, and the prefill layout at the bench's context.
    public var prefillChunk: DeviceCounters?
    public var prefillChunkTraffic: DeviceTraffic?
    public var prefillChunkChains: [RunlistChain]?
    public var prefill: PrefillLayout?

    public var layers: Int { layout.config.layerCount }
    /// The token's phases: the decode token run's, then the LM head run's.
    public var phases: [DecodePhase] { layout.tokenPhases(bucket: bucket) }
    /// Every channel's bytes over both runs from the layout (what the emulator's counts must equal for the shim channels).
    public var channelTotals: [DecodeChannel: Int] { layout.tokenChannelTotals(bucket: bucket) }
    /// Waits in the token's runtime sequences (the decode token's and the LM head's).
    public var waits: Int { layout.waitsPerToken + layout.lmHeadWaits }
    /// Zero rows the channel streams carry (tiles padded to 16 · tm rows, the LM head's to 16 · its tm), in bytes.
    public var paddingBytes: Int { DecodeLayout.channels * (layout.channelBytes + layout.lmHead.channelBytes) - matrixBytes }
    var matrixBytes: Int { naturalWeightBytes - 2 * layout.config.hiddenSize * (2 * layers + 1) }
    public var streamedBytes: Int { traffic.totalRead + traffic.kvWriteBytes + traffic.outputBytes }

    /// Modelled seconds per token, and its parts.
    public var breakdown: (phases: Double, waits: Double, runs: Double, syncs: Double) {
        let p = phases.reduce(0) { $0 + cost.phase($1).seconds }
        return (p, Double(waits) * cost.secondsPerWait, Double(perToken.runs) * cost.secondsPerRun,
                Double(perToken.syncsToDevice + perToken.syncsFromDevice) * cost.secondsPerSync)
    }
    public var modelledSeconds: Double { let b = breakdown; return b.phases + b.waits + b.runs + b.syncs }
    public var modelledTokensPerSecond: Double { 1 / modelledSeconds }

    /// The LM head run's share of the phases' time.
    public var lmHeadSeconds: Double { layout.lmHeadPhases.reduce(0) { $0 + cost.phase($1).seconds } }

    /// What bounds the phases' time: seconds per limit ("DRAM", a channel) and kind of phase (the LM head run's apart),
    /// largest first.
    public var limits: [(limit: String, seconds: Double)] {
        var byLimit: [String: Double] = [:]
        for p in phases {
            let (s, limit) = cost.phase(p)
            // name a channel by its kind of stream (kvg0…kvg3 → kvg), a phase kind beside it
            let kind = p.run == "LM head" ? "LM head \(p.kind.rawValue)" : p.kind.rawValue
            let key = (limit == "DRAM" ? "DRAM" : limit.replacingOccurrences(of: #"\d+$"#, with: "*", options: .regularExpression)) + " (\(kind) phases)"
            byLimit[key, default: 0] += s
        }
        return byLimit.sorted { $0.value > $1.value }.map { ($0.key, $0.value) }
    }
}

public enum DecodeBenchmark {
    /// Llama 3.2 1B (REFERENCE §1) and SmolLM2-135M (§3) shapes.
    public static let llama32_1B = try! ModelConfig(
        vocabSize: 128256, hiddenSize: 2048, intermediateSize: 8192, layerCount: 16, headCount: 32, kvHeadCount: 8,
        headDim: 64, ropeTheta: 500000,
        ropeScaling: .llama3(factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalContext: 8192),
        maxContext: 131072, tiedEmbeddings: true)
    public static let smolLM2 = try! ModelConfig(
        vocabSize: 49152, hiddenSize: 576, intermediateSize: 1536, layerCount: 30, headCount: 9, kvHeadCount: 3,
        headDim: 64, ropeTheta: 100000, ropePairing: .adjacent, maxContext: 8192, tiedEmbeddings: true)

    /// Runs one greedy decode token at `position` on an emulated device and returns its counts. `executeKernels:
    /// false` moves and counts every byte without calling the kernels (1B shapes take minutes per token).
    public static func run(name: String, config: ModelConfig, tensors: TensorSource, manifest: KernelManifest,
                           position: Int, executeKernels: Bool, cost: DecodeCostModel = DecodeCostModel()) throws -> DecodeBenchResult {
        let graph = Graph.llama(config)
        let context = max(64, (position + 1 + 63) / 64 * 64)
        let device = try NPUBackend.emulatedDevice(graph: graph, tensors: tensors, manifest: manifest, contextLength: context)
        device.executesKernels = executeKernels
        device.cost = cost   // the same model times each chain against the TDR
        let backend = try NPUBackend(graph: graph, tensors: tensors, device: device, manifest: manifest,
                                     contextLength: context, xclbin: "emulated-decode.xclbin",
                                     instructions: { try device.instructions(for: $0) })
        _ = try backend.nextTokenGreedy(after: 1, position: position)
        if let p = backend.designs.prefill {   // one prompt chunk of C rows: [prefill, LM head], counted (not computed)
            device.executesKernels = false
            _ = try backend.step(tokens: Array(repeating: 1, count: p.chunk), start: 0, logitRows: .last, observer: nil)
        }
        let c = backend.counters, l = backend.layout
        let weights = "\(l.projectionDType.rawValue) matrices, \(l.lmHeadDType.rawValue) LM head"
        let natural = DecodeWeights.parts(l, outputWeight: graph.outputWeightName).reduce(0) { sum, part in
            let s = l.shape(part.stage)
            return sum + part.rows * s.slices * s.tileBytes / (part.stage == .lm ? l.lmHead.tm : l.tm)
        } + 2 * config.hiddenSize * (2 * config.layerCount + 1)
        return DecodeBenchResult(model: name, weights: weights, position: position, bucket: l.bucket(forPosition: position),
                                 layout: l, kernelsExecuted: executeKernels, perToken: c.lastToken, traffic: c.lastTokenTraffic!,
                                 naturalWeightBytes: natural, argumentRebinds: c.lastTokenArgumentRebinds,
                                 chains: c.lastTokenChains ?? [], target: manifest.target,
                                 contextKernels: device.kernelNames.count, cost: cost,
                                 prefillChunk: c.chunkCount > 0 ? c.lastChunk : nil, prefillChunkTraffic: c.lastChunkTraffic,
                                 prefillChunkChains: c.lastChunkChains, prefill: backend.designs.prefill)
    }

    /// A table of the results, labelled "modelled", with the cost model's parameters.
    public static func report(_ results: [DecodeBenchResult]) -> String {
        var lines = ["Decode per token on the emulated NPU: exact counts; time MODELLED (not measured)",
                     "cost model: " + (results.first?.cost.description ?? DecodeCostModel().description)]
        func mb(_ b: Int) -> String { String(format: "%.2f MB", Double(b) / 1e6) }
        for r in results {
            let t = r.perToken, x = r.traffic, l = r.layout
            let expected = r.naturalWeightBytes + x.kvReadBytes
            lines.append("\(r.model) [\(r.weights)] at position \(r.position) (bucket \(r.bucket) blocks of \(l.block); decode tm \(l.tm), tk \(l.tk); LM head tm \(l.lmHead.tm), tk \(l.lmHead.tk))\(r.kernelsExecuted ? "" : " (every byte moved and counted, kernels not executed)"):")
            lines.append("  runs \(t.runs) (\(l.kernelName(bucket: r.bucket)), \(l.lmHead.kernelName)), runlist executes \(t.runlistExecutes), driver commands \(t.driverCommands), submissions \(t.submissions), host syncs \(t.syncsToDevice) to device (\(t.bytesToDevice) B) + \(t.syncsFromDevice) from device (\(t.bytesFromDevice) B), argument rebinds \(r.argumentRebinds), waits in the runs \(l.waitsPerToken) + \(l.lmHeadWaits)")
            lines.append("  " + chainLine(t, r.chains, r.target) + "; hardware context \(r.contextKernels) kernels (limit \(r.target.maxKernelsPerContext))")
            lines.append("  per argument (emulator): weights and lm_weights read \(mb(x.weightBytes)) (model's weights \(mb(r.naturalWeightBytes)) + zero padded rows \(mb(r.paddingBytes))), kv read \(mb(x.kvReadBytes)), kv_row written \(x.kvWriteBytes) B, io read \(x.activationReadBytes) B, io written \(x.outputBytes) B")
            lines.append("  bytes per DMA channel per token, both runs (from the layouts; the shim channels and x_bcast also counted by the emulator, equal unless said):")
            let totals = r.channelTotals
            for kind in DecodeChannel.Kind.allCases {
                let chs = totals.filter { $0.key.kind == kind }
                guard !chs.isEmpty else { continue }
                // channels of equal bytes on one line: "8 × 86999040 B (weights(0,0) … weights(3,1))"
                let text = Dictionary(grouping: chs, by: \.value).sorted { $0.key > $1.key }.map { bytes, group -> String in
                    let names = group.map(\.key.name).sorted()
                    let mismatched = group.filter { ch, b in (x.channels[ch] ?? (ch.dram || ch.kind == .core ? -1 : b)) != b }
                    let check = mismatched.isEmpty ? "" : " (emulator differs: \(mismatched.map { "\($0.key.name) \(x.channels[$0.key] ?? 0)" }.joined(separator: ", ")))"
                    let which = names.count == 1 ? names[0] : "\(names.first!) … \(names.last!)"
                    return "\(group.count) × \(bytes) B (\(which))\(check)"
                }.joined(separator: ", ")
                lines.append("    \(kind.rawValue): \(text)")
            }
            lines.append(String(format: "  streamed %@ = %.2f%% of weights + KV read (padding rows %@ = %.2f%% of the weights)",
                                mb(r.streamedBytes), 100 * Double(r.streamedBytes) / Double(expected), mb(r.paddingBytes),
                                100 * Double(r.paddingBytes) / Double(r.naturalWeightBytes)))
            let b = r.breakdown
            lines.append(String(format: "  modelled: %.2f ms/token → %.1f tok/s (modelled): phases %.2f ms (of which the LM head run %.2f ms), waits %.2f ms (%d × %.0f µs), runs %.3f ms (%d × %.0f µs), host syncs %.3f ms",
                                r.modelledSeconds * 1e3, r.modelledTokensPerSecond, b.phases * 1e3, r.lmHeadSeconds * 1e3, b.waits * 1e3,
                                r.waits, r.cost.secondsPerWait * 1e6, b.runs * 1e3, t.runs, r.cost.secondsPerRun * 1e6, b.syncs * 1e3))
            let limits = r.limits.map { String(format: "%@ %.2f ms (%.0f%%)", $0.limit, $0.seconds * 1e3, 100 * $0.seconds / r.modelledSeconds) }
            lines.append("  limited by: " + limits.joined(separator: "; ") + String(format: "; overheads (waits, runs, syncs) %.2f ms (%.0f%%)",
                                                                                        (b.waits + b.runs + b.syncs) * 1e3,
                                                                                        100 * (b.waits + b.runs + b.syncs) / r.modelledSeconds))
            if let n = Self.designRuleViolations() {
                lines.append("  NOT ROUTABLE YET: the design checker lists \(n) violations of NPU2's real rules (Tools/design_baseline.txt), so this modelled time assumes a dataflow aiecc would reject")
            }
        }
        return lines.joined(separator: "\n")
    }

    /// Problems the design checker lists in its baseline (Tools/design_baseline.txt of this checkout), or nil when the
    /// file is absent or lists none: while it lists any, the designs the modelled time assumes are not routable on
    /// NPU2. An entry no emulated driver calls yet ("is called by no emulated driver": the emulator's bookkeeping, no
    /// rule of NPU2) does not count.
    public static func designRuleViolations() -> Int? {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Tools/design_baseline.txt").path
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        let n = text.split(separator: "\n").filter {
            !$0.hasPrefix("#") && !$0.trimmingCharacters(in: .whitespaces).isEmpty && !$0.contains("is called by no emulated driver")
        }.count
        return n > 0 ? n : nil
    }

    /// "runlist executes 1 → driver commands 1 (chains of 1 runs: 100 B of the 4096 B firmware buffer each; modelled
    /// 15.9 ms of the 2 s TDR)": the runlist as XRT splits it and amdxdna copies it.
    public static func chainLine(_ t: DeviceCounters, _ chains: [RunlistChain], _ target: NPU2Target) -> String {
        var s = "runlist executes \(t.runlistExecutes) → driver commands \(t.driverCommands)"
        guard !chains.isEmpty else { return s }
        s += " (chains of " + chains.map { "\($0.runs)" }.joined(separator: " + ") + " runs: "
        s += chains.map { "\($0.payloadBytes)" }.joined(separator: " + ") + " B of the \(target.chainPayloadBytes) B firmware buffer each; modelled "
        s += chains.map { String(format: "%.1f", $0.modelledSeconds * 1e3) }.joined(separator: " + ") + " ms of the \(target.tdrSeconds) s TDR)"
        return s
    }
}
