// Decode benchmark: exact per-token counts from the emulated runs and a MODELLED NPU decode time from a stated cost model.
import Foundation
import LlamaCore

/// The cost model of an NPU decode token (REFERENCE.md §5–6). Additive: streaming, then per-run
/// and per-submission dispatch, then host syncs — no overlap is assumed.
public struct DecodeCostModel: Sendable {
    /// Effective bytes per second the NPU streams weights and KV at (measured GEMV: 40–44 GB/s, memcpy 63–70).
    public var bytesPerSecond = 50e9
    /// Per run inside a runlist (xdna-driver PR #135: ~33 µs per run, 8-run lists).
    public var secondsPerRun = 33e-6
    /// Per submission (C++ run/runlist start + wait, empty kernel: ~45–50 µs).
    public var secondsPerSubmission = 50e-6
    /// Per host BO sync (cache flush of a small BO) — an assumption, not a measurement.
    public var secondsPerSync = 10e-6
    public init() {}

    public func seconds(_ c: DeviceCounters, streamedBytes: Int) -> Double {
        Double(streamedBytes) / bytesPerSecond + Double(c.runs) * secondsPerRun
            + Double(c.submissions) * secondsPerSubmission + Double(c.syncsToDevice + c.syncsFromDevice) * secondsPerSync
    }

    /// One run's modelled time: its streamed bytes plus the per-run cost (what EmulatedDevice holds each
    /// chained command to against the TDR watchdog).
    public func seconds(ofRunStreaming bytes: Int) -> Double { Double(bytes) / bytesPerSecond + secondsPerRun }

    public var description: String {
        String(format: "%.0f GB/s streaming, %.0f µs/run in a runlist, %.0f µs/submission, %.0f µs/host sync (assumed)",
               bytesPerSecond / 1e9, secondsPerRun * 1e6, secondsPerSubmission * 1e6, secondsPerSync * 1e6)
    }
}

/// One decode token's counts at a context position, and its modelled time.
public struct DecodeBenchResult: Sendable {
    public var model: String
    public var weights: String
    public var position: Int
    public var layers: Int
    /// KV heads × headDim: the bf16 values of one new K (or V) row per layer.
    public var kvDim: Int
    public var kernelsExecuted: Bool
    public var perToken: DeviceCounters
    public var traffic: DeviceTraffic
    /// Bytes of every weight buffer uploaded (what one token should stream).
    public var uploadedWeightBytes: Int
    /// Run arguments the host re-bound for the token (k_row / v_row per layer).
    public var argumentRebinds: Int
    /// The token's runlist as the driver receives it: chained commands of `runlist.runsPerChain` runs.
    public var chains: [RunlistChain]
    public var target: NPU2Target
    /// Designs over a limit that Kernels/npu2_baseline.json tolerates: (design, its count, the limit).
    public var knownBufferArgumentViolations: [(design: String, count: Int)]
    /// The hardware context's kernel count and whether the baseline tolerated it over the limit.
    public var contextKernels: Int
    public var contextKernelViolation: String?
    public var model_: DecodeCostModel
    public var streamedBytes: Int { traffic.totalRead + traffic.kvWriteBytes + traffic.outputBytes }
    public var modelledSeconds: Double { model_.seconds(perToken, streamedBytes: streamedBytes) }
    public var modelledTokensPerSecond: Double { 1 / modelledSeconds }
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

