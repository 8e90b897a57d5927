// The step params buffer as the host writes it once per token: int32[8] header, the RoPE row, and the token's embedding row.
import Foundation
import LlamaCore

/// Layout of the one host-written BO per step (Kernels/README.md, "the step params buffer"):
/// `int32[8]` `[pos, chunk_start, rows, bucket, 0…]`, then `cos[d/2] ‖ sin[d/2]` in bf16 (the
/// `params` argument of the attention halves), then the token's embedding row, `hidden` bf16 (the
/// `x` argument of layer 0's attention half, bound as a sub-buffer). One sync per token moves it all.
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

    var paramsBytes: Int { 32 + 2 * headDim }
    var embedOffset: Int { paramsBytes }
    var totalBytes: Int { paramsBytes + 2 * hidden }

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

    /// Writes the header and RoPE row for position `pos` into `memory` (the BO's host view).
    func write(position pos: Int, bucket: Int, embedding: [UInt16], into memory: UnsafeMutableRawBufferPointer) {
        let header = memory.baseAddress!.assumingMemoryBound(to: Int32.self)
        let values: [Int32] = [Int32(pos), Int32(pos), 1, Int32(bucket), 0, 0, 0, 0]
        for (i, v) in values.enumerated() { header[i] = v }
        writeRope(position: pos, into: memory.baseAddress! + 32)
        let row = (memory.baseAddress! + embedOffset).assumingMemoryBound(to: UInt16.self)
        row.update(from: embedding, count: hidden)
    }
}
