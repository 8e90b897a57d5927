// The decode benchmark: exact counts per token and the modelled NPU time, printed with NPULLAMA_BENCH=1.
import Foundation
import LlamaCore
import NPUBackend
import XCTest

final class DecodeBenchmarkTests: XCTestCase {
    /// Always run: SmolLM2 shapes at a short context, executed, counts checked against the plan's goals.
    func testSmolLM2ShapeCountsPerToken() throws {
        let r = try DecodeBenchmark.run(name: "SmolLM2-135M shape", config: DecodeBenchmark.smolLM2,
                                        tensors: RandomWeights(DecodeBenchmark.smolLM2, matrices: .q4_1),
                                        manifest: Support.manifest, position: 100, executeKernels: true)
        check(r)
        // 61 runs: chains of 24 + 24 + 13; a layer's attention half (12 buffers) 168 B, MLP half (6) 120 B,
        // LM head (aiecc's 5) 112 B per run
        XCTAssertEqual(r.chains.map(\.runs), [24, 24, 13])
        XCTAssertEqual(r.chains.map(\.payloadBytes), [3456, 3456, 6 * 168 + 6 * 120 + 112])
        XCTAssertEqual(r.perToken.knownViolationRuns, 60)
        print(DecodeBenchmark.report([r]))
    }

    /// Always run: SmolLM2 shapes with Q4_0 matrices and LM head, executed; the same goals.
    func testSmolLM2ShapeQ4_0CountsPerToken() throws {
        let r = try DecodeBenchmark.run(name: "SmolLM2-135M shape", config: DecodeBenchmark.smolLM2,
                                        tensors: RandomWeights(DecodeBenchmark.smolLM2, matrices: .q4_0),
                                        manifest: Support.manifest, position: 100, executeKernels: true)
        check(r)
        XCTAssertEqual(r.weights, "Q4_0 matrices, Q4_0 LM head")
        XCTAssertEqual(r.uploadedWeightBytes, Self.q4_0WeightBytes(DecodeBenchmark.smolLM2))
        print(DecodeBenchmark.report([r]))
    }

    /// Always run (counted, kernels not executed; ~1.5 GB): Llama 3.2 1B shapes with Q4_0 matrices at 1k
    /// context meet the goals: 2 runs per layer + LM head, 1 submission, every weight byte
    /// streamed once, streamed bytes within 5% of weights + KV read. Prints the modelled tok/s.
    func testLlama1BQ4_0At1kContextMeetsTheGoals() throws {
        let c = DecodeBenchmark.llama32_1B
        let r = try DecodeBenchmark.run(name: "Llama 3.2 1B shape", config: c, tensors: RandomWeights(c, matrices: .q4_0),
                                        manifest: Support.manifest, position: 1023, executeKernels: false)
        check(r)
        checkBytesGoal(r)
        XCTAssertEqual(r.perToken.runs, 33)
        // XRT splits the 33-run runlist into chained commands of 24 + 9 runs: 2 driver commands per token;
        // their firmware buffers hold 12 × 168 + 12 × 120 = 3456 B and 4 × 168 + 4 × 120 + 112 = 1264 B
        // (52 + 20 + 8 per buffer argument each run) of 4096; 32 runs bind more buffers than aiecc's 5
        XCTAssertEqual([r.perToken.runlistExecutes, r.perToken.driverCommands], [1, 2])
        XCTAssertEqual(r.chains.map(\.runs), [24, 9])
        XCTAssertEqual(r.chains.map(\.payloadBytes), [3456, 1264])
        XCTAssertEqual(r.perToken.chainPayloadBytes, 4720)
        XCTAssertEqual(r.perToken.knownViolationRuns, 32)
        XCTAssertEqual(r.knownBufferArgumentViolations.map(\.design), ["attn_half", "attn_half_taps", "mlp_half", "mlp_half_taps", "prefill_kqv_out"])
        XCTAssertEqual(r.contextKernels, 15 + 15, "ctx 1024: 5 buckets × 2 + 5 decode kernels, 15 prefill")
        XCTAssertNil(r.contextKernelViolation)
        // modelled time per chain (cost model: 50 GB/s, 33 µs per run) stays far under the 2 s TDR
        XCTAssertLessThan(r.chains.map(\.modelledSeconds).max()!, 0.05)
        XCTAssertEqual(r.uploadedWeightBytes, Self.q4_0WeightBytes(c), "4.5 bits per matrix weight + bf16 norms")
        // KV read at position 1023 (bucket 16 blocks of 64): K and V, 16 layers × 8 KV heads × 1024 × 64 bf16
        XCTAssertEqual(r.traffic.kvReadBytes, 2 * 16 * 8 * 1024 * 64 * 2)
        print(DecodeBenchmark.report([r]))
    }