    /// Runs one greedy decode token at `position` (cache contents do not change the counts) on an
    /// emulated device and returns its counts. `executeKernels: false` checks and counts every run
    /// without executing the kernels (1B shapes take minutes per token in the emulation).
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
        let c = backend.counters
        let weights = "\(backend.designs.projectionDType.rawValue) matrices, \(backend.designs.lmHeadDType.rawValue) LM head"
        let uploaded = c.load.bytesToDevice - backend.instructionBytes
        let limit = manifest.target.aieccBufferArguments
        var over: [String: Int] = [:]
        for d in backend.designs.all + backend.prefillDesigns.all where d.arguments.count > limit { over[d.design] = d.arguments.count }
        return DecodeBenchResult(model: name, weights: weights, position: position, layers: config.layerCount, kvDim: config.kvDim,
                                 kernelsExecuted: executeKernels, perToken: c.lastToken, traffic: c.lastTokenTraffic!,
                                 uploadedWeightBytes: uploaded, argumentRebinds: c.lastTokenArgumentRebinds,
                                 chains: c.lastTokenChains ?? [], target: manifest.target,
                                 knownBufferArgumentViolations: over.sorted { $0.key < $1.key }.map { ($0.key, $0.value) },
                                 contextKernels: device.kernelNames.count, contextKernelViolation: device.knownViolations.first,
                                 model_: cost)
    }

    /// A table of the results, labelled "modelled", with the cost model's parameters.
    public static func report(_ results: [DecodeBenchResult]) -> String {
        var lines = ["Decode per token on the emulated NPU: exact counts; time MODELLED (not measured)",
                     "cost model: " + (results.first?.model_.description ?? DecodeCostModel().description)]
        func mb(_ b: Int) -> String { String(format: "%.2f MB", Double(b) / 1e6) }
        for r in results {
            let t = r.perToken, x = r.traffic
            let expected = r.uploadedWeightBytes + x.kvReadBytes
            lines.append("\(r.model) [\(r.weights)] at position \(r.position)\(r.kernelsExecuted ? "" : " (runs checked and counted, kernels not executed)"):")
            lines.append("  runs \(t.runs) (\(String(format: "%.2f", Double(t.runs - 1) / Double(r.layers))) per layer + LM head), submissions \(t.submissions), host syncs \(t.syncsToDevice) to device (\(t.bytesToDevice) B) + \(t.syncsFromDevice) from device (\(t.bytesFromDevice) B), argument rebinds \(r.argumentRebinds)")
            lines.append("  " + chainLine(t, r.chains, r.target))
            if !r.knownBufferArgumentViolations.isEmpty || r.contextKernelViolation != nil {
                let designs = r.knownBufferArgumentViolations.map { "\($0.design) \($0.count)" }.joined(separator: ", ")
                lines.append("  KNOWN VIOLATIONS (Kernels/npu2_baseline.json, issue 12): \(t.knownViolationRuns) runs per token bind more buffer arguments than aiecc's \(r.target.aieccBufferArguments) (designs of the xclbin over it: \(designs)); hardware context \(r.contextKernels) kernels (limit \(r.target.maxKernelsPerContext))\(r.contextKernelViolation == nil ? "" : ", over the limit: tolerated")")
            }
            lines.append("  streamed: weights \(mb(x.weightBytes)) (uploaded \(mb(r.uploadedWeightBytes))), KV read \(mb(x.kvReadBytes)), KV write (new rows) \(mb(x.kvWriteBytes)), activations/params \(x.activationReadBytes) B, outputs \(x.outputBytes) B")
            lines.append(String(format: "  total streamed %@ = %.2f%% of weights + KV read", mb(r.streamedBytes), 100 * Double(r.streamedBytes) / Double(expected)))
            lines.append(String(format: "  modelled: %.2f ms/token → %.1f tok/s (modelled)", r.modelledSeconds * 1e3, r.modelledTokensPerSecond))
            if let n = Self.designRuleViolations() {
                lines.append("  NOT ROUTABLE: today's decode designs break \(n) of NPU2's real rules (Tools/design_baseline.txt: placement, memory-tile channels, shim BDs …; issue 12), so this modelled time assumes a dataflow aiecc would reject")
            }
        }
        return lines.joined(separator: "\n")
    }

    /// Problems the design checker lists in today's baseline (Tools/design_baseline.txt of this checkout), or nil
    /// when the file is absent or empty: the decode designs the modelled time assumes are not yet routable on NPU2.
    public static func designRuleViolations() -> Int? {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Tools/design_baseline.txt").path
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        let n = text.split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.trimmingCharacters(in: .whitespaces).isEmpty }.count
        return n > 0 ? n : nil
    }

    /// "runlist executes 1 → driver commands 2 (chains of 24 + 9 runs: 3456 + 1264 B of 4096 B; modelled
    /// 31.2 + 11.0 ms of the 2 s TDR)": the runlist as XRT splits it and amdxdna copies it.
    public static func chainLine(_ t: DeviceCounters, _ chains: [RunlistChain], _ target: NPU2Target) -> String {
        var s = "runlist executes \(t.runlistExecutes) → driver commands \(t.driverCommands)"
        guard !chains.isEmpty else { return s }
        s += " (chains of " + chains.map { "\($0.runs)" }.joined(separator: " + ") + " runs: "
        s += chains.map { "\($0.payloadBytes)" }.joined(separator: " + ") + " B of the \(target.chainPayloadBytes) B firmware buffer each; modelled "
        s += chains.map { String(format: "%.1f", $0.modelledSeconds * 1e3) }.joined(separator: " + ") + " ms of the \(target.tdrSeconds) s TDR)"
        return s
    }
}
