// The packed weight store (matrices kept as stored, dequantized a row block at a time) against the fp32 store: the same numbers, bit for bit.
import LlamaCore
import XCTest
@testable import ReferenceBackend

final class PackedWeightsTests: XCTestCase {
    /// Rows that split into several GEMM blocks of 256 and GEMV blocks of 16, some uneven (vocab 1000, ffn 352);
    /// widths in whole Q4_0 blocks of 32.
    static func config(tied: Bool) throws -> ModelConfig {
        try ModelConfig(vocabSize: 1000, hiddenSize: 128, intermediateSize: 352, layerCount: 2, headCount: 4,
                        kvHeadCount: 2, headDim: 32, rmsNormEps: 1e-5, ropeTheta: 500000,
                        ropeScaling: .llama3(factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalContext: 8192),
                        maxContext: 256, tiedEmbeddings: tied)
    }

    /// Every node's output over a 40-token prompt (all logit rows) and 4 decode steps, fp32 store vs packed store,
    /// on the same Q4_0 weights: equal bit for bit (NMSE 0), tied and untied.
    func testPackedQ4_0EqualsFp32BitForBit() throws {
        for tied in [true, false] {
            let config = try Self.config(tied: tied)
            let graph = Graph.llama(config)
            let source = ConvertedTensors(TensorDictionary.randomLlama(config, seed: 23, scale: 0.3), matrices: .q4_0)
            let fp32 = try FloatWeights(graph: graph, source: source, storage: .fp32)
            let packed = try FloatWeights(graph: graph, source: source, storage: .packed)
            XCTAssertEqual(fp32.storage, .fp32)
            XCTAssertEqual(packed.storage, .packed)
            let matrices = graph.weightShapes.filter { $0.shape.count == 2 }
            XCTAssertEqual(packed.packedCount, matrices.count, "every matrix (embedding, projections, LM head) packed")
            XCTAssertEqual(packed.packedBytes, matrices.reduce(0) { $0 + $1.shape[0] * $1.shape[1] / 32 * 18 })
            XCTAssertEqual(packed.byteCount, 4 * graph.weightShapes.filter { $0.shape.count == 1 }.reduce(0) { $0 + $1.shape[0] },
                           "only the vectors in fp32")
            let a = try ReferenceBackend(graph: graph, weights: fp32, contextLength: 64, maxBatch: 64)
            let b = try ReferenceBackend(graph: graph, weights: packed, contextLength: 64, maxBatch: 64)
            var outputs: [[String: [Float]]] = [[:], [:]]
            func observer(_ i: Int) -> NodeObserver { { node, out, _ in outputs[i][node.name] = Array(out) } }
            var tokens = TestModels.tokens(40, vocab: config.vocabSize, seed: 5)
            var compared = 0
            for step in 0..<5 {
                let start = step == 0 ? 0 : 39 + step
                let batch = step == 0 ? tokens : [tokens.last!]
                let la = try a.step(tokens: batch, start: start, logitRows: .all, observer: observer(0))
                let lb = try b.step(tokens: batch, start: start, logitRows: .all, observer: observer(1))
                XCTAssertEqual(la.count, batch.count * config.vocabSize)
                XCTAssertEqual(la.map(\.bitPattern), lb.map(\.bitPattern), "tied \(tied), step \(step): logits")
                for node in graph.nodes {
                    let x = try XCTUnwrap(outputs[0][node.name]), y = try XCTUnwrap(outputs[1][node.name])
                    XCTAssertEqual(x.map(\.bitPattern), y.map(\.bitPattern), "tied \(tied), step \(step): \(node.name)")
                    compared += 1
                }
                XCTAssertGreaterThan(la.map { $0 * $0 }.reduce(0, +), 0, "non-trivial logits")
                tokens.append(la.suffix(config.vocabSize).indices.max { la[$0] < la[$1] }! % config.vocabSize)
            }
            XCTAssertEqual(compared, 5 * graph.nodes.count)
            // teacher forcing (runNode) reads the same packed weights: the embedding and every matmul on given inputs
            for node in graph.nodes {
                switch node.op {
                case .embed, .matmul: break
                default: continue
                }
                let rows = 3
                let inputs = node.inputs.filter { $0 != "tokens" }.map { name in
                    TestModels.tokens(rows * graph.node(named: name)!.width, vocab: 2001, seed: 9).map { Float($0 - 1000) / 700 }
                }
                let t = [4, 999, 0]
                let x = try a.runNode(node, inputs: inputs, tokens: t, start: 0)
                let y = try b.runNode(node, inputs: inputs, tokens: t, start: 0)
                XCTAssertEqual(x.map(\.bitPattern), y.map(\.bitPattern), "tied \(tied): runNode \(node.name)")
            }
        }
    }

    /// `.automatic` keeps fp32 while its bytes are at most 3/4 of physical memory; Llama 3.1 8B (32 GB of fp32) on this
    /// 23 GB class of machine is packed.
    func testAutomaticStorageFollowsPhysicalMemory() throws {
        let graph = Graph.llama(try Self.config(tied: false))
        let bytes = ReferenceBackend.weightBytes(graph: graph)
        XCTAssertEqual(FloatWeights.Storage.automatic.resolved(for: graph, physicalMemory: bytes / 3 * 4 + 8), .fp32)
        XCTAssertEqual(FloatWeights.Storage.automatic.resolved(for: graph, physicalMemory: bytes), .packed)
        XCTAssertEqual(FloatWeights.Storage.fp32.resolved(for: graph, physicalMemory: 0), .fp32, "explicit wins")
        let llama8B = try ModelConfig(
            vocabSize: 128256, hiddenSize: 4096, intermediateSize: 14336, layerCount: 32, headCount: 32, kvHeadCount: 8,
            headDim: 128, ropeTheta: 500000, maxContext: 131072, tiedEmbeddings: false)
        let g8 = Graph.llama(llama8B)
        XCTAssertEqual(ReferenceBackend.weightBytes(graph: g8), 4 * 8_030_261_248)
        XCTAssertEqual(FloatWeights.Storage.automatic.resolved(for: g8, physicalMemory: 23 << 30), .packed)
    }

    /// A source without stored bytes (in-memory tensors) keeps its matrices in fp32 under `.packed`: same results.
    func testInMemorySourceStaysFp32() throws {
        let config = try Self.config(tied: true)
        let graph = Graph.llama(config)
        let w = try FloatWeights(graph: graph, source: TensorDictionary.randomLlama(config, seed: 3), storage: .packed)
        XCTAssertEqual(w.packedCount, 0)
        XCTAssertEqual(w.byteCount, ReferenceBackend.weightBytes(graph: graph))
    }
}
