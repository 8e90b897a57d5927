// Log-probabilities of a chosen token and its most likely alternatives, from the logits row it was chosen from.
import Foundation
import Tokenizers

/// A token's log-probability under the model's distribution (log-softmax of the raw logits: temperature and top_p
/// change the draw, not these numbers, as with OpenAI), with the `top` most likely tokens, most likely first.
public struct TokenLogprob: Sendable {
    public struct Entry: Sendable {
        public var id: Int
        public var token: String
        public var bytes: [UInt8]
        public var logprob: Double
    }
    public var chosen: Entry
    public var top: [Entry]

    /// OpenAI's floor for tokens the model rules out (-inf cannot be written in JSON).
    static let floor = -9999.0

    init(logits: [Float], chosen: Int, top k: Int, tokenizer: any Tokenizer) {
        var maxLogit = -Float.infinity
        for v in logits where v > maxLogit { maxLogit = v }
        var sum = 0.0
        if maxLogit.isFinite { for v in logits where !v.isNaN { sum += Foundation.exp(Double(v - maxLogit)) } }
        let logZ = Double(maxLogit) + Foundation.log(sum)
        func logprob(_ id: Int) -> Double {
            guard id >= 0, id < logits.count else { return Self.floor }
            let v = Double(logits[id]) - logZ
            return v.isFinite ? max(v, Self.floor) : Self.floor
        }
        func entry(_ id: Int) -> Entry {
            let bytes = (try? tokenizer.decodeBytes([id])) ?? []
            return Entry(id: id, token: tokenizer.piece(id) ?? "", bytes: bytes, logprob: logprob(id))
        }
        self.chosen = entry(chosen)
        // The k largest logits (lowest id first among equals): one pass keeping a small sorted list.
        var best: [(id: Int, value: Float)] = []
        if k > 0 {
            best.reserveCapacity(k + 1)
            for (id, v) in logits.enumerated() where !v.isNaN {
                if best.count == k, let last = best.last, !(v > last.value) { continue }
                let at = best.firstIndex { v > $0.value } ?? best.count
                best.insert((id, v), at: at)
                if best.count > k { best.removeLast() }
            }
        }
        self.top = best.map { entry($0.id) }
    }
}
