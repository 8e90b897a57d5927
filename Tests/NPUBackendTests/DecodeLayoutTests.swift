// DecodeLayout and DecodeWeights: every byte of the weights and lm_weights BOs in exactly one slot, the host permutation round-trips (Q4 blocks intact), the KV / kv_row / io numbers of the reference models within the rules they answer to.
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
    /// sorted: they tile the weights BO and the lm_weights BO exactly, so each byte belongs to exactly one.
    func testEveryWeightByteIsInExactlyOneSlot() throws {
        for (name, c) in Self.shapes {
            for (dtype, head) in [(DType.bf16, DType.bf16), (.q4_1, .q4_1), (.q4_0, .q4_0), (.q4_1, .bf16), (.bf16, .q4_0)] {
                let label = "\(name) \(dtype.rawValue) + \(head.rawValue) LM head"
                let l = try DecodeLayout(manifest: Support.manifest, config: c, projection: dtype, lmHead: head, context: 256)
                var slots: [(at: Int, bytes: Int)] = [], lmSlots: [(at: Int, bytes: Int)] = []
                func markRow(_ stage: DecodeLayout.Stage, _ layer: Int?, _ row: Int) {
                    let (first, stride, bytes) = DecodeWeights.slot(l, stage: stage, layer: layer, stageRow: row)
                    for ks in 0..<l.shape(stage).slices {
                        if stage == .lm { lmSlots.append((first + ks * stride, bytes)) } else { slots.append((first + ks * stride, bytes)) }
                    }
                }
                for part in DecodeWeights.parts(l, outputWeight: "token_embd.weight") {
                    for i in 0..<part.rows { markRow(part.stage, part.layer, part.stageRow(i, tm: l.tm)) }
                }
                for stage in DecodeLayout.Stage.allCases {
                    let s = l.shape(stage)
                    for layer in stage == .lm ? [nil] : (0..<c.layerCount).map(Optional.some) {
                        for row in s.rows..<s.paddedRows { markRow(stage, layer, row) }
                    }
                }
                for at in l.attnNormOffsets + l.ffnNormOffsets { slots.append((at, 2 * c.hiddenSize)) }
                let normsEnd = 4 * c.layerCount * c.hiddenSize
                slots.append((normsEnd, l.streamsOffset - normsEnd))   // the gap
                lmSlots.append((l.lmHead.outputNormOffset, 2 * c.hiddenSize))
                lmSlots.append((2 * c.hiddenSize, l.lmHead.streamsOffset - 2 * c.hiddenSize))
                // sorted, the slots must tile 0..<bytes: each starts where the previous ends
                for (bo, list, bytes) in [("weights", slots, l.weightsBytes), ("lm_weights", lmSlots, l.lmHead.weightsBytes)] {
                    var end = 0, broken: Int?
                    for s in list.sorted(by: { $0.at < $1.at }) where s.bytes > 0 {
                        if s.at != end { broken = s.at; break }
                        end = s.at + s.bytes
                    }
                    XCTAssertNil(broken, "\(label) \(bo): a slot starts at \(broken ?? -1), not where the previous ends (\(end))")
                    XCTAssertEqual(end, bytes, "\(label): the slots cover the \(bo) BO")
                }
                // a k-slice is whole GGUF blocks (tk / 32 of them), so a Q4 block never straddles two tiles
                for (s, tm, tk, d) in [(l.stages[0], l.tm, l.tk, dtype), (l.lmHead.stage, l.lmHead.tm, l.lmHead.tk, head)] {
                    XCTAssertEqual(s.tileBytes / tm, d == .bf16 ? 2 * tk : tk / 32 * (d == .q4_1 ? 20 : 18), label)
                }
            }
        }
    }

    /// Written and gathered back: every matrix's bytes exactly as the source stores them (Q4_1 / Q4_0 blocks intact,
    /// bf16 values; the LM head in its own BO and format), padded rows zero, the norms bf16; an LM head stored in
    /// another format than bf16, Q4_1 or Q4_0 rounded to bf16, whatever the projections' format.
    func testThePermutationRoundTrips() throws {
        for (name, c) in Self.shapes.prefix(2) {
            for (dtype, head) in [(DType.bf16, DType.bf16), (.q4_1, .q4_1), (.q4_0, .q4_0), (.q4_1, .bf16)] {
                let w = RandomWeights(c, matrices: dtype, lmHead: head, seed: 3)
                let l = try DecodeLayout(manifest: Support.manifest, config: c, projection: dtype, lmHead: head, context: 128)
                var bo = [UInt8](repeating: 0xEE, count: l.weightsBytes), lm = [UInt8](repeating: 0xEE, count: l.lmHead.weightsBytes)
                var reported: [Int] = [], lmReported: [Int] = []
                try bo.withUnsafeMutableBytes {
                    try DecodeWeights.write(l, tensors: w, into: $0) { done, _ in reported.append(done) }
                }
                try lm.withUnsafeMutableBytes {
                    try DecodeWeights.writeLMHead(l, tensors: w, outputWeight: "token_embd.weight", into: $0) { done, _ in lmReported.append(done) }
                }
                XCTAssertEqual(reported.last, l.weightsBytes, "progress ends at the whole BO")
                XCTAssertEqual(lmReported.last, l.lmHead.weightsBytes, "progress ends at the whole lm_weights BO")
                for part in DecodeWeights.parts(l, outputWeight: "token_embd.weight") {
                    let back = (part.stage == .lm ? lm : bo).withUnsafeBytes { DecodeWeights.read(part, l, from: $0) }
                    XCTAssertEqual(back, Array(try w.rawBytes(part.tensor)), "\(name) \(part.tensor)")
                }
                for stage in DecodeLayout.Stage.allCases {
                    let s = l.shape(stage)
                    try (stage == .lm ? lm : bo).withUnsafeBytes { raw in
                        for layer in stage == .lm ? [nil] : (0..<c.layerCount).map(Optional.some) {
                            for row in s.rows..<s.paddedRows {
                                let (first, stride, bytes) = DecodeWeights.slot(l, stage: stage, layer: layer, stageRow: row)
                                for ks in 0..<s.slices {
                                    XCTAssertTrue(raw[(first + ks * stride)..<(first + ks * stride + bytes)].allSatisfy { $0 == 0 }, "\(name) padded \(stage.name) row \(row)")
                                }
                            }
                        }
                        if stage == .lm {
                            let norm = Array(raw[0..<2 * c.hiddenSize])
                            XCTAssertEqual(norm, Array(try w.rawBytes("output_norm.weight")), "\(name) output_norm bf16")
                        }
                    }
                }
                XCTAssertEqual(Array(bo[l.ffnNormOffsets[1]..<l.ffnNormOffsets[1] + 2 * c.hiddenSize]),
                               Array(try w.rawBytes("blk.1.ffn_norm.weight")), "\(name) ffn_norm-1 bf16")
            }
        }
        // a Q4_1 model whose LM head is stored in F32: the head is bf16 on the device (its own run), rounded at upload
        let c = Self.shapes[0].1
        let q = RandomWeights(c, matrices: .q4_1, seed: 4)
        let mixed = TensorDictionary()
        for n in q.tensorNames where n != "token_embd.weight" { mixed.set(n, shape: q.info(n)!.shape, values: try q.floats(n)) }
        let embd = try q.floats("token_embd.weight").map { $0 * 1.5 }
        mixed.set("token_embd.weight", shape: [c.vocabSize, c.hiddenSize], values: embd)
        let l = try DecodeLayout(manifest: Support.manifest, config: c, projection: .bf16, lmHead: .bf16, context: 128)
        var lm = [UInt8](repeating: 0xEE, count: l.lmHead.weightsBytes)
        try lm.withUnsafeMutableBytes { try DecodeWeights.writeLMHead(l, tensors: mixed, outputWeight: "token_embd.weight", into: $0) }
        let back = lm.withUnsafeBytes { DecodeWeights.read(DecodeWeights.lmHeadPart(l, outputWeight: "token_embd.weight"), l, from: $0) }
        XCTAssertEqual(back, embd.map(floatToBF16).withUnsafeBytes { Array($0) }, "F32 LM head rounded to bf16 (nearest even)")
    }

    /// The numbers of the reference models: tiling, padding, the 2^31 rule on every transfer's start, kv_row's reach,
    /// the io regions' alignment.
    func testReferenceModelNumbers() throws {
        let m = Support.manifest
        let b = try DecodeLayout(manifest: m, config: DecodeBenchmark.llama32_1B, projection: .bf16, lmHead: .bf16, context: 131072)
        XCTAssertEqual([b.tm, b.tk, b.hubSlice, b.kvGroups, b.headsPerGroup, b.pack, b.paramsValues], [64, 64, 64, 4, 2, 448, 128])
        XCTAssertEqual(b.stages.map(\.paddedRows), [3072, 2048, 16384, 2048])
        XCTAssertEqual(b.candidates.map(\.paddedRows), [0, nil, nil, 16384],
                       "tm 32 and 16 break S = 64 | tm; tm 128 (issue 17, for head_dim 128) pads QKV's 3072 rows to 4096 per layer")
        // the LM head's own tiling: 128256 rows = 501 rounds of 16 cores × 16, no padded row (tm 64: 768, tm 32: 256)
        XCTAssertEqual([b.lmHead.tm, b.lmHead.tk, b.lmHead.stage.paddedRows], [16, 64, 128256])
        XCTAssertEqual(b.lmHead.candidates.map(\.paddedRows), [768, 256, 0])
        XCTAssertEqual(b.lmHead.weightsBytes, 4096 + 128256 * 2048 * 2, "output_norm_w (4 KB), then the vocab rows in bf16")
        XCTAssertEqual([b.ioBests - b.ioLogits, b.ioToken - b.ioBests], [128256, 256], "logits: the padded vocab; bests: 16 · tm 16")
        XCTAssertEqual(b.buckets.count, 12)
        XCTAssertEqual(b.weightsBytes + b.lmHead.weightsBytes, 2_471_628_800, "1B bf16: 1.95 GB of layers + 0.53 GB of LM head")
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
        XCTAssertEqual(b.ioXFinal, b.layers[15].lOut + 2048, "x_final right after the last layer's regions")
        let regions = [b.ioParams, b.ioX, b.ioXFinal, b.ioResultNorm, b.ioLogits, b.ioBests, b.ioToken]
            + b.layers.flatMap { [$0.qkv, $0.o, $0.gu, $0.d, $0.packs, $0.kqv, $0.attnNorm, $0.ffnInp, $0.ffnNorm, $0.act, $0.lOut] }
        XCTAssertTrue(regions.allSatisfy { $0 % 32 == 0 }, "every io region starts at a multiple of 32 bf16 (64 B)")
        XCTAssertEqual(Set(zip(b.layers.dropFirst(), b.layers).map { $0.qkv - $1.qkv }).count, 1, "every layer's regions the same size")
        XCTAssertEqual(b.kernelName(bucket: 4), "decode_bf16_b4")
        XCTAssertEqual(b.lmHead.kernelName, "lm_head_bf16")
        // SmolLM2 as shipped: Q4_1 projections, its Q8_0 embedding as a bf16 LM head in its own BO and run
        let s = try DecodeLayout(manifest: m, config: DecodeBenchmark.smolLM2, projection: .q4_1, lmHead: .bf16, context: 8192)
        XCTAssertEqual([s.tm, s.kvGroups, s.headsPerGroup, s.pack], [64, 3, 1, 384])
        XCTAssertEqual(s.stages.map(\.paddedRows), [1024, 1024, 3072, 1024], "576 rows of O and D pad to 1024")
        XCTAssertEqual([s.lmHead.tm, s.lmHead.stage.paddedRows, s.pairBytes, s.lmHead.pairBytes], [64, 49152, 2 * 64 * 2 * 20, 2 * 64 * 64 * 2])
        XCTAssertEqual([s.kernelName(bucket: 1), s.lmHead.kernelName], ["decode_q4_1_b1", "lm_head_bf16"])
        XCTAssertEqual(s.streamsOffset, 4 * 30 * 576, "the layers' norms only (69120 B, a multiple of 64)")
    }
}
