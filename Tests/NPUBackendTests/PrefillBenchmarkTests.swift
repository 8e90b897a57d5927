// The prefill's modelled TTFT: its per-chunk counts equal what the emulated driver moved, and Swift's model equals Tools/prefill_model.py's (the README's formula) for Llama 3.2 1B.
import Foundation
import LlamaCore
import NPUBackend
import XCTest

final class PrefillBenchmarkTests: XCTestCase {
    /// Two chunks (64 rows at 0, then 36 at 64 with the LM head): every shim channel's bytes as the driver counted
    /// them equal the layout's task groups (plus the LM head run's), for the small and the tiny golden model and
    /// (issue 17: group Q, the family core) the tiny Qwen2 and Qwen3 models.
    func testChunkCountsEqualTheDriversCounts() throws {
        func open(_ path: String) throws -> LoadedModel { try LoadedModel.open(path: Support.root.appendingPathComponent(path).path) }
        let tiny = try open("Golden/tiny-llama32/model"), qwen2 = try open("Golden/tiny-qwen2/model")
        let qwen3 = try open("Golden/tiny-qwen3/tiny-qwen3.bf16.gguf")
        for (config, tensors) in [(Support.smallConfig, Support.bf16Weights(Support.smallConfig, seed: 5) as TensorSource),
                                  (tiny.config, tiny.tensors), (qwen2.config, qwen2.tensors), (qwen3.config, qwen3.tensors)] {
            let graph = Graph.llama(config)
            let (npu, _) = try Support.npuBackend(graph, tensors, context: 256)
            let p = try XCTUnwrap(npu.designs.prefill)
            _ = try npu.step(tokens: (0..<100).map { $0 % config.vocabSize }, start: 0, logitRows: .last, observer: nil)
            XCTAssertEqual(npu.counters.chunkCount, 2)
            var expected: [DecodeChannel: Int] = [:]
            for (start, rows) in [(0, 64), (64, 36)] {
                for (k, v) in p.chunkChannelTotals(start: start, rows: rows) where k.dram { expected[k, default: 0] += v }
            }
            for (k, v) in npu.layout.lmHeadChannelTotals where k.dram { expected[k, default: 0] += v }
            XCTAssertEqual(npu.counters.chunksTraffic.channels.filter { $0.key.dram }, expected)
            // per argument: kv_blk written whole per chunk; KV read once per repeat (grp / lanes) per layer and head
            // over the bucket's blocks (broadcast to the lanes)
            XCTAssertEqual(npu.counters.chunksTraffic.kvWriteBytes, 2 * 2 * p.kvBlockElements)
            XCTAssertEqual(p.reps * p.lanes, config.groupSize)
            XCTAssertEqual(npu.counters.chunksTraffic.kvReadBytes,
                           (1 + 2) * config.layerCount * p.reps * 2 * config.kvHeadCount * p.kvHeadBlock)
            XCTAssertEqual(npu.counters.chunks.runs, 3, "two prefill runs and the LM head")
            XCTAssertEqual(npu.counters.chunks.syncsToDevice, 2)
            XCTAssertEqual(npu.counters.chunks.bytesToDevice, 2 * p.hostInputBytes)
        }
    }

    /// Swift's PrefillBenchmark equals Tools/prefill_model.py for Llama 3.2 1B (bf16, Q4_0) at pp512 and pp2048.
    func testModelEqualsThePythonModel() throws {
        guard let python = ["/usr/bin/python3", "/usr/local/bin/python3"].first(where: FileManager.default.isExecutableFile) else {
            throw XCTSkip("python3 is not installed")
        }
        guard FileManager.default.fileExists(atPath: Support.root.appendingPathComponent("Tools/prefill_model.py").path) else {
            throw XCTSkip("Tools/prefill_model.py is not in this checkout")
        }
        let proc = Process()
        proc.executableURL = URL(fileURLWithPath: python)
        proc.arguments = ["Tools/prefill_model.py", "--preset", "llama-3.2-1b", "--weights", "bf16", "q4_0", "--prompts", "512", "2048",
                          "--ctx", "2048"]
        proc.currentDirectoryURL = Support.root
        let out = Pipe()
        proc.standardOutput = out
        try proc.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        proc.waitUntilExit()
        let c = DecodeBenchmark.llama32_1B
        for w in [DType.bf16, .q4_0] {
            let d = try DecodeDesigns(manifest: Support.manifest, config: c, projectionDType: w, lmHeadDType: w, context: 2048)
            let p = try XCTUnwrap(d.prefill)
            for n in [512, 2048] {
                let r = PrefillBenchmark.model(p, promptTokens: n)
                let line = try XCTUnwrap(text.split(separator: "\n").first { $0.contains(" \(w.rawValue.lowercased()) pp\(n):") }, "\(w) pp\(n)")
                let ttft = try XCTUnwrap(Double(line.components(separatedBy: "TTFT ")[1].components(separatedBy: " s")[0]))
                print(String(format: "MODELLED prefill, Llama 3.2 1B %@ pp%d: TTFT %.4f s, %.0f tok/s (Swift) | %@ (Tools/prefill_model.py)",
                             w.rawValue, n, r.seconds, r.tokensPerSecond, String(line)))
                XCTAssertEqual(r.seconds, ttft, accuracy: 0.0005, "\(w) pp\(n)")
                XCTAssertEqual(r.chunks, n / 64)
            }
        }
        // task G: Llama 3.1 8B bf16, its GEMM cores' x slice single-buffered (the "x+compute" term in both models; 3B
        // takes tm 64 since task H, where the slice stays double-buffered)
        let proc3 = Process()
        proc3.executableURL = URL(fileURLWithPath: python)
        proc3.arguments = ["Tools/prefill_model.py", "--preset", "llama-3.1-8b", "--weights", "bf16", "--prompts", "1024", "--ctx", "2048"]
        proc3.currentDirectoryURL = Support.root
        let out3 = Pipe()
        proc3.standardOutput = out3
        try proc3.run()
        let text3 = String(decoding: out3.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        proc3.waitUntilExit()
        let d3 = try DecodeDesigns(manifest: Support.manifest, config: ExactShapePlanTests.llama31_8B, projectionDType: .bf16,
                                   lmHeadDType: .bf16, context: 2048)
        let p3 = try XCTUnwrap(d3.prefill, d3.prefillUnsupported ?? "")
        XCTAssertEqual(p3.xDepth, 1)
        let r3 = PrefillBenchmark.model(p3, promptTokens: 1024)
        let line3 = try XCTUnwrap(text3.split(separator: "\n").first { $0.contains(" bf16 pp1024:") }, text3)
        let ttft3 = try XCTUnwrap(Double(line3.components(separatedBy: "TTFT ")[1].components(separatedBy: " s")[0]))
        print(String(format: "MODELLED prefill, Llama 3.1 8B bf16 pp1024: TTFT %.4f s (Swift) | %@ (Tools/prefill_model.py)",
                     r3.seconds, String(line3)))
        XCTAssertEqual(r3.seconds, ttft3, accuracy: 0.0005)
        XCTAssertEqual(r3.chunks, 1024 / 32)
    }
}
