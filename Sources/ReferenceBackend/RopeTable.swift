// cos/sin tables of RoPE angles per position, from the config's (scaled) inverse frequencies.
import Foundation
import LlamaCore

/// (position, headDim/2) tables of cos and sin. Angles are pos·invFreq in fp32 as the reference
/// implementations form them; cos/sin are then evaluated in Double and rounded once.
public final class RopeTable: @unchecked Sendable {
    public let positions: Int
    public let half: Int
    public let cos: UnsafeMutablePointer<Float>   // (positions, half)
    public let sin: UnsafeMutablePointer<Float>   // (positions, half)

    public init(config: ModelConfig, positions: Int) {
        let inv = config.ropeInverseFrequencies()
        self.positions = positions
        self.half = inv.count
        cos = .allocate(capacity: positions * half)
        sin = .allocate(capacity: positions * half)
        for p in 0..<positions {
            for i in 0..<half {
                let angle = Double(Float(p) * inv[i])
                cos[p * half + i] = Float(Foundation.cos(angle))
                sin[p * half + i] = Float(Foundation.sin(angle))
            }
        }
    }

    deinit {
        cos.deallocate()
        sin.deallocate()
    }
}
