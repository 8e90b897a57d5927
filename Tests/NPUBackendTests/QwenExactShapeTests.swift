// Issue 17 (task F): the real Qwen shapes (Qwen2.5-0.5B: hidden 896, GQA 7:1, q/k/v biases; Qwen3-0.6B: head_dim 128 with hidden 1024, q/k norms; vocab 151936) — planned from their configs in CI, and run with random weights at the exact shape on the emulated NPU against the CPU reference when opted in.
import Foundation
import LlamaCore
import NPUBackend
import ReferenceBackend
import Scheduler
import XCTest

/// The published config.json values (Qwen/Qwen2.5-0.5B, Qwen/Qwen3-0.6B), as Tools/make-random-llama.py --preset writes them.
enum QwenShapes {
    static let qwen25_0_5B = try! ModelConfig(
        vocabSize: 151936, hiddenSize: 896, intermediateSize: 4864, layerCount: 24, headCount: 14, kvHeadCount: 2,
        rmsNormEps: 1e-6, ropeTheta: 1_000_000, maxContext: 32768, tiedEmbeddings: true, family: .qwen2)
    static let qwen3_0_6B = try! ModelConfig(
        vocabSize: 151936, hiddenSize: 1024, intermediateSize: 3072, layerCount: 28, headCount: 16, kvHeadCount: 8, headDim: 128,
        rmsNormEps: 1e-6, ropeTheta: 1_000_000, maxContext: 40960, tiedEmbeddings: true, family: .qwen3)
}

/// The plans of both shapes, no weights read (RandomWeights only describes the tensors): tilings, the prefill (every
/// case has one since the single-buffered bf16 x slice; the branch keeps the why for a shape that loses it) (or why
/// not), kernels per hw_context at the longest context, and that a Q4_0 Qwen2 runs its projections as Q4_0 (its bias
/// vectors are not matrices: before task F they made WeightConversion pick bf16 for every projection).
final class QwenExactShapePlanTests: XCTestCase {
    func testPlansOfTheRealQwenShapes() throws {
        // (name, config, tm, block, bf16 prefill, prefill chunk, decode buckets at 2048, at the longest context)
        let cases: [(String, ModelConfig, Int, Int, Bool, Int, Int, Int)] = [
            ("qwen2.5-0.5b", QwenShapes.qwen25_0_5B, 64, 64, true, 64, 6, 10),
            ("qwen3-0.6b", QwenShapes.qwen3_0_6B, 64, 32, true, 32, 7, 12),   // tm 64: half-head hub objects pad fewer rows (task H)
        ]
        for (name, config, tm, block, bf16Prefill, chunk, buckets2k, bucketsLongest) in cases {
            let graph = Graph.llama(config)
            for (matrices, ctx) in [(DType.q4_0, 2048), (.q4_0, config.maxContext), (.bf16, 2048), (.bf16, config.maxContext)] {
                let d = try NPUBackend.designs(graph: graph, tensors: RandomWeights(config, matrices: matrices),
                                               manifest: Support.manifest, contextLength: ctx)
                let label = "\(name) \(matrices.rawValue) ctx \(ctx)"
                XCTAssertEqual(d.projectionDType, matrices, label)
                XCTAssertEqual(d.lmHeadDType, matrices, "\(label): tied, the embedding is the head")
                XCTAssertEqual([d.layout.tm, d.layout.block], [tm, block], label)
                XCTAssertEqual(d.buckets.count, ctx == 2048 ? buckets2k : bucketsLongest, label)
                XCTAssertLessThanOrEqual(d.all.count, Support.manifest.target.maxKernelsPerContext, label)
                if matrices == .bf16 && !bf16Prefill {
                    // the GEMM core at tm 128: two 16 KB w tiles, x slices, C×tm out and the f32 accumulator > 63 KB
                    XCTAssertNil(d.prefill, label)
                    XCTAssertTrue(d.prefillUnsupported?.contains("a gemm core needs 65536 bytes") ?? false, d.prefillUnsupported ?? label)
                } else {
                    let p = try XCTUnwrap(d.prefill, "\(label): \(d.prefillUnsupported ?? "")")
                    XCTAssertEqual(p.chunk, chunk, label)
                }
                print("\(label): tm \(d.layout.tm) block \(d.layout.block), \(d.all.count) kernels, prefill "
                      + (d.prefill.map { "C=\($0.chunk)" } ?? "none (\(d.prefillUnsupported ?? ""))"))
            }
        }
    }
}

