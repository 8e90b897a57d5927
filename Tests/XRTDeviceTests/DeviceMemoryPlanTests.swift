// DeviceMemoryPlan: the buffers it lists are the ones NPUBackend allocates (on the emulated NPU), and the
// bytes the xdna shim maps MAP_LOCKED for Llama 3.2 1B and SmolLM2, computed from the plan.
import Foundation
import LlamaCore
import NPUBackend
import XCTest

enum PlanSupport {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let manifest = try! KernelManifest.load(path: root.appendingPathComponent("Kernels/manifest.json").path)

    /// The smallest Llama the decode token serves with headDim 64 (as NPUBackendTests' Support.smallConfig).
    static let small = try! ModelConfig(
        vocabSize: 1024, hiddenSize: 128, intermediateSize: 512, layerCount: 2, headCount: 4, kvHeadCount: 2, headDim: 64,
        ropeTheta: 500000, maxContext: 4096, tiedEmbeddings: true)
    static let llama1B = try! ModelConfig(
        vocabSize: 128256, hiddenSize: 2048, intermediateSize: 8192, layerCount: 16, headCount: 32, kvHeadCount: 8,
        headDim: 64, maxContext: 131072, tiedEmbeddings: true)
    static let smol = try! ModelConfig(
        vocabSize: 49152, hiddenSize: 576, intermediateSize: 1536, layerCount: 30, headCount: 9, kvHeadCount: 3,
        headDim: 64, ropePairing: .adjacent, maxContext: 8192, tiedEmbeddings: true)
}

final class DeviceMemoryPlanTests: XCTestCase {
    /// NPUBackend on the emulated NPU allocates exactly the plan's buffers (its load also checks this itself).
    func testPlanListsWhatTheBackendAllocates() throws {
        let config = PlanSupport.small, manifest = PlanSupport.manifest
        let graph = Graph.llama(config)
        let tensors = TensorDictionary.randomLlama(config, seed: 3, scale: 0.1)
        let device = try NPUBackend.emulatedDevice(graph: graph, tensors: tensors, manifest: manifest, contextLength: 256)
        _ = try NPUBackend(graph: graph, tensors: tensors, device: device, manifest: manifest, contextLength: 256,
                           xclbin: "emulated-decode.xclbin", instructions: { try device.instructions(for: $0) })
        var instructionBytes: [String: Int] = [:]
        for name in try NPUBackend.kernelNames(graph: graph, tensors: tensors, manifest: manifest, contextLength: 256) {
            instructionBytes[name] = 4 * (try device.instructions(for: name)).count
        }
        let plan = try NPUBackend.memoryPlan(graph: graph, tensors: tensors, manifest: manifest, contextLength: 256,
                                             instructionBytes: instructionBytes)
        XCTAssertEqual(plan.buffers.count, device.counters.buffersAllocated)
        XCTAssertEqual(plan.buffers.reduce(0) { $0 + $1.bytes }, device.counters.bytesAllocated)
        // weights, lm_weights, KV, io, pio + one instruction stream per kernel (each bucket's decode token, the LM head,
        // each bucket's prefill)
        XCTAssertEqual(plan.buffers.map(\.name), ["weights", "lm_weights", "kv", "io", "pio"] + instructionBytes.keys.sorted().map { "insts(\($0))" })
        XCTAssertThrowsError(try plan.verify(allocatedBuffers: device.counters.buffersAllocated,
                                             allocatedBytes: device.counters.bytesAllocated + 1)) { error in
            XCTAssertTrue("\(error)".hasSuffix("the memlock check (DeviceMemoryPlan.swift) must list exactly what NPUBackend allocates"))
        }
    }

