// A GGUF file with Q4_0 matrices (as llama.cpp writes them) run as stored on NPUBackend over the emulated NPU: bytes used as they are, verify and greedy vs the CPU reference.
import Foundation
import LlamaCore
import NPUBackend
import ReferenceBackend
import Scheduler
import XCTest

final class Q4_0GGUFTests: XCTestCase {
    /// Support.smallConfig as a GGUF describes it (adjacent RoPE pairing, no llama3 scaling).
    let config = try! ModelConfig(vocabSize: 1024, hiddenSize: 128, intermediateSize: 512, layerCount: 2, headCount: 4,
                                  kvHeadCount: 2, headDim: 64, ropeTheta: 500000, ropePairing: .adjacent, maxContext: 4096,
                                  tiedEmbeddings: true)
    let context = 256

    func testQ4_0GGUFRunsAsStoredAndAgreesWithTheReference() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("npullama-q40-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("small.Q4_0.gguf").path
        // norm weights on the bf16 grid (stored F32, as real GGUFs do), so both sides hold the same values
        try GGUFModelWriter.write(config, from: Support.bf16Weights(config, seed: 11), matrices: .q4_0, to: path)

        let model = try LoadedModel.open(path: path)
        XCTAssertEqual(model.config.vocabSize, 1024)
        XCTAssertEqual(model.tensors.info("blk.1.ffn_down.weight")?.dtype, .q4_0)
        XCTAssertEqual(model.tensors.info("token_embd.weight")?.dtype, .q4_0)
        let graph = Graph.llama(model.config)
        let (npu, device) = try Support.npuBackend(graph, model.tensors, context: context)
        XCTAssertEqual(npu.designs.projectionDType, .q4_0, "the file's Q4_0 matrices are used as they are")
        XCTAssertEqual(npu.designs.lmHeadDType, .q4_0)
        // uploaded: the weights and lm_weights BOs, in which every matrix is the file's Q4_0 blocks as they are
        // (gathered back from their channel streams), the rest zero padded rows and the F32 norms as bf16
        let l = npu.layout
        XCTAssertEqual(npu.counters.load.bytesToDevice - npu.instructionBytes, l.weightsBytes + l.lmHead.weightsBytes)
        XCTAssertEqual(device.counters.bytesToDevice, npu.counters.load.bytesToDevice)
        var bo = [UInt8](repeating: 0xEE, count: l.weightsBytes), lm = [UInt8](repeating: 0xEE, count: l.lmHead.weightsBytes)
        try bo.withUnsafeMutableBytes { try DecodeWeights.write(l, tensors: model.tensors, into: $0) }
        try lm.withUnsafeMutableBytes { try DecodeWeights.writeLMHead(l, tensors: model.tensors, outputWeight: graph.outputWeightName, into: $0) }
        for part in DecodeWeights.parts(l, outputWeight: graph.outputWeightName) {
            let stored = Array(try model.tensors.rawBytes(part.tensor))
            XCTAssertEqual((part.stage == .lm ? lm : bo).withUnsafeBytes { DecodeWeights.read(part, l, from: $0) }, stored, part.tensor)
        }

        let weights = try FloatWeights(graph: graph, source: model.tensors)
        let verifier = Verifier(checked: npu, teacher: try Support.reference(graph, weights, context: context),
                                free: try Support.reference(graph, weights, context: context))
        let report = try verifier.verifyCase(name: "q4_0 gguf", promptIDs: [1, 17, 300, 42, 7], decodeSteps: 4)
        print("Q4_0 GGUF small model verify (emulated NPU vs CPU reference):\n" + Support.failures(report))
        XCTAssertTrue(report.passed, Support.failures(report))
        XCTAssertTrue(report.checks.contains { $0.dtype == "Q4_0" && $0.op == "gemv" && $0.against == "teacher-forced" })

        let (fresh, _) = try Support.npuBackend(graph, model.tensors, context: context)
        let prompt = [3, 99, 250, 4, 61, 77]
        let reference = try Support.referenceGreedy(try Support.reference(graph, weights, context: context), prompt: prompt, count: 8)
        XCTAssertEqual(try fresh.generateGreedy(prompt: prompt, count: 8), reference.ids, "greedy margins (reference): \(reference.margins)")
        XCTAssertEqual(fresh.counters.lastToken.runs, 2, "the decode token and the LM head, one runlist")
        XCTAssertEqual(fresh.counters.lastToken.submissions, 1)
    }
}