    /// Bytes of a model's weights as the NPU holds them with Q4_0 matrices: 18 per 32 matrix weights,
    /// norm weights bf16 (the LM head is the tied embedding, uploaded once).
    static func q4_0WeightBytes(_ c: ModelConfig) -> Int {
        var total = 0
        for (name, shape) in Graph.llama(c).weightShapes where name != "token_embd.weight" || c.tiedEmbeddings {
            let n = shape.reduce(1, *)
            total += shape.count == 1 ? 2 * n : n / 32 * 18
        }
        return total
    }

    func check(_ r: DecodeBenchResult, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(r.perToken.submissions, 1, file: file, line: line)
        XCTAssertEqual(r.perToken.runlistExecutes, 1, file: file, line: line)
        XCTAssertEqual(r.perToken.driverCommands, (r.perToken.runs + 23) / 24, "chains of 24 runs", file: file, line: line)
        XCTAssertTrue(r.chains.allSatisfy { $0.payloadBytes <= r.target.chainPayloadBytes && $0.state == .completed }, file: file, line: line)
        XCTAssertEqual(r.perToken.runs, 2 * r.layers + 1, file: file, line: line)
        XCTAssertEqual(r.perToken.syncsToDevice + r.perToken.syncsFromDevice, 2, file: file, line: line)
        XCTAssertEqual(r.traffic.weightBytes, r.uploadedWeightBytes, "every weight streamed once", file: file, line: line)
        // Nothing else of size: weights once, the KV bucket read, the new K and V rows, small activations.
        let accounted = Double(r.uploadedWeightBytes + r.traffic.kvReadBytes + r.traffic.kvWriteBytes)
        XCTAssertLessThan(abs(Double(r.streamedBytes) - accounted) / accounted, 0.01, file: file, line: line)
        // the KV append writes exactly the token's rows: K and V, kvDim bf16 each, per layer
        XCTAssertEqual(r.traffic.kvWriteBytes, r.layers * 2 * r.kvDim * 2, "only the new rows written", file: file, line: line)
        XCTAssertEqual(r.argumentRebinds, 2 * r.layers, "k_row and v_row re-bound per layer", file: file, line: line)
    }

    /// The bytes goal (Llama 3.2 1B at 1k context): streamed within 5% of weights + KV read.
    func checkBytesGoal(_ r: DecodeBenchResult, file: StaticString = #filePath, line: UInt = #line) {
        let expected = Double(r.uploadedWeightBytes + r.traffic.kvReadBytes)
        XCTAssertLessThan(abs(Double(r.streamedBytes) - expected) / expected, 0.05, file: file, line: line)
    }

    /// NPULLAMA_BENCH=1: SmolLM2 and Llama 3.2 1B shapes at 1k context, bf16, Q4_1 and Q4_0.
    func testBenchmarkAt1kContext() throws {
        guard ProcessInfo.processInfo.environment["NPULLAMA_BENCH"] == "1" else {
            throw XCTSkip("set NPULLAMA_BENCH=1 to run the decode benchmark (1B shapes allocate ~8 GB)")
        }
        var results: [DecodeBenchResult] = []
        for (name, config, execute) in [("SmolLM2-135M shape", DecodeBenchmark.smolLM2, true),
                                        ("Llama 3.2 1B shape", DecodeBenchmark.llama32_1B, false)] {
            for dtype in [DType.bf16, .q4_1, .q4_0] {
                let r = try DecodeBenchmark.run(name: name, config: config, tensors: RandomWeights(config, matrices: dtype),
                                                manifest: Support.manifest, position: 1023, executeKernels: execute)
                check(r)
                if config.layerCount == 16 { checkBytesGoal(r) }
                results.append(r)
                print(DecodeBenchmark.report([r]))
            }
        }
        print(DecodeBenchmark.report(results))
    }
}