    /// The mapped bytes from their parts: host_only BOs page by page, one command BO per run and per chained
    /// command, the 64 MiB device heap grown in 64 MiB steps for instruction streams and PDIs.
    func testMappedBytesFromTheirParts() throws {
        let c = PlanSupport.small
        let base = try NPUBackend.memoryPlan(config: c, projection: .bf16, lmHead: .bf16, manifest: PlanSupport.manifest,
                                             contextLength: 256)
        // buckets 1, 2, 4 at context 256 (blocks of 64): a decode token run each, one LM head run, a prefill run each;
        // two decode runlists each ([decode, LM head] and [decode]), two prefill runlists each ([prefill] and
        // [prefill, LM head]) and verify's [LM head]: one chained command each
        XCTAssertEqual(base.runs, 3 + 1 + 3)
        XCTAssertEqual(base.chainedCommands, 2 * 3 + 2 * 3 + 1)
        XCTAssertEqual(base.commandMappedBytes, (7 + 13) * 4096)
        XCTAssertEqual(base.heapMappedBytes, 64 << 20)
        let kv = 2 * c.layerCount * c.kvHeadCount * 256 * c.headDim * 2
        XCTAssertEqual(base.bytes(.kvCache), kv)
        XCTAssertEqual(base.hostOnlyMappedBytes, base.buffers.filter { $0.flags == .hostOnly }
                        .reduce(0) { $0 + ($1.bytes + 4095) / 4096 * 4096 })
        XCTAssertEqual(base.mappedBytes, base.hostOnlyMappedBytes + base.commandMappedBytes + base.heapMappedBytes)
        // 70 MiB of instruction streams and a 1 MiB xclbin: the heap grows once
        let names = base.buffers.filter { $0.flags == .cacheable }.map { String($0.name.dropFirst(6).dropLast()) }
        var big: [String: Int] = [:]
        for n in names { big[n] = 70 << 20 / names.count }
        let grown = try NPUBackend.memoryPlan(config: c, projection: .bf16, lmHead: .bf16, manifest: PlanSupport.manifest,
                                              contextLength: 256, instructionBytes: big, pdiBytes: 1 << 20)
        XCTAssertEqual(grown.heapMappedBytes, 128 << 20)
        XCTAssertEqual(grown.mappedBytes - base.mappedBytes, 64 << 20)
    }

    /// Figures computed from the plan (KernelPlan + DecodeDesigns, decode-only as --device npu loads; no kernel
    /// build, so instruction streams and PDIs are taken to fit the first 64 MiB heap step). Printed for the report.
    func testFiguresForLlama1BAndSmolLM2() throws {
        let m = PlanSupport.manifest
        var rows: [(String, Int)] = []
        func plan(_ c: ModelConfig, _ p: DType, _ h: DType, _ ctx: Int) throws -> DeviceMemoryPlan {
            try NPUBackend.memoryPlan(config: c, projection: p, lmHead: h, manifest: m, contextLength: ctx)
        }
        for (label, p) in [("bf16", DType.bf16), ("Q4_0", .q4_0)] {
            for ctx in [1024, 8192, 131072] {
                let x = try plan(PlanSupport.llama1B, p, p, ctx)
                let c = PlanSupport.llama1B
                XCTAssertEqual(x.bytes(.kvCache), 2 * c.layerCount * c.kvHeadCount * ctx * c.headDim * 2)
                rows.append(("Llama 3.2 1B \(label) ctx \(ctx)", x.mappedBytes))
                print("computed from the plan: Llama 3.2 1B \(label) at context \(ctx): \(x.mappedBytes) bytes "
                      + "(\(NPUEnvironment.formatBytes(UInt64(x.mappedBytes)))) = \(x.breakdown)")
            }
        }
        let s = try plan(PlanSupport.smol, .q4_1, .bf16, 2048)
        rows.append(("SmolLM2 Q4_1 ctx 2048", s.mappedBytes))
        print("computed from the plan: SmolLM2-135M (Q4_1 projections, bf16 LM head) at context 2048: \(s.mappedBytes) bytes "
              + "(\(NPUEnvironment.formatBytes(UInt64(s.mappedBytes)))) = \(s.breakdown)")
        // bf16 1B weights (weights and lm_weights BOs): every matrix and norm at 2 bytes, the tied LM head once, no
        // zero row (the layers' rows are multiples of 16 cores × 64; the LM head's 128256 of 16 × its tm 16), and
        // lm_weights' gap from output_norm_w (4096 B) to its streams (64-byte aligned: none)
        let c = PlanSupport.llama1B
        let perLayer = 2 * c.hiddenSize + c.hiddenSize * (c.qDim + 2 * c.kvDim) + c.qDim * c.hiddenSize
            + 3 * c.hiddenSize * c.intermediateSize
        XCTAssertEqual(try plan(c, .bf16, .bf16, 1024).bytes(.weights),
                       2 * (c.layerCount * perLayer + c.hiddenSize + c.vocabSize * c.hiddenSize))
        XCTAssertEqual(rows.map(\.1), Self.frozen, rows.map { "\($0.0): \($0.1)" }.joined(separator: "\n"))
    }

    /// The figures above, frozen: a change to the designs, the plan or the target model shows here.
    /// Issue 13 added the prefill's pio BO (1B: 90.6 MB; SmolLM2: 43.0 MB), its runs and runlists' command BOs.
    static let frozen: [Int] = [2_664_792_064, 2_899_746_816, 6_926_376_960,   // Llama 3.2 1B bf16 at 1k, 8k, 128k
                                888_406_016, 1_123_360_768, 5_149_990_912,     // Llama 3.2 1B Q4_0 at 1k, 8k, 128k
                                299_638_784]                                   // SmolLM2-135M Q4_1, bf16 LM head, at 2k
}
