// llama.cpp's SentencePiece BPE session: merge the adjacent pair whose joined text is the best-scoring token, until none is.

/// Reusable buffers for one `SentencePieceMerge.tokenize` call at a time (grown as needed, never shrunk).
final class SentencePieceScratch {
    private(set) var capacity = 0
    /// Per symbol: byte offset of its start, byte length (0 once merged away), previous and next symbol (-1: none).
    private(set) var start = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
    private(set) var length = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
    private(set) var prev = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
    private(set) var next = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
    /// The bigram queue, a binary min-heap of `SentencePieceMerge.Bigram` (at most 3 entries per symbol).
    private(set) var heap = UnsafeMutablePointer<SentencePieceMerge.Bigram>.allocate(capacity: 1)
    private(set) var heapCapacity = 0

    func reserve(_ n: Int) {
        guard n > capacity else { return }
        let c = max(n, capacity * 2, 64)
        for p in [start, length, prev, next] { p.deallocate() }
        heap.deallocate()
        start = .allocate(capacity: c); length = .allocate(capacity: c)
        prev = .allocate(capacity: c); next = .allocate(capacity: c)
        heapCapacity = 3 * c + 4
        heap = .allocate(capacity: heapCapacity)
        capacity = c
    }

    deinit {
        for p in [start, length, prev, next] { p.deallocate() }
        heap.deallocate()
    }
}

enum SentencePieceMerge {
    /// A candidate merge of symbol `left` with the symbol after it. `key` orders the queue: highest score first,
    /// then leftmost (llama.cpp `llm_bigram_spm::comparator`); `size` is the joined byte length when queued.
    /// The right symbol is not stored: while both are alive and `size` still matches, it is `next[left]`
    /// (the right symbol only changes by merging into `left`, which changes `left`'s length).
    struct Bigram {
        var key: UInt64
        var size: Int32
        var unused: Int32 = 0
    }

    /// A float's bits, mapped so that unsigned order is float order.
    @inline(__always)
    static func orderedBits(_ f: Float) -> UInt32 {
        let b = (f == 0 ? 0 : f).bitPattern   // -0 and +0 score alike
        return b & 0x8000_0000 != 0 ? ~b : b | 0x8000_0000
    }

    /// Tokenizes `text` (spaces already escaped as ▁) and appends the ids: symbols are UTF-8 characters by their
    /// lead byte (`unicode_len_utf8`), merged by score; a final symbol that is no token becomes byte tokens.
    static func tokenize(_ text: UnsafeBufferPointer<UInt8>, index: ByteStringIndex, tokens: TokenBytes,
                         scores: [Float], byteTokens: [Int32], scratch s: SentencePieceScratch, into out: inout [Int]) {
        let n = text.count
        guard n > 0, let base = text.baseAddress else { return }
        s.reserve(n)
        let start = s.start, length = s.length, prev = s.prev, next = s.next, heap = s.heap
        var count = 0
        var offset = 0
        while offset < n {
            let lead = base[offset]
            let len = min(lead < 0xC0 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4, n - offset)
            start[count] = Int32(offset); length[count] = Int32(len)
            prev[count] = Int32(count - 1)
            offset += len
            next[count] = offset == n ? -1 : Int32(count + 1)
            count += 1
        }
        var heapCount = 0
        tokens.storage.withUnsafeBufferPointer { storage in
            tokens.offsets.withUnsafeBufferPointer { offsets in
                index.withSlots { slots in
                    scores.withUnsafeBufferPointer { scores in
                        let sb = storage.baseAddress ?? UnsafePointer(bitPattern: 1)!
                        @inline(__always) func lookup(_ from: Int32, _ count: Int32) -> Int? {
                            index.lookup(base + Int(from), Int(count), storage: sb, offsets: offsets, slots: slots)
                        }
                        @inline(__always) func bigram(_ left: Int32, _ right: Int32) -> Bigram? {
                            let size = length[Int(left)] + length[Int(right)]
                            guard let id = lookup(start[Int(left)], size) else { return nil }
                            return Bigram(key: UInt64(~orderedBits(scores[id])) << 32 | UInt64(UInt32(left)), size: size)
                        }
                        // The initial queue, heapified at once.
                        for i in 1..<max(1, count) {
                            if let b = bigram(Int32(i - 1), Int32(i)) { heap[heapCount] = b; heapCount += 1 }
                        }
                        if heapCount > 1 {
                            for i in stride(from: heapCount / 2 - 1, through: 0, by: -1) { siftDown(heap, heapCount, i) }
                        }
                        while heapCount > 0 {
                            let b = heap[0]
                            heapCount -= 1
                            if heapCount > 0 {
                                heap[0] = heap[heapCount]
                                siftDown(heap, heapCount, 0)
                            }
                            let l = Int(UInt32(truncatingIfNeeded: b.key))
                            let r32 = next[l]
                            guard length[l] > 0, r32 >= 0 else { continue }
                            let r = Int(r32)
                            if length[l] + length[r] != b.size { continue }
                            length[l] += length[r]
                            length[r] = 0
                            next[l] = next[r]
                            if next[r] >= 0 { prev[Int(next[r])] = Int32(l) }
                            if prev[l] >= 0, let nb = bigram(prev[l], Int32(l)) {
                                heap[heapCount] = nb; heapCount += 1; siftUp(heap, heapCount - 1)
                            }
                            if next[l] >= 0, let nb = bigram(Int32(l), next[l]) {
                                heap[heapCount] = nb; heapCount += 1; siftUp(heap, heapCount - 1)
                            }
                        }
                        var i: Int32 = count > 0 ? 0 : -1
                        while i != -1 {
                            let from = start[Int(i)], size = length[Int(i)]
                            if let id = lookup(from, size) {
                                out.append(id)
                            } else {
                                for k in 0..<Int(size) { out.append(Int(byteTokens[Int(base[Int(from) + k])])) }
                            }
                            i = next[Int(i)]
                        }
                    }
                }
            }
        }
    }

    @inline(__always)
    static func siftUp(_ h: UnsafeMutablePointer<Bigram>, _ at: Int) {
        var i = at
        let x = h[i]
        while i > 0 {
            let p = (i - 1) / 2
            if h[p].key <= x.key { break }
            h[i] = h[p]
            i = p
        }
        h[i] = x
    }

    @inline(__always)
    static func siftDown(_ h: UnsafeMutablePointer<Bigram>, _ count: Int, _ at: Int) {
        var i = at
        let x = h[i]
        while true {
            let l = 2 * i + 1
            if l >= count { break }
            var m = l
            if l + 1 < count && h[l + 1].key < h[l].key { m = l + 1 }
            if h[m].key >= x.key { break }
            h[i] = h[m]
            i = m
        }
        h[i] = x
    }
}
