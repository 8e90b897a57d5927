// What the host writes into the io BO once per token: the params region (int32[8] header, the RoPE row) and the token's embedding row.
import Foundation
import LlamaCore

/// What the host writes into the io BO per token (DecodeLayout's params and x regions, one sync): the params
/// region `int32[8]` `[pos, pos, 1, bucket, 0…]`, then `cos[d/2] ‖ sin[d/2]` in bf16 (zero padding to the region's
/// end), and the token's embedding row (`hidden` bf16) in the x region.
struct StepParams {
    let headDim: Int
    let hidden: Int
    /// The host's RoPE angles' cos/sin per position, fp32 as the reference forms them: (positions, headDim/2).
    private let inverseFrequencies: [Float]

    init(config: ModelConfig) {
        headDim = config.headDim
        hidden = config.hiddenSize
        inverseFrequencies = config.ropeInverseFrequencies()
    }

    /// Bytes of the header and RoPE row.
    var paramsBytes: Int { 32 + 2 * headDim }

    /// The RoPE row of position `pos`: cos[d/2] ‖ sin[d/2] in bf16 (nearest even).
    func writeRope(position pos: Int, into destination: UnsafeMutableRawPointer) {
        let cs = destination.assumingMemoryBound(to: UInt16.self)
        let half = headDim / 2
        for i in 0..<half {
            let angle = Double(Float(pos) * inverseFrequencies[i])
            cs[i] = floatToBF16(Float(cos(angle)))
            cs[half + i] = floatToBF16(Float(sin(angle)))
        }
    }

    /// Writes the header and RoPE row for position `pos` at byte `paramsAt` of `memory` (the io BO's host view) and
    /// the embedding row at byte `embeddingAt`.
    func write(position pos: Int, bucket: Int, embedding: [UInt16], into memory: UnsafeMutableRawBufferPointer,
               paramsAt: Int, embeddingAt: Int) {
        let base = memory.baseAddress! + paramsAt
        let header = base.assumingMemoryBound(to: Int32.self)
        let values: [Int32] = [Int32(pos), Int32(pos), 1, Int32(bucket), 0, 0, 0, 0]
        for (i, v) in values.enumerated() { header[i] = v }
        writeRope(position: pos, into: base + 32)
        let row = (memory.baseAddress! + embeddingAt).assumingMemoryBound(to: UInt16.self)
        row.update(from: embedding, count: hidden)
    }
}
