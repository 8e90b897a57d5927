// DecodeWeights: a model's matrices and norms into the decode token's weights BO and the LM head's lm_weights BO — every (tm × tk) tile permuted into its channel stream (bf16, or Q4_1 / Q4_0 blocks as stored), padded rows zero, the norms bf16 — tensor by tensor, with no second copy.
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

    /// Every matrix of the model: the layers' in the order the weights BO holds them, then the LM head (lm_weights).
    public static func parts(_ layout: DecodeLayout, outputWeight: String) -> [Part] {
        layerParts(layout) + [lmHeadPart(layout, outputWeight: outputWeight)]
    }

    /// The LM head's matrix (the output weight, or the tied embedding): the LM stage, in lm_weights.
    public static func lmHeadPart(_ layout: DecodeLayout, outputWeight: String) -> Part {
        Part(tensor: outputWeight, layer: nil, stage: .lm, rows: layout.config.vocabSize, offset: 0)
    }

    /// The layers' matrices in the order the weights BO holds them.
    public static func layerParts(_ layout: DecodeLayout) -> [Part] {
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
        return list
    }

    /// The tm of a stage (the decode token's, or the LM head's own).
    static func tm(_ layout: DecodeLayout, _ stage: DecodeLayout.Stage) -> Int { stage == .lm ? layout.lmHead.tm : layout.tm }

    /// Where the k-slices of one stage row live in its BO (the weights BO; lm_weights for the LM stage): slice ks at
    /// `first + ks · stride`, `bytes` each. Stage row → tile t = row div tm → core g = t mod 16, round r = t div 16 →
    /// channel g div 2, half g mod 2 of the pair; a channel's pairs run (layer, stage, round, slice) — (round, slice)
    /// for LM — pair p of channel ch at streamsOffset + (8p + ch)·pairBytes.
    public static func slot(_ layout: DecodeLayout, stage: DecodeLayout.Stage, layer: Int?, stageRow: Int)
        -> (first: Int, stride: Int, bytes: Int) {
        let s = layout.shape(stage)
        let tm = Self.tm(layout, stage)
        let t = stageRow / tm, g = t % DecodeLayout.gemvCores, r = t / DecodeLayout.gemvCores
        var p = r * s.slices
        let streams: Int, pair: Int
        if stage == .lm {
            (streams, pair) = (layout.lmHead.streamsOffset, layout.lmHead.pairBytes)
        } else {
            (streams, pair) = (layout.streamsOffset, layout.pairBytes)
            p += layer! * layout.pairsPerLayer
            for x in layout.stages[0..<stage.rawValue] { p += x.rounds * x.slices }
        }
        let first = streams + (p * DecodeLayout.channels + g / 2) * pair + (g % 2) * s.tileBytes
        return (first + (stageRow % tm) * (s.tileBytes / tm), DecodeLayout.channels * pair, s.tileBytes / tm)
    }

    /// Writes every layer matrix (its stored bytes when the tensor is stored in the stage's format, else rounded to
    /// bf16 a chunk of rows at a time), zeros for every padded row, and the layers' bf16 norms into `destination` (the
    /// weights BO's host view, `layout.weightsBytes`). `progress(bytes written, total)` after each tensor.
    public static func write(_ layout: DecodeLayout, tensors: TensorSource,
                             into destination: UnsafeMutableRawBufferPointer, progress: ((Int, Int) -> Void)? = nil) throws {
        guard destination.count == layout.weightsBytes else {
            throw NPUDeviceError("weights upload", "the weights buffer has \(destination.count) bytes; the layout takes \(layout.weightsBytes)")
        }
        let out = destination.baseAddress!
        let total = layout.weightsBytes
        progress?(0, total)
        var done = 0
        for part in layerParts(layout) {
            try scatter(part, layout, tensors: tensors, into: out)
            done += part.rows * layout.shape(part.stage).slices * layout.shape(part.stage).tileBytes / layout.tm
            progress?(done, total)
        }
        for stage in DecodeLayout.Stage.layerStages {
            for layer in 0..<layout.config.layerCount { zeroPaddedRows(stage, layer, layout, out) }
        }
        // the gap between the norms (and the family's extra weights, issue 17) and the streams
        let normsEnd = layout.ffnNormOffsets.last! + 2 * layout.config.hiddenSize + layout.config.layerCount * 2 * layout.extraValues
        (out + normsEnd).initializeMemory(as: UInt8.self, repeating: 0, count: layout.streamsOffset - normsEnd)
        for l in 0..<layout.config.layerCount {
            try norm("blk.\(l).attn_norm.weight", at: layout.attnNormOffsets[l], layout, tensors, out)
            try norm("blk.\(l).ffn_norm.weight", at: layout.ffnNormOffsets[l], layout, tensors, out)
            try extra(layer: l, layout, tensors, out)
        }
        progress?(total, total)
    }

    /// Writes the LM head's matrix (`outputWeight`: stored bytes when stored in the LM head's format, else rounded to
    /// bf16), zeros for its padded rows, and output_norm_w (bf16) into `destination` (the lm_weights BO's host view,
    /// `layout.lmHead.weightsBytes`). `progress(bytes written, total)` after the matrix and at the end.
    public static func writeLMHead(_ layout: DecodeLayout, tensors: TensorSource, outputWeight: String,
                                   into destination: UnsafeMutableRawBufferPointer, progress: ((Int, Int) -> Void)? = nil) throws {
        let lm = layout.lmHead
        guard destination.count == lm.weightsBytes else {
            throw NPUDeviceError("weights upload", "the lm_weights buffer has \(destination.count) bytes; the layout takes \(lm.weightsBytes)")
        }
        let out = destination.baseAddress!
        progress?(0, lm.weightsBytes)
        let part = lmHeadPart(layout, outputWeight: outputWeight)
        try scatter(part, layout, tensors: tensors, into: out)
        progress?(part.rows * lm.stage.slices * lm.stage.tileBytes / lm.tm, lm.weightsBytes)
        zeroPaddedRows(.lm, nil, layout, out)
        let h = layout.config.hiddenSize
        (out + lm.outputNormOffset + 2 * h).initializeMemory(as: UInt8.self, repeating: 0, count: lm.streamsOffset - lm.outputNormOffset - 2 * h)
        try norm("output_norm.weight", at: lm.outputNormOffset, layout, tensors, out)
        progress?(lm.weightsBytes, lm.weightsBytes)
    }

    /// Issue 17: layer l's attention-half weights as bf16 at its extra offset — Qwen2 q, k, v biases back to back,
    /// Qwen3 q_norm then k_norm (the order the hub's bias_add_f32_bf16 / qk_norm_f32_bf16 read them); nothing for Llama.
    static func extra(layer l: Int, _ layout: DecodeLayout, _ tensors: TensorSource, _ out: UnsafeMutableRawPointer) throws {
        let c = layout.config
        let parts: [(String, Int)]
        switch c.family {
        case .llama: return
        case .qwen2: parts = [("attn_q.bias", c.qDim), ("attn_k.bias", c.kvDim), ("attn_v.bias", c.kvDim)]
        case .qwen3: parts = [("attn_q_norm.weight", c.headDim), ("attn_k_norm.weight", c.headDim)]
        }
        var at = layout.extraOffsets[l]
        for (name, n) in parts {
            try WeightConversion.write("blk.\(l).\(name)", as: .bf16, from: tensors,
                                       into: UnsafeMutableRawBufferPointer(start: out + at, count: 2 * n))
            at += 2 * n
        }
    }

    /// A norm weight (hidden values) as bf16 at byte `at`.
    static func norm(_ name: String, at: Int, _ layout: DecodeLayout, _ tensors: TensorSource, _ out: UnsafeMutableRawPointer) throws {
        let h = layout.config.hiddenSize
        try WeightConversion.write(name, as: .bf16, from: tensors, into: UnsafeMutableRawBufferPointer(start: out + at, count: 2 * h))
    }

    /// Zero weights for every padded row of a stage (a zero block is zero in Q4_1 and Q4_0 too).
    static func zeroPaddedRows(_ stage: DecodeLayout.Stage, _ layer: Int?, _ layout: DecodeLayout, _ out: UnsafeMutableRawPointer) {
        let s = layout.shape(stage)
        for row in s.rows..<s.paddedRows {
            let (first, stride, bytes) = slot(layout, stage: stage, layer: layer, stageRow: row)
            for ks in 0..<s.slices { (out + first + ks * stride).initializeMemory(as: UInt8.self, repeating: 0, count: bytes) }
        }
    }

    /// One matrix's rows into their slots of the BO at `out`: its stored bytes when stored in the stage's format,
    /// else rounded to bf16 a chunk of rows at a time.
    static func scatter(_ part: Part, _ layout: DecodeLayout, tensors: TensorSource, into out: UnsafeMutableRawPointer) throws {
        let s = layout.shape(part.stage)
        let tm = Self.tm(layout, part.stage)
        guard let info = tensors.info(part.tensor) else {
            throw ModelFileError(.missingTensor, file: tensors.path, "tensor \(part.tensor) is missing")
        }
        guard info.shape == [part.rows, s.k] else {
            throw ModelFileError(.shapeMismatch, file: tensors.path,
                                 "tensor \(part.tensor) is \(info.shape); the decode stage \(part.stage.name) takes [\(part.rows), \(s.k)]")
        }
        let slice = s.tileBytes / tm, rowBytes = s.slices * slice
        func scatter(_ src: UnsafeRawPointer, rows: Range<Int>) {
            for i in rows {
                let (first, stride, bytes) = slot(layout, stage: part.stage, layer: part.layer, stageRow: part.stageRow(i, tm: tm))
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
            // rounded to bf16 a chunk of rows at a time (a stage in a Q4 format takes only tensors stored so:
            // WeightConversion picks Q4_1 / Q4_0 only for tensors stored in it)
            guard s.dtype == .bf16 else {
                throw ModelFileError(.shapeMismatch, file: tensors.path, "tensor \(part.tensor) is \(info.dtype.rawValue); the decode stage \(part.stage.name) takes \(s.dtype.rawValue) as stored")
            }
            let chunk = max(1, (1 << 20) / s.k)
            // a source without stored bytes (in-memory tensors) gives the whole tensor at once
            let whole = (try? tensors.rawBytes(part.tensor)) == nil ? try tensors.floats(part.tensor) : nil
            for from in stride(from: 0, to: part.rows, by: chunk) {
                let rows = from..<min(from + chunk, part.rows)
                let values = try whole.map { Array($0[rows.lowerBound * s.k..<rows.upperBound * s.k]) }
                    ?? tensors.floats(part.tensor, rows: rows)
                let bytes = values.map(floatToBF16).withUnsafeBytes { Array($0) }
                bytes.withUnsafeBytes { scatter($0.baseAddress!, rows: rows) }
            }
        }
    }

    /// A matrix's bytes as its stage stores them (rows × row bytes, row-major), gathered back from its BO (the
    /// weights BO; lm_weights for the LM head): the inverse of `write` / `writeLMHead` for one part.
    public static func read(_ part: Part, _ layout: DecodeLayout, from weights: UnsafeRawBufferPointer) -> [UInt8] {
        let s = layout.shape(part.stage)
        let tm = Self.tm(layout, part.stage)
        let slice = s.tileBytes / tm
        var bytes = [UInt8](repeating: 0, count: part.rows * s.slices * slice)
        bytes.withUnsafeMutableBytes { dst in
            for i in 0..<part.rows {
                let (first, stride, n) = slot(layout, stage: part.stage, layer: part.layer, stageRow: part.stageRow(i, tm: tm))
                for ks in 0..<s.slices {
                    (dst.baseAddress! + (i * s.slices + ks) * n).copyMemory(from: weights.baseAddress! + first + ks * stride, byteCount: n)
                }
            }
        }
        return bytes
    }
}
