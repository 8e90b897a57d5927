// DecodeWeights: a model's matrices and norms into the decode token's weights BO — every (tm × tk) tile permuted into its channel stream (bf16, or Q4_1 / Q4_0 blocks as stored), padded rows zero, the norms bf16 — tensor by tensor, with no second copy.
import LlamaCore

public enum DecodeWeights {
    /// One matrix in a stage: tensor row i is stage row `offset + i` (GU: gate and up rows interleave by tiles).
    public struct Part: Sendable, Equatable {
        public var tensor: String
        public var layer: Int?          // nil: the LM head
        public var stage: DecodeLayout.Stage
        public var rows: Int
        public var offset: Int          // QKV: 0, Q, Q + KV
        public var interleave: Int?     // GU: 0 gate, 1 up

        /// The stage row of tensor row i.
        public func stageRow(_ i: Int, tm: Int) -> Int {
            guard let half = interleave else { return offset + i }
            return (2 * (i / tm) + half) * tm + i % tm
        }
    }

    /// Every matrix of the model in the order the weights BO holds them (layers, then the LM head).
    public static func parts(_ layout: DecodeLayout, outputWeight: String) -> [Part] {
        let c = layout.config
        var list: [Part] = []
        for l in 0..<c.layerCount {
            let b = "blk.\(l)."
            list += [Part(tensor: b + "attn_q.weight", layer: l, stage: .qkv, rows: c.qDim, offset: 0),
                     Part(tensor: b + "attn_k.weight", layer: l, stage: .qkv, rows: c.kvDim, offset: c.qDim),
                     Part(tensor: b + "attn_v.weight", layer: l, stage: .qkv, rows: c.kvDim, offset: c.qDim + c.kvDim),
                     Part(tensor: b + "attn_output.weight", layer: l, stage: .o, rows: c.hiddenSize, offset: 0),
                     Part(tensor: b + "ffn_gate.weight", layer: l, stage: .gu, rows: c.intermediateSize, offset: 0, interleave: 0),
                     Part(tensor: b + "ffn_up.weight", layer: l, stage: .gu, rows: c.intermediateSize, offset: 0, interleave: 1),
                     Part(tensor: b + "ffn_down.weight", layer: l, stage: .d, rows: c.hiddenSize, offset: 0)]
        }
        list.append(Part(tensor: outputWeight, layer: nil, stage: .lm, rows: c.vocabSize, offset: 0))
        return list
    }

    /// Where the k-slices of one stage row live in the weights BO: slice ks at `first + ks · stride`, `bytes` each.
    /// Stage row → tile t = row div tm → core g = t mod 16, round r = t div 16 → channel g div 2, half g mod 2 of the
    /// pair; a channel's pairs run (layer, stage, round, slice), pair p of channel ch at streamsOffset + (8p + ch)·pairBytes.
    public static func slot(_ layout: DecodeLayout, stage: DecodeLayout.Stage, layer: Int?, stageRow: Int)
        -> (first: Int, stride: Int, bytes: Int) {
        let s = layout.stages[stage.rawValue]
        let tm = layout.tm
        let t = stageRow / tm, g = t % DecodeLayout.gemvCores, r = t / DecodeLayout.gemvCores
        var p = r * s.slices
        if stage == .lm {
            p += layout.config.layerCount * layout.pairsPerLayer
        } else {
            p += layer! * layout.pairsPerLayer
            for x in layout.stages[0..<stage.rawValue] { p += x.rounds * x.slices }
        }
        let first = layout.streamsOffset + (p * DecodeLayout.channels + g / 2) * layout.pairBytes + (g % 2) * s.tileBytes
        return (first + (stageRow % tm) * (s.tileBytes / tm), DecodeLayout.channels * layout.pairBytes, s.tileBytes / tm)
    }

