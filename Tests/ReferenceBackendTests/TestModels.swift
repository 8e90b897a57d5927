// Small random models shared by the reference backend tests.
import LlamaCore
@testable import ReferenceBackend

enum TestModels {
    /// A small GQA 2:1 Llama with llama3 rope scaling, for cache and pairing tests.
    static func smallConfig(pairing: RopePairing = .halfSplit, tied: Bool = true) throws -> ModelConfig {
        try ModelConfig(vocabSize: 97, hiddenSize: 64, intermediateSize: 96, layerCount: 3, headCount: 4,
                        kvHeadCount: 2, headDim: 16, rmsNormEps: 1e-5, ropeTheta: 500000,
                        ropeScaling: .llama3(factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalContext: 8192),
                        ropePairing: pairing, maxContext: 128, tiedEmbeddings: tied)
    }

    static func backend(_ config: ModelConfig, source: TensorSource, context: Int = 64, maxBatch: Int = 64) throws -> ReferenceBackend {
        let graph = Graph.llama(config)
        return try ReferenceBackend(graph: graph, weights: FloatWeights(graph: graph, source: source),
                                    contextLength: context, maxBatch: maxBatch)
    }

    static func tokens(_ n: Int, vocab: Int, seed: UInt64) -> [Int] {
        var rng = SplitMix64(seed: seed)
        return (0..<n).map { _ in Int(rng.next() % UInt64(vocab)) }
    }
}
