// Which token ids the backend's KV cache holds, so the next request prefills only past the longest common prefix.

/// The ids whose K/V the backend holds at positions 0..<count. A backend's `step(tokens:start:)` runs over a cache
/// holding 0..<start and writes start..<start+count, so a request sharing the first `p` ids with these runs with
/// `start = p` and skips their prefill (the reference and the NPU backend both keep their cache between steps).
public struct PrefixCache: Sendable {
    public private(set) var ids: [Int] = []

    public init() {}

    /// How many leading prompt ids can be taken from the cache: the longest common prefix, keeping at least one
    /// prompt token to run (its logits choose the first answer token).
    public func reusableCount(for prompt: [Int]) -> Int {
        var n = 0
        let limit = min(ids.count, prompt.count - 1)
        while n < limit && ids[n] == prompt[n] { n += 1 }
        return max(n, 0)
    }

    /// After a request: the prompt and every generated token that was fed back (all but the last) are cached.
    public mutating func record(prompt: [Int], generated: [Int]) {
        ids = prompt + generated.dropLast()
    }

    /// After a failure the cache's content is unknown: nothing is reused.
    public mutating func invalidate() { ids = [] }
}
