// Streams generated text while watching for stop sequences: text that could begin one is held back.

/// Feed text pieces as they are decoded; get back what is safe to show. When a stop sequence
/// appears, everything before it is emitted, it and what follows are not, and `stopped` is set.
public struct StopSequenceFilter {
    public let sequences: [String]
    public private(set) var stopped = false
    /// All text emitted so far.
    public private(set) var text = ""
    private var pending = ""

    public init(_ sequences: [String]) { self.sequences = sequences }

    /// Returns the text that can be shown now, and whether a stop sequence was reached.
    public mutating func feed(_ piece: String) -> (emit: String, stopped: Bool) {
        guard !stopped else { return ("", true) }
        guard !sequences.isEmpty else { text += piece; return (piece, false) }
        pending += piece
        if let hit = sequences.compactMap({ pending.range(of: $0) }).min(by: { $0.lowerBound < $1.lowerBound }) {
            let emit = String(pending[..<hit.lowerBound])
            text += emit
            pending = ""
            stopped = true
            return (emit, true)
        }
        // Hold back the longest tail that is a prefix of some stop sequence.
        var keep = 0
        for s in sequences {
            for k in stride(from: min(s.count - 1, pending.count), to: 0, by: -1) where pending.hasSuffix(String(s.prefix(k))) {
                keep = max(keep, k)
                break
            }
        }
        let emit = String(pending.dropLast(keep))
        pending = String(pending.suffix(keep))
        text += emit
        return (emit, false)
    }

    /// The held-back tail at the end of generation (no stop sequence completed).
    public mutating func flush() -> String {
        defer { pending = "" }
        text += pending
        return pending
    }
}
