// DecodeLayout and DecodeWeights: every byte of the weights BO in exactly one slot, the host permutation round-trips (Q4 blocks intact), the KV / kv_row / io numbers of the reference models within the rules they answer to.
import Foundation
import LlamaCore
import NPUBackend
import XCTest

final class DecodeLayoutTests: XCTestCase {
    static let shapes: [(String, ModelConfig)] = {
        var oneLayer1B = DecodeBenchmark.llama32_1B
        oneLayer1B.layerCount = 2
        oneLayer1B.vocabSize = 2048
        return [("tiny", try! ModelConfig(vocabSize: 1024, hiddenSize: 128, intermediateSize: 384, layerCount: 4, headCount: 8,
                                          kvHeadCount: 2, headDim: 16, maxContext: 131072, tiedEmbeddings: true)),
                ("smol", DecodeBenchmark.smolLM2), ("1B, 2 layers, vocab 2048", oneLayer1B)]
    }()

    /// Every slot the layout gives (a matrix row's k-slice, a padded row's, a norm, the alignment gap before the streams)
    /// sorted: they tile the weights BO exactly, so each byte belongs to exactly one.
    func testEveryWeightByteIsInExactlyOneSlot() throws {
        for (name, c) in Self.shapes {
            for dtype in [DType.bf16, .q4_1, .q4_0] {
                let l = try DecodeLayout(manifest: Support.manifest, config: c, projection: dtype, lmHead: dtype, context: 256)
                var slots: [(at: Int, bytes: Int)] = []
                func markRow(_ stage: DecodeLayout.Stage, _ layer: Int?, _ row: Int) {
                    let (first, stride, bytes) = DecodeWeights.slot(l, stage: stage, layer: layer, stageRow: row)
                    for ks in 0..<l.stages[stage.rawValue].slices { slots.append((first + ks * stride, bytes)) }
                }
                for part in DecodeWeights.parts(l, outputWeight: "token_embd.weight") {
                    for i in 0..<part.rows { markRow(part.stage, part.layer, part.stageRow(i, tm: l.tm)) }
                }
                for stage in DecodeLayout.Stage.allCases {
                    let s = l.stages[stage.rawValue]
                    for layer in stage == .lm ? [nil] : (0..<c.layerCount).map(Optional.some) {
                        for row in s.rows..<s.paddedRows { markRow(stage, layer, row) }
                    }
                }
                for at in l.attnNormOffsets + l.ffnNormOffsets + [l.outputNormOffset] { slots.append((at, 2 * c.hiddenSize)) }
                slots.append((l.outputNormOffset + 2 * c.hiddenSize, l.streamsOffset - l.outputNormOffset - 2 * c.hiddenSize))   // the gap
                // sorted, the slots must tile 0..<weightsBytes: each starts where the previous ends
                slots.sort { $0.at < $1.at }
                var end = 0, broken: Int?
                for s in slots where s.bytes > 0 {
                    if s.at != end { broken = s.at; break }
                    end = s.at + s.bytes
                }
                XCTAssertNil(broken, "\(name) \(dtype.rawValue): a slot starts at \(broken ?? -1), not where the previous ends (\(end))")
                XCTAssertEqual(end, l.weightsBytes, "\(name) \(dtype.rawValue): the slots cover the weights BO")
                // a k-slice is whole GGUF blocks (tk / 32 of them), so a Q4 block never straddles two tiles
                let slice = l.stages[0].tileBytes / l.tm
                XCTAssertEqual(slice, dtype == .bf16 ? 2 * l.tk : l.tk / 32 * (dtype == .q4_1 ? 20 : 18))
            }
        }
    }