    /// Writes every matrix (its stored bytes when the tensor is stored in the stage's format, else rounded to bf16
    /// a chunk of rows at a time), zeros for every padded row, and the bf16 norms into `destination` (the weights
    /// BO's host view, `layout.weightsBytes`). `progress(bytes written, total)` after each tensor.
    public static func write(_ layout: DecodeLayout, tensors: TensorSource, outputWeight: String,
                             into destination: UnsafeMutableRawBufferPointer, progress: ((Int, Int) -> Void)? = nil) throws {
        guard destination.count == layout.weightsBytes else {
            throw NPUDeviceError("weights upload", "the weights buffer has \(destination.count) bytes; the layout takes \(layout.weightsBytes)")
        }
        let out = destination.baseAddress!
        var done = 0
        let total = layout.weightsBytes
        progress?(0, total)
        for part in parts(layout, outputWeight: outputWeight) {
            let s = layout.stages[part.stage.rawValue]
            guard let info = tensors.info(part.tensor) else {
                throw ModelFileError(.missingTensor, file: tensors.path, "tensor \(part.tensor) is missing")
            }
            guard info.shape == [part.rows, s.k] else {
                throw ModelFileError(.shapeMismatch, file: tensors.path,
                                     "tensor \(part.tensor) is \(info.shape); the decode stage \(part.stage.name) takes [\(part.rows), \(s.k)]")
            }
            let slice = s.tileBytes / layout.tm, rowBytes = s.slices * slice
            func scatter(_ src: UnsafeRawPointer, rows: Range<Int>) {
                for i in rows {
                    let (first, stride, bytes) = slot(layout, stage: part.stage, layer: part.layer, stageRow: part.stageRow(i, tm: layout.tm))
                    let row = src + (i - rows.lowerBound) * rowBytes
                    for ks in 0..<s.slices { (out + first + ks * stride).copyMemory(from: row + ks * bytes, byteCount: bytes) }
                }
            }
            if info.dtype == s.dtype {
                let raw = try tensors.rawBytes(part.tensor)
                guard raw.count >= part.rows * rowBytes else {
                    throw ModelFileError(.shapeMismatch, file: tensors.path, "tensor \(part.tensor) has \(raw.count) bytes, fewer than \(part.rows * rowBytes)")
                }
                scatter(raw.baseAddress!, rows: 0..<part.rows)
            } else {
                // converted a chunk of rows at a time: rounded to bf16, or quantized as ggml's reference quantizers do
                // (the LM head in the projections' format; LlamaCore.ConvertedTensors makes the same bytes for the
                // reference, see NPUBackend.deviceTensors)
                let chunk = max(1, (1 << 20) / s.k)
                // a source without stored bytes (in-memory tensors) gives the whole tensor at once
                let whole = (try? tensors.rawBytes(part.tensor)) == nil ? try tensors.floats(part.tensor) : nil
                for from in stride(from: 0, to: part.rows, by: chunk) {
                    let rows = from..<min(from + chunk, part.rows)
                    let values = try whole.map { Array($0[rows.lowerBound * s.k..<rows.upperBound * s.k]) }
                        ?? tensors.floats(part.tensor, rows: rows)
                    let bytes = try convertRows(values, to: s.dtype, file: tensors.path, name: part.tensor)
                    bytes.withUnsafeBytes { scatter($0.baseAddress!, rows: rows) }
                }
            }
            done += part.rows * rowBytes
            progress?(done, total)
        }
        // padded rows: zero weights (a zero block is zero in Q4_1 and Q4_0 too)
        for stage in DecodeLayout.Stage.allCases {
            let s = layout.stages[stage.rawValue]
            for layer in stage == .lm ? [nil] : (0..<layout.config.layerCount).map(Optional.some) {
                for row in s.rows..<s.paddedRows {
                    let (first, stride, bytes) = slot(layout, stage: stage, layer: layer, stageRow: row)
                    for ks in 0..<s.slices { (out + first + ks * stride).initializeMemory(as: UInt8.self, repeating: 0, count: bytes) }
                }
            }
        }
        // the gap between the norms and the streams
        let normsEnd = layout.outputNormOffset + 2 * layout.config.hiddenSize
        (out + normsEnd).initializeMemory(as: UInt8.self, repeating: 0, count: layout.streamsOffset - normsEnd)
        // norms, bf16
        let h = layout.config.hiddenSize
        func norm(_ name: String, _ at: Int) throws {
            try WeightConversion.write(name, as: .bf16, from: tensors, into: UnsafeMutableRawBufferPointer(start: out + at, count: 2 * h))
        }
        for l in 0..<layout.config.layerCount {
            try norm("blk.\(l).attn_norm.weight", layout.attnNormOffsets[l])
            try norm("blk.\(l).ffn_norm.weight", layout.ffnNormOffsets[l])
        }
        try norm("output_norm.weight", layout.outputNormOffset)
        progress?(total, total)
    }

    /// Rows of fp32 values in a stage format: bf16 (nearest even), or GGUF Q4_1 / Q4_0 blocks.
    static func convertRows(_ values: [Float], to dtype: DType, file: String, name: String) throws -> [UInt8] {
        switch dtype {
        case .q4_0: return quantizeQ4_0(values)
        case .q4_1: return quantizeQ4_1(values)
        case .bf16: return values.map(floatToBF16).withUnsafeBytes { Array($0) }
        default: throw ModelFileError(.shapeMismatch, file: file, "tensor \(name) cannot be converted to \(dtype.rawValue)")
        }
    }

    /// A matrix's bytes as its stage stores them (rows × row bytes, row-major), gathered back from the weights BO:
    /// the inverse of `write` for one part.
    public static func read(_ part: Part, _ layout: DecodeLayout, from weights: UnsafeRawBufferPointer) -> [UInt8] {
        let s = layout.stages[part.stage.rawValue]
        let slice = s.tileBytes / layout.tm
        var bytes = [UInt8](repeating: 0, count: part.rows * s.slices * slice)
        bytes.withUnsafeMutableBytes { dst in
            for i in 0..<part.rows {
                let (first, stride, n) = slot(layout, stage: part.stage, layer: part.layer, stageRow: part.stageRow(i, tm: layout.tm))
                for ks in 0..<s.slices {
                    (dst.baseAddress! + (i * s.slices + ks) * n).copyMemory(from: weights.baseAddress! + first + ks * stride, byteCount: n)
                }
            }
        }
        return bytes
    }
}
