// Byte-pair merging of one piece: lowest rank first, leftmost on ties (tiktoken's and HF's order).

/// Reusable buffers for merging; one per `encode` call, so encoding stays thread-safe.
final class MergeScratch {
    private(set) var capacity = 0
    private(set) var ids = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
    private(set) var packed = UnsafeMutablePointer<UInt64>.allocate(capacity: 1)
    private(set) var next = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
    private(set) var prev = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
    private(set) var heap = UnsafeMutablePointer<UInt64>.allocate(capacity: 1)

    func reserve(_ n: Int) {
        guard n > capacity else { return }
        let c = max(n, capacity * 2, 64)
        for p in [ids, next, prev] as [UnsafeMutablePointer<Int32>] { p.deallocate() }
        packed.deallocate(); heap.deallocate()
        ids = .allocate(capacity: c); next = .allocate(capacity: c); prev = .allocate(capacity: c)
        packed = .allocate(capacity: c); heap = .allocate(capacity: 3 * c + 4)
        capacity = c
    }

    deinit {
        ids.deallocate(); packed.deallocate(); next.deallocate(); prev.deallocate(); heap.deallocate()
    }
}

enum BytePairMerge {
    /// Pieces up to this many symbols use the quadratic scan (fast for short pieces); longer ones use
    /// the heap, O(n log n). Both apply the same merge order.
    static let scanLimit = 48

    /// Merges `scratch.ids[0..<n]` in place; returns the new count.
    @inline(__always)
    static func merge(_ scratch: MergeScratch, count n: Int, merges: MergeTable.View) -> Int {
        n <= scanLimit ? mergeByScan(scratch, count: n, merges: merges)
                       : mergeByHeap(scratch, count: n, merges: merges)
    }

    static func mergeByScan(_ scratch: MergeScratch, count: Int, merges: MergeTable.View) -> Int {
        let ids = scratch.ids, packed = scratch.packed
        var n = count
        if n < 2 { return n }
        for i in 0..<(n - 1) { packed[i] = merges.lookup(ids[i], ids[i + 1]) }
        while n > 1 {
            var best = MergeTable.none, at = -1
            for i in 0..<(n - 1) where packed[i] < best { best = packed[i]; at = i }
            if at < 0 { break }
            ids[at] = Int32(truncatingIfNeeded: best & 0xFFFF_FFFF)
            var k = at + 1
            while k < n - 1 { ids[k] = ids[k + 1]; k += 1 }
            k = at + 1
            while k < n - 2 { packed[k] = packed[k + 1]; k += 1 }
            n -= 1
            packed[at] = at + 1 < n ? merges.lookup(ids[at], ids[at + 1]) : MergeTable.none
            if at > 0 { packed[at - 1] = merges.lookup(ids[at - 1], ids[at]) }
        }
        return n
    }

    static func mergeByHeap(_ scratch: MergeScratch, count n: Int, merges: MergeTable.View) -> Int {
        let ids = scratch.ids, next = scratch.next, prev = scratch.prev
        var heap = MinHeap(storage: scratch.heap)
        for i in 0..<n {
            next[i] = i + 1 < n ? Int32(i + 1) : -1
            prev[i] = Int32(i - 1)
        }
        for i in 0..<(n - 1) {
            let v = merges.lookup(ids[i], ids[i + 1])
            if v != MergeTable.none { heap.push(v & 0xFFFF_FFFF_0000_0000 | UInt64(i)) }
        }
        while let top = heap.pop() {
            let rank = top >> 32, pos = Int(top & 0xFFFF_FFFF)
            if ids[pos] < 0 { continue }
            let right = Int(next[pos])
            if right < 0 { continue }
            let v = merges.lookup(ids[pos], ids[right])
            if v == MergeTable.none || v >> 32 != rank { continue }
            ids[pos] = Int32(truncatingIfNeeded: v & 0xFFFF_FFFF)
            ids[right] = -1
            let after = next[right]
            next[pos] = after
            if after >= 0 { prev[Int(after)] = Int32(pos) }
            let before = Int(prev[pos])
            if before >= 0 {
                let w = merges.lookup(ids[before], ids[pos])
                if w != MergeTable.none { heap.push(w & 0xFFFF_FFFF_0000_0000 | UInt64(before)) }
            }
            if after >= 0 {
                let w = merges.lookup(ids[pos], ids[Int(after)])
                if w != MergeTable.none { heap.push(w & 0xFFFF_FFFF_0000_0000 | UInt64(pos)) }
            }
        }
        var out = 0, i = 0
        while i >= 0 {
            ids[out] = ids[i]; out += 1
            i = Int(next[i])
        }
        return out
    }
}

/// A binary min-heap of UInt64 in caller-provided storage (rank in the high bits, position low).
/// n - 1 initial pairs plus at most two per merge: 3n entries bound its size.
struct MinHeap {
    let storage: UnsafeMutablePointer<UInt64>
    var count = 0

    @inline(__always)
    mutating func push(_ v: UInt64) {
        var i = count
        count += 1
        while i > 0 {
            let parent = (i - 1) >> 1
            if storage[parent] <= v { break }
            storage[i] = storage[parent]
            i = parent
        }
        storage[i] = v
    }

    @inline(__always)
    mutating func pop() -> UInt64? {
        guard count > 0 else { return nil }
        let top = storage[0]
        count -= 1
        if count == 0 { return top }
        let v = storage[count]
        var i = 0
        while true {
            var c = 2 * i + 1
            if c >= count { break }
            if c + 1 < count && storage[c + 1] < storage[c] { c += 1 }
            if v <= storage[c] { break }
            storage[i] = storage[c]
            i = c
        }
        storage[i] = v
        return top
    }
}