    /// Written and gathered back: every matrix's bytes exactly as the source stores them (Q4_1 / Q4_0 blocks intact,
    /// bf16 values), padded rows zero, the norms bf16; the LM head of a Q4 model stored otherwise quantized to its format.
    func testThePermutationRoundTrips() throws {
        for (name, c) in Self.shapes.prefix(2) {
            for dtype in [DType.bf16, .q4_1, .q4_0] {
                let w = RandomWeights(c, matrices: dtype, seed: 3)
                let l = try DecodeLayout(manifest: Support.manifest, config: c, projection: dtype, lmHead: dtype, context: 128)
                var bo = [UInt8](repeating: 0xEE, count: l.weightsBytes)
                var reported: [Int] = []
                try bo.withUnsafeMutableBytes {
                    try DecodeWeights.write(l, tensors: w, outputWeight: "token_embd.weight", into: $0) { done, _ in reported.append(done) }
                }
                XCTAssertEqual(reported.last, l.weightsBytes, "progress ends at the whole BO")
                try bo.withUnsafeBytes { raw in
                    for part in DecodeWeights.parts(l, outputWeight: "token_embd.weight") {
                        XCTAssertEqual(DecodeWeights.read(part, l, from: raw), Array(try w.rawBytes(part.tensor)), "\(name) \(part.tensor)")
                    }
                    for stage in DecodeLayout.Stage.allCases {
                        let s = l.stages[stage.rawValue]
                        for layer in stage == .lm ? [nil] : (0..<c.layerCount).map(Optional.some) {
                            for row in s.rows..<s.paddedRows {
                                let (first, stride, bytes) = DecodeWeights.slot(l, stage: stage, layer: layer, stageRow: row)
                                for ks in 0..<s.slices {
                                    XCTAssertTrue(raw[(first + ks * stride)..<(first + ks * stride + bytes)].allSatisfy { $0 == 0 }, "\(name) padded \(stage.name) row \(row)")
                                }
                            }
                        }
                    }
                    let norm = Array(raw[l.ffnNormOffsets[1]..<l.ffnNormOffsets[1] + 2 * c.hiddenSize])
                    XCTAssertEqual(norm, Array(try w.rawBytes("blk.1.ffn_norm.weight")), "\(name) ffn_norm-1 bf16")
                }
            }
        }
        // a Q4_1 model whose LM head is stored in F32: the device view quantizes it to Q4_1 (ggml's reference
        // quantizer), the same bytes NPUBackend writes and a reference reading `NPUBackend.tensors` dequantizes
        let c = Self.shapes[0].1
        let q = RandomWeights(c, matrices: .q4_1, seed: 4)
        let mixed = TensorDictionary()
        for n in q.tensorNames where n != "token_embd.weight" { mixed.set(n, shape: q.info(n)!.shape, values: try q.floats(n)) }
        mixed.set("token_embd.weight", shape: [c.vocabSize, c.hiddenSize], values: try q.floats("token_embd.weight").map { $0 * 1.5 })
        let graph = Graph.llama(c)
        XCTAssertTrue(NPUBackend.deviceTensors(mixed, graph: graph) === mixed, "F32 projections: bf16 on the device, no view")
        let asQ4_1 = ConvertedTensors(mixed, matrices: .q4_1, only: Set(graph.weightShapes.map(\.name)).subtracting(["token_embd.weight"]))
        let view = NPUBackend.deviceTensors(asQ4_1, graph: graph)
        XCTAssertEqual(view.info("token_embd.weight")?.dtype, .q4_1)
        XCTAssertEqual(view.info("blk.0.attn_q.weight")?.dtype, .q4_1)
        let embd = try mixed.floats("token_embd.weight")
        XCTAssertEqual(Array(try view.rawBytes("token_embd.weight")), quantizeQ4_1(embd))
        let back = try view.floats("token_embd.weight")
        let worst = zip(back, embd).map { abs($0 - $1) }.max()!
        XCTAssertLessThanOrEqual(worst, 0.08 * 1.5 * 2 / 15 / 2 + 1e-3, "within half a Q4_1 step of a block spanning ±0.12")
    }

    /// The numbers of the reference models: tiling, padding, the 2^31 rule on every transfer's start, kv_row's reach,
    /// the io regions' alignment.
    func testReferenceModelNumbers() throws {
        let m = Support.manifest
        let b = try DecodeLayout(manifest: m, config: DecodeBenchmark.llama32_1B, projection: .bf16, lmHead: .bf16, context: 131072)
        XCTAssertEqual([b.tm, b.tk, b.hubSlice, b.kvGroups, b.headsPerGroup, b.pack, b.paramsValues], [64, 64, 64, 4, 2, 448, 128])
        XCTAssertEqual(b.stages.map(\.paddedRows), [3072, 2048, 16384, 2048, 129024])
        XCTAssertEqual(b.candidates.compactMap(\.paddedRows), [768], "tm 32 and 16 break S = 64 | tm")
        XCTAssertEqual(b.buckets.count, 12)
        XCTAssertGreaterThan(b.weightsBytes, 1 << 31, "1B bf16: 2.47 GB of weights")
        XCTAssertLessThan(b.channelOffsets.max()! + b.pairBytes, 1 << 31, "every channel's fill starts in the first 8 pairs")
        XCTAssertGreaterThan(2 * b.kvElements, 1 << 31, "1B KV at 131072 positions: 4.3 GB")
        XCTAssertLessThan(2 * b.kvOffset(layer: 15, group: 3, head: 1, value: true), 1 << 31,
                          "every KV fill and kv_row drain starts in the first slab (block-major)")
        XCTAssertEqual(b.kvRowBase(position: 131071) + b.kvRowElements, b.kvElements, "kv_row of the last position ends at the BO's end")
        for pos in [0, 63, 64, 1000, 131071] {
            for h in 0..<8 {
                XCTAssertLessThan(b.kvElement(layer: 15, kvHead: h, position: pos, value: true, dim: 63) - b.kvRowBase(position: pos), b.kvRowElements)
            }
        }
        let regions = [b.ioParams, b.ioX, b.ioResultNorm, b.ioLogits, b.ioBests, b.ioToken]
            + b.layers.flatMap { [$0.qkv, $0.o, $0.gu, $0.d, $0.packs, $0.kqv, $0.attnNorm, $0.ffnInp, $0.ffnNorm, $0.act, $0.lOut] }
        XCTAssertTrue(regions.allSatisfy { $0 % 32 == 0 }, "every io region starts at a multiple of 32 bf16 (64 B)")
        XCTAssertEqual(Set(zip(b.layers.dropFirst(), b.layers).map { $0.qkv - $1.qkv }).count, 1, "every layer's regions the same size")
        XCTAssertEqual(b.kernelName(bucket: 4), "decode_bf16_bf16_b4")
        let s = try DecodeLayout(manifest: m, config: DecodeBenchmark.smolLM2, projection: .q4_1, lmHead: .q4_1, context: 8192)
        XCTAssertEqual([s.tm, s.kvGroups, s.headsPerGroup, s.pack], [64, 3, 1, 384])
        XCTAssertEqual(s.stages.map(\.paddedRows), [1024, 1024, 3072, 1024, 49152], "576 rows of O and D pad to 1024")
        XCTAssertThrowsError(try DecodeLayout(manifest: m, config: DecodeBenchmark.smolLM2, projection: .q4_1, lmHead: .bf16, context: 8192)) {
            XCTAssertTrue("\($0)".contains("must be in the projections' format"), "\($0)")
        }
    }
}
