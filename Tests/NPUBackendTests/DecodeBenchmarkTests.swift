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
        print(DecodeBenchmark.report([r]))
    }

    func check(_ r: DecodeBenchResult, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(r.perToken.submissions, 1, file: file, line: line)
        XCTAssertEqual(r.perToken.runs, 2 * r.layers + 1, file: file, line: line)
        XCTAssertEqual(r.perToken.syncsToDevice + r.perToken.syncsFromDevice, 2, file: file, line: line)
        XCTAssertEqual(r.traffic.weightBytes, r.uploadedWeightBytes, "every weight streamed once", file: file, line: line)
        let expected = Double(r.uploadedWeightBytes + r.traffic.kvReadBytes)
        XCTAssertLessThan(abs(Double(r.streamedBytes) - expected) / expected, 0.05, file: file, line: line)
    }

    /// NPULLAMA_BENCH=1: SmolLM2 and Llama 3.2 1B shapes at 1k context, bf16 and Q4_1.
    func testBenchmarkAt1kContext() throws {
        guard ProcessInfo.processInfo.environment["NPULLAMA_BENCH"] == "1" else {
            throw XCTSkip("set NPULLAMA_BENCH=1 to run the decode benchmark (1B shapes allocate ~8 GB)")
        }
        var results: [DecodeBenchResult] = []
        for (name, config, execute) in [("SmolLM2-135M shape", DecodeBenchmark.smolLM2, true),
                                        ("Llama 3.2 1B shape", DecodeBenchmark.llama32_1B, false)] {
            for dtype in [DType.bf16, .q4_1] {
                let r = try DecodeBenchmark.run(name: name, config: config, tensors: RandomWeights(config, matrices: dtype),
                                                manifest: Support.manifest, position: 1023, executeKernels: execute)
                check(r)
                results.append(r)
                print(DecodeBenchmark.report([r]))
            }
        }
        print(DecodeBenchmark.report(results))
    }
}
