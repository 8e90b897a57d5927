// Test doubles for the server's engine: a byte tokenizer with ChatML's special tokens, a backend that counts and paces
// its steps, and served models over a random-weight Llama or the real SmolLM2.
import Foundation
import LlamaCore
import ReferenceBackend
import Server
import Tokenizers
import XCTest

/// Token i < 256 is byte i; 256…258 are <|endoftext|>, <|im_start|>, <|im_end|>.
struct ByteTokenizer: Tokenizer {
    static let specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    var vocabularySize: Int { 256 + Self.specials.count }
    var bosID: Int? { nil }
    var eosIDs: Set<Int> { [256] }
    var addsBOSByDefault: Bool { false }
    func encode(_ text: String, addBOS: Bool, allowSpecial: Bool) throws -> [Int] { Array(text.utf8).map(Int.init) }
    func encode(bytes: [UInt8], addBOS: Bool, allowSpecial: Bool, invalidUTF8: InvalidUTF8Policy) throws -> [Int] { bytes.map(Int.init) }
    func decode(_ ids: [Int]) throws -> String { String(decoding: try decodeBytes(ids), as: UTF8.self) }
    func decodeBytes(_ ids: [Int]) throws -> [UInt8] {
        try ids.flatMap { id -> [UInt8] in
            if id < 256 { return [UInt8(id)] }
            guard id < vocabularySize else { throw TokenizerError.tokenIDOutOfRange(id: id, vocabularySize: vocabularySize) }
            return Array(Self.specials[id - 256].utf8)
        }
    }
    func piece(_ id: Int) -> String? { (try? decodeBytes([id])).map { String(decoding: $0, as: UTF8.self) } }
    func specialTokenID(_ text: String) -> Int? { Self.specials.firstIndex(of: text).map { 256 + $0 } }
}

/// Delegates to a backend, counting steps and sleeping `delay` in each: a device slow enough to cancel mid-answer.
final class PacedBackend: Backend, @unchecked Sendable {
    let inner: Backend
    let delay: TimeInterval
    private let lock = NSLock()
    private var steps = 0
    init(_ inner: Backend, delay: TimeInterval) { self.inner = inner; self.delay = delay }
    var stepCount: Int { lock.withLock { steps } }
    var graph: Graph { inner.graph }
    var contextLength: Int { inner.contextLength }
    var maxBatch: Int { inner.maxBatch }
    var label: String { "CPU reference" }
    func dtype(of node: Node) -> DType { inner.dtype(of: node) }
    func unsupportedReason(_ node: Node) -> String? { inner.unsupportedReason(node) }
    func step(tokens: [Int], start: Int, logitRows: LogitRows, observer: NodeObserver?) throws -> [Float] {
        lock.withLock { steps += 1 }
        if delay > 0 { Thread.sleep(forTimeInterval: delay) }
        return try inner.step(tokens: tokens, start: start, logitRows: logitRows, observer: observer)
    }
}

enum TestModels {
    /// A random-weight Llama over the byte tokenizer's 259 ids (seeded: the same weights every run).
    static func randomBackend(context: Int = 256, maxBatch: Int = 16) throws -> ReferenceBackend {
        let config = try ModelConfig(vocabSize: 259, hiddenSize: 32, intermediateSize: 48, layerCount: 2, headCount: 4,
                                     kvHeadCount: 2, headDim: 8, ropeTheta: 10000, maxContext: 512, tiedEmbeddings: false)
        let graph = Graph.llama(config)
        return try ReferenceBackend(graph: graph, weights: FloatWeights(graph: graph, source: TensorDictionary.randomLlama(config, seed: 11, scale: 0.5)),
                                    contextLength: context, maxBatch: maxBatch)
    }

    static func byteServed(context: Int = 256) -> ServedModel {
        ServedModel(id: "random", created: 0, tokenizer: ByteTokenizer(), chatFormat: .chatml(defaultSystemPrompt: nil),
                    contextLength: context, deviceLabel: "CPU reference")
    }

    /// SmolLM2-135M-Instruct (the cached GGUF) on the CPU reference, or a skip naming what is missing.
    static func smolLM2(context: Int = 512) throws -> (backend: ReferenceBackend, served: ServedModel) {
        guard FileManager.default.fileExists(atPath: ModelCache.smolLM2GGUF) else {
            throw XCTSkip("SmolLM2 GGUF not at \(ModelCache.smolLM2GGUF); \(ModelCache.fetchHint)")
        }
        let model = try LoadedModel.open(path: ModelCache.smolLM2GGUF)
        let graph = Graph.llama(model.config)
        let backend = try ReferenceBackend(graph: graph, weights: FloatWeights(graph: graph, source: model.tensors),
                                           contextLength: context, maxBatch: 64)
        let tokenizer = try BytePairTokenizer(ggufMetadata: model.gguf!.metadata, file: model.path)
        return (backend, ServedModel(id: "smollm2", created: 0, tokenizer: tokenizer, chatFormat: .smolLM2,
                                     contextLength: context, deviceLabel: backend.label))
    }
}

/// Runs a job to its end and returns its events' tokens and summary (or the failure).
func drain(_ job: GenerationJob) async -> (cached: Int?, tokens: [TokenOutput], summary: GenerationSummary?, error: OpenAIError?) {
    var cached: Int?
    var tokens: [TokenOutput] = []
    while let event = await job.next() {
        switch event {
        case .started(let c): cached = c
        case .token(let t): tokens.append(t)
        case .finished(let s): return (cached, tokens, s, nil)
        case .failed(let e): return (cached, tokens, nil, e)
        }
    }
    return (cached, tokens, nil, nil)
}
