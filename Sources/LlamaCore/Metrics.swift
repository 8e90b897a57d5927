// Error metrics between a reference and an actual tensor: NMSE, max-abs, cosine, NaN/Inf, KL.
import Foundation

/// How far `actual` is from `expected`. All sums in Double.
public struct ErrorMetrics: Sendable, Equatable, CustomStringConvertible {
    /// Σ(a−e)² / Σe² (llama.cpp test-backend-ops' NMSE). 0 when both are zero.
    public var nmse: Double
    public var maxAbs: Double
    /// Index of the largest absolute difference.
    public var maxAbsIndex: Int
    public var cosine: Double
    /// Count of NaN or ±Inf values in `actual`.
    public var nonFinite: Int

    public init(expected: UnsafeBufferPointer<Float>, actual: UnsafeBufferPointer<Float>) {
        precondition(expected.count == actual.count, "metrics need equal lengths")
        var diff2 = 0.0, ref2 = 0.0, act2 = 0.0, dot = 0.0, maxAbs = 0.0
        var maxIndex = 0, nonFinite = 0
        for i in 0..<expected.count {
            let e = Double(expected[i]), a = Double(actual[i])
            if !a.isFinite { nonFinite += 1; continue }
            let d = a - e
            diff2 += d * d
            ref2 += e * e
            act2 += a * a
            dot += a * e
            if abs(d) > maxAbs { maxAbs = abs(d); maxIndex = i }
        }
        self.nmse = ref2 > 0 ? diff2 / ref2 : (diff2 > 0 ? .infinity : 0)
        self.maxAbs = maxAbs
        self.maxAbsIndex = maxIndex
        self.cosine = (ref2 > 0 && act2 > 0) ? dot / (ref2.squareRoot() * act2.squareRoot()) : (ref2 == act2 ? 1 : 0)
        self.nonFinite = nonFinite
    }

    public init(expected: [Float], actual: [Float]) {
        self = expected.withUnsafeBufferPointer { e in actual.withUnsafeBufferPointer { a in ErrorMetrics(expected: e, actual: a) } }
    }

    public var description: String {
        String(format: "nmse %.3e  max-abs %.3e @%d  cos %.9f  non-finite %d", nmse, maxAbs, maxAbsIndex, cosine, nonFinite)
    }
}

/// KL(P‖Q) of softmax(expected) from softmax(actual), per row of logits, in nats.
public func klDivergence(expectedLogits p: ArraySlice<Float>, actualLogits q: ArraySlice<Float>) -> Double {
    precondition(p.count == q.count)
    func logSoftmax(_ x: ArraySlice<Float>) -> [Double] {
        let m = Double(x.max() ?? 0)
        let lse = m + Foundation.log(x.reduce(0.0) { $0 + Foundation.exp(Double($1) - m) })
        return x.map { Double($0) - lse }
    }
    let lp = logSoftmax(p), lq = logSoftmax(q)
    var kl = 0.0
    for i in 0..<lp.count { kl += Foundation.exp(lp[i]) * (lp[i] - lq[i]) }
    return max(kl, 0)
}
