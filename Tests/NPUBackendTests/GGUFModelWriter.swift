// Test-only: writes a small Llama as a GGUF v3 file (llama.* metadata, tensors in a given ggml type), so a test can open it as a user's file.
import Foundation
import LlamaCore

enum GGUFModelWriter {
    /// Writes `config`'s weights from `source` to `path`: 2-D matrices as `matrices` (Q4_0 via
    /// LlamaCore.quantizeQ4_0, or F32), norm weights F32; GGUF dimension order (innermost first).
    static func write(_ config: ModelConfig, from source: TensorSource, matrices: DType, to path: String) throws {
        precondition(matrices == .q4_0 || matrices == .f32)
        var out = Data()
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func string(_ s: String) { u64(UInt64(s.utf8.count)); out.append(contentsOf: Array(s.utf8)) }
        let c = config
        let ints: [(String, UInt32)] = [
            ("llama.embedding_length", UInt32(c.hiddenSize)), ("llama.feed_forward_length", UInt32(c.intermediateSize)),
            ("llama.block_count", UInt32(c.layerCount)), ("llama.attention.head_count", UInt32(c.headCount)),
            ("llama.attention.head_count_kv", UInt32(c.kvHeadCount)), ("llama.rope.dimension_count", UInt32(c.headDim)),
            ("llama.context_length", UInt32(c.maxContext)), ("llama.vocab_size", UInt32(c.vocabSize)),
        ]
        let floats: [(String, Float)] = [("llama.attention.layer_norm_rms_epsilon", c.rmsNormEps), ("llama.rope.freq_base", Float(c.ropeTheta))]
        var tensors: [(name: String, shape: [Int], type: UInt32, data: [UInt8])] = []
        for (name, shape) in Graph.llama(c).weightShapes {
            let values = try source.floats(name)
            if shape.count == 2 && matrices == .q4_0 {
                tensors.append((name, shape, DType.q4_0.ggmlType, quantizeQ4_0(values)))
            } else {
                tensors.append((name, shape, DType.f32.ggmlType, values.withUnsafeBytes { Array($0) }))
            }
        }
        out.append(contentsOf: Array("GGUF".utf8))
        u32(3)
        u64(UInt64(tensors.count))
        u64(UInt64(1 + ints.count + floats.count))
        string("general.architecture"); u32(8); string("llama")
        for (k, v) in ints { string(k); u32(4); u32(v) }
        for (k, v) in floats { string(k); u32(6); withUnsafeBytes(of: v.bitPattern.littleEndian) { out.append(contentsOf: $0) } }
        var offset = 0
        for t in tensors {
            string(t.name)
            u32(UInt32(t.shape.count))
            for d in t.shape.reversed() { u64(UInt64(d)) }
            u32(t.type)
            u64(UInt64(offset))
            offset += (t.data.count + 31) / 32 * 32
        }
        out.append(contentsOf: [UInt8](repeating: 0, count: (32 - out.count % 32) % 32))
        for t in tensors {
            out.append(contentsOf: t.data)
            out.append(contentsOf: [UInt8](repeating: 0, count: (32 - t.data.count % 32) % 32))
        }
        try out.write(to: URL(fileURLWithPath: path))
    }
}
