// The manifest and the kernel plans of the reference models and the tiny shapes, shared by the kernel tests (tiling comes from here).
import Foundation
import LlamaCore
import NPUBackend

enum TestPlans {
    static let kernelsDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Kernels")
    static let manifestPath = kernelsDirectory.appendingPathComponent("manifest.json").path

    static let manifest: KernelManifest = try! KernelManifest.load(path: manifestPath)

    /// Llama 3.2 1B (REFERENCE.md §1).
    static let llama1B = try! ModelConfig(
        vocabSize: 128256, hiddenSize: 2048, intermediateSize: 8192, layerCount: 16, headCount: 32, kvHeadCount: 8,
        headDim: 64, ropeTheta: 500000,
        ropeScaling: .llama3(factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalContext: 8192),
        maxContext: 131072, tiedEmbeddings: true)
    /// Llama 3.2 3B and Llama 3.1 8B (issue 17: head_dim 128, GQA 3:1 and 4:1).
    static let llama3B = try! ModelConfig(
        vocabSize: 128256, hiddenSize: 3072, intermediateSize: 8192, layerCount: 28, headCount: 24, kvHeadCount: 8,
        headDim: 128, ropeTheta: 500000,
        ropeScaling: .llama3(factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalContext: 8192),
        maxContext: 131072, tiedEmbeddings: true)
    static let llama8B = try! ModelConfig(
        vocabSize: 128256, hiddenSize: 4096, intermediateSize: 14336, layerCount: 32, headCount: 32, kvHeadCount: 8,
        headDim: 128, ropeTheta: 500000,
        ropeScaling: .llama3(factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalContext: 8192),
        maxContext: 131072, tiedEmbeddings: false)
    /// SmolLM2-135M as its GGUF describes it (REFERENCE.md §3).
    static let smol = try! ModelConfig(
        vocabSize: 49152, hiddenSize: 576, intermediateSize: 1536, layerCount: 30, headCount: 9, kvHeadCount: 3,
        headDim: 64, ropeTheta: 100000, ropePairing: .adjacent, maxContext: 8192, tiedEmbeddings: true)

    /// The tiny Llama 3.2-architecture golden model (Golden/tiny-llama32): kvDim 32, headDim 16, ffn 384.
    static let tiny = try! ModelConfig(
        vocabSize: 1024, hiddenSize: 128, intermediateSize: 384, layerCount: 4, headCount: 8, kvHeadCount: 2,
        headDim: 16, ropeTheta: 500000,
        ropeScaling: .llama3(factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalContext: 8192),
        maxContext: 131072, tiedEmbeddings: true)
    /// The same with one KV head (kvDim 16): the smallest gemv and matmul tiles.
    static let tinyMQA = try! ModelConfig(
        vocabSize: 1024, hiddenSize: 128, intermediateSize: 384, layerCount: 4, headCount: 8, kvHeadCount: 1,
        headDim: 16, ropeTheta: 500000, ropePairing: .adjacent, maxContext: 131072, tiedEmbeddings: true)

    static let llama1BPlan = try! KernelPlan(manifest: manifest, config: llama1B, projectionWeights: .bf16,
                                             lmHeadWeights: .bf16, context: 8192, chunk: 64)
    static let smolPlan = try! KernelPlan(manifest: manifest, config: smol, projectionWeights: .q4_1,
                                          lmHeadWeights: .bf16, context: 8192, chunk: 64)

    static let tinyPlan = try! KernelPlan(manifest: manifest, config: tiny, projectionWeights: .bf16,
                                          lmHeadWeights: .bf16, context: 8192, chunk: 64)
    static let tinyMQAPlan = try! KernelPlan(manifest: manifest, config: tinyMQA, projectionWeights: .q4_1,
                                             lmHeadWeights: .bf16, context: 8192, chunk: 64)

    /// A tiling value of a use in the 1B plan, as Int32 for the drivers.
    static func tile(_ use: String, _ key: String) -> Int32 { Int32(llama1BPlan.instance(use)!.values[key]!) }

    /// A tiling value of a use in another plan (the tiny shapes).
    static func tile(_ plan: KernelPlan, _ use: String, _ key: String) -> Int32 { Int32(plan.instance(use)!.values[key]!) }
}
