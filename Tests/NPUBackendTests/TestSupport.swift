// Shared by the NPU backend tests: the manifest, a small model the kernels can serve, and backends over the emulated NPU.
import Foundation
import LlamaCore
import NPUBackend
import ReferenceBackend
import Scheduler
import XCTest

enum Support {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let manifest = try! KernelManifest.load(path: root.appendingPathComponent("Kernels/manifest.json").path)

    /// The smallest Llama the decode token serves with headDim 64 (gemv 64 × 64 tiles, vocab ≥ 16 cores × 64 rows):
    /// 2 layers, GQA 4:2, Llama 3 RoPE scaling, tied embeddings.
    static let smallConfig = try! ModelConfig(
        vocabSize: 1024, hiddenSize: 128, intermediateSize: 512, layerCount: 2, headCount: 4, kvHeadCount: 2, headDim: 64,
        ropeTheta: 500000, ropeScaling: .llama3(factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalContext: 8192),
        maxContext: 4096, tiedEmbeddings: true)

    /// Random weights already on the bf16 grid, so the CPU reference and the NPU see the same weights.
    static func bf16Weights(_ config: ModelConfig, seed: UInt64) -> TensorDictionary {
        let random = TensorDictionary.randomLlama(config, seed: seed, scale: 0.15)
        let rounded = TensorDictionary(path: "<random bf16 llama seed \(seed)>")
        for name in random.tensorNames {
            rounded.set(name, shape: random.info(name)!.shape, values: try! random.floats(name).map(roundToBF16))
        }
        return rounded
    }

    /// NPUBackend on an emulated device built for the model.
    static func npuBackend(_ graph: Graph, _ tensors: TensorSource, context: Int) throws -> (NPUBackend, EmulatedDevice) {
        let device = try NPUBackend.emulatedDevice(graph: graph, tensors: tensors, manifest: manifest, contextLength: context)
        let backend = try NPUBackend(graph: graph, tensors: tensors, device: device, manifest: manifest,
                                     contextLength: context, xclbin: "emulated-decode.xclbin",
                                     instructions: { try device.instructions(for: $0) })
        return (backend, device)
    }

    static func reference(_ graph: Graph, _ weights: FloatWeights, context: Int) throws -> ReferenceBackend {
        try ReferenceBackend(graph: graph, weights: weights, contextLength: context, maxBatch: 128)
    }

    /// Greedy ids from the CPU reference: prompt in one step, then `count` decode steps.
    static func referenceGreedy(_ backend: ReferenceBackend, prompt: [Int], count: Int) throws -> (ids: [Int], margins: [Float]) {
        var logits = try backend.step(tokens: prompt, start: 0, logitRows: .last, observer: nil)
        var ids: [Int] = [], margins: [Float] = []
        var pos = prompt.count
        while ids.count < count {
            let sorted = logits.sorted(by: >)
            margins.append(sorted[0] - sorted[1])
            let next = Sampler.argmax(logits)
            ids.append(next)
            if ids.count == count { break }
            logits = try backend.step(tokens: [next], start: pos, logitRows: .last, observer: nil)
            pos += 1
        }
        return (ids, margins)
    }

    /// This process's peak resident set (getrusage ru_maxrss, KiB on Linux), in bytes.
    static func peakRSSBytes() -> Int {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return usage.ru_maxrss * 1024
    }

    /// /proc/self/status's lines of `keys` (e.g. RssAnon, RssFile: a mapped model file's pages count in the RSS but are
    /// the page cache's, dropped under pressure), or "" where there is no /proc.
    static func procStatus(_ keys: [String]) -> String {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return "" }
        return text.split(separator: "\n").filter { line in keys.contains { line.hasPrefix($0 + ":") } }
            .map { $0.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ") }.joined(separator: ", ")
    }

    static func failures(_ report: CaseReport) -> String {
        let bad = report.checks.filter { !$0.passed }.prefix(8).map {
            "\($0.step) \($0.node) \($0.against): nmse \($0.nmse) bound \($0.bound) maxAbs \($0.maxAbs)"
        }
        let logits = report.logits.map { "\($0.against): KL mean \($0.klMean) p90 \($0.klP90) max \($0.klMax) top1 \($0.top1Agreement) \($0.passed ? "ok" : "FAIL")" }
        return (bad + logits).joined(separator: "\n")
    }
}