/// The exact shapes with random weights (Tools/make-random-llama.py --preset qwen2.5-0.5b / qwen3-0.6b: 0.99 / 1.19 GB).
/// Opt-in with NPULLAMA_EXACT_SHAPES=1 as ExactShapeTests (release build: `swift test -c release -Xswiftc -enable-testing
/// --filter QwenExactShapeTests`).
final class QwenExactShapeTests: XCTestCase {
    override func setUpWithError() throws {
        guard ProcessInfo.processInfo.environment["NPULLAMA_EXACT_SHAPES"] == "1" else {
            throw XCTSkip("exact-shape runs are opt-in (minutes each in a debug build): NPULLAMA_EXACT_SHAPES=1 swift test --filter QwenExactShapeTests")
        }
    }

    func testQwen25_0_5BQ4_0() throws { try run("qwen2.5-0.5b", .q4_0) }
    func testQwen3_0_6BQ4_0() throws { try run("qwen3-0.6b", .q4_0) }
    func testQwen25_0_5BBF16() throws { try run("qwen2.5-0.5b", .bf16) }
    func testQwen3_0_6BBF16() throws { try run("qwen3-0.6b", .bf16) }

    /// A 6-token prompt and 3 decode steps on the emulated NPU against the CPU reference on the same weights (Q4_0:
    /// converted at load by ggml's reference quantizer for both; bf16: as written): every named node within its
    /// ToleranceTable bound, the logit KL gate, the argmax at every position printed.
    func run(_ preset: String, _ matrices: DType) throws {
        let dir = ModelCache.path("random-\(preset)")
        guard FileManager.default.fileExists(atPath: dir + "/model.safetensors") else {
            throw XCTSkip("random \(preset) not found at \(dir): python3 Tools/make-random-llama.py --preset \(preset)")
        }
        let base = try LoadedModel.open(path: dir)
        XCTAssertEqual(base.config.family, preset.hasPrefix("qwen3") ? .qwen3 : .qwen2)
        let model = matrices == .q4_0 ? base.convertingMatrices(to: .q4_0) : base
        let graph = Graph.llama(model.config)
        let clock = ContinuousClock(), started = clock.now
        let weights = try FloatWeights(graph: graph, source: model.tensors)
        let context = 256
        let (npu, _) = try Support.npuBackend(graph, model.tensors, context: context)
        XCTAssertEqual(npu.designs.projectionDType, matrices, "the projections run in the format asked for")
        XCTAssertNil(graph.nodes.lazy.compactMap { npu.unsupportedReason($0) }.first)
        let loaded = clock.now - started
        let timed = TimedBackend(npu, name: preset)
        let verifier = Verifier(checked: timed, teacher: try Support.reference(graph, weights, context: context),
                                free: try Support.reference(graph, weights, context: context))
        let verifyStarted = clock.now
        let report = try verifier.verifyCase(name: preset, promptIDs: [1, 450, 7483, 310, 3444, 338], decodeSteps: 3)
        let verify = clock.now - verifyStarted
        let tag = "\(preset) \(matrices.rawValue) (emulated NPU vs CPU reference on the same weights; tm \(npu.layout.tm), block \(npu.layout.block), "
            + "prefill \(npu.designs.prefill.map { "C=\($0.chunk)" } ?? "as decode steps"))"
        print("\(tag): load+convert+NPU setup \(loaded), verify (6-token prompt, 3 decode steps) \(verify), emulated NPU steps \(timed.seconds) s "
              + "(wall clock of this machine, not NPU times)\n" + Support.failures(report))
        for k in report.logits {
            print("  [emulated NPU] \(tag) logits vs \(k.against) (\(k.scope)): \(k.positions) positions, KL mean \(k.klMean) p90 \(k.klP90) max \(k.klMax), top-1 agreement \(k.top1Agreement)")
        }
        XCTAssertEqual(Set(report.checks.map(\.node)).count, graph.nodes.count, "every named node is compared")
        XCTAssertTrue(report.checks.allSatisfy { $0.nonFinite == 0 })
        XCTAssertTrue(report.passed, Support.failures(report))
    }
}
