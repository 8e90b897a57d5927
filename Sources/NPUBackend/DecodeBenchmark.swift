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
        let backend = try NPUBackend(graph: graph, tensors: tensors, device: device, manifest: manifest,
                                     contextLength: context, xclbin: "emulated-decode.xclbin",
                                     instructions: { try device.instructions(for: $0) })
        _ = try backend.nextTokenGreedy(after: 1, position: position)
        let c = backend.counters
        let weights = "\(backend.designs.projectionDType.rawValue) matrices, \(backend.designs.lmHeadDType.rawValue) LM head"
        let uploaded = c.load.bytesToDevice - backend.instructionBytes
        return DecodeBenchResult(model: name, weights: weights, position: position, layers: config.layerCount, kvDim: config.kvDim,
                                 kernelsExecuted: executeKernels, perToken: c.lastToken, traffic: c.lastTokenTraffic!,
                                 uploadedWeightBytes: uploaded, argumentRebinds: c.lastTokenArgumentRebinds, model_: cost)
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
            lines.append("  streamed: weights \(mb(x.weightBytes)) (uploaded \(mb(r.uploadedWeightBytes))), KV read \(mb(x.kvReadBytes)), KV write (new rows) \(mb(x.kvWriteBytes)), activations/params \(x.activationReadBytes) B, outputs \(x.outputBytes) B")
            lines.append(String(format: "  total streamed %@ = %.2f%% of weights + KV read", mb(r.streamedBytes), 100 * Double(r.streamedBytes) / Double(expected)))
            lines.append(String(format: "  modelled: %.2f ms/token → %.1f tok/s (modelled)", r.modelledSeconds * 1e3, r.modelledTokensPerSecond))
        }
        return lines.joined(separator: "\n")
    }
}
