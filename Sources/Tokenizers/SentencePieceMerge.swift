// llama.cpp's SentencePiece BPE session: merge the adjacent pair whose joined text is the best-scoring token, until none is.

/// Reusable buffers for one `SentencePieceMerge.tokenize` call at a time.
final class SentencePieceScratch {
    var start: [Int32] = []
    var length: [Int32] = []
    var prev: [Int32] = []
    var next: [Int32] = []
    var heap: [SentencePieceMerge.Bigram] = []
}

enum SentencePieceMerge {
    /// A candidate merge of `left` and the symbol after it. `key` orders the queue: highest score first,
    /// then leftmost (llama.cpp `llm_bigram_spm::comparator`).
    struct Bigram {
        var key: UInt64
        var left: Int32
        var right: Int32
        var size: Int32
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
        s.start.removeAll(keepingCapacity: true); s.length.removeAll(keepingCapacity: true)
        s.prev.removeAll(keepingCapacity: true); s.next.removeAll(keepingCapacity: true)
        s.heap.removeAll(keepingCapacity: true)
        var offset = 0
        while offset < n {
            let lead = base[offset]
            let len = min(lead < 0xC0 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4, n - offset)
            let k = Int32(s.start.count)
            s.start.append(Int32(offset)); s.length.append(Int32(len))
            s.prev.append(k - 1)
            offset += len
            s.next.append(offset == n ? -1 : k + 1)
        }
        tokens.storage.withUnsafeBufferPointer { storage in
            tokens.offsets.withUnsafeBufferPointer { offsets in
                index.withSlots { slots in
                    let sb = storage.baseAddress ?? UnsafePointer(bitPattern: 1)!
                    func lookup(_ from: Int32, _ count: Int32) -> Int? {
                        index.lookup(base + Int(from), Int(count), storage: sb, offsets: offsets, slots: slots)
                    }
                    func addBigram(_ left: Int32, _ right: Int32) {
                        guard left >= 0, right >= 0 else { return }
                        let size = s.length[Int(left)] + s.length[Int(right)]
                        guard let id = lookup(s.start[Int(left)], size) else { return }
                        let key = UInt64(~orderedBits(scores[id])) << 32 | UInt64(UInt32(left))
                        heapPush(&s.heap, Bigram(key: key, left: left, right: right, size: size))
                    }
                    for i in 1..<max(1, s.start.count) { addBigram(Int32(i - 1), Int32(i)) }
                    while let b = heapPop(&s.heap) {
                        let l = Int(b.left), r = Int(b.right)
                        if s.length[l] == 0 || s.length[r] == 0 || s.length[l] + s.length[r] != b.size { continue }
                        s.length[l] += s.length[r]
                        s.length[r] = 0
                        s.next[l] = s.next[r]
                        if s.next[r] >= 0 { s.prev[Int(s.next[r])] = b.left }
                        addBigram(s.prev[l], b.left)
                        addBigram(b.left, s.next[l])
                    }
                    var i: Int32 = 0
                    while i != -1 {
                        let from = s.start[Int(i)], count = s.length[Int(i)]
                        if let id = lookup(from, count) {
                            out.append(id)
                        } else {
                            for k in 0..<Int(count) { out.append(Int(byteTokens[Int(base[Int(from) + k])])) }
                        }
                        i = s.next[Int(i)]
                    }
                }
            }
        }
    }

    @inline(__always)
    static func heapPush(_ h: inout [Bigram], _ b: Bigram) {
        h.append(b)
        var i = h.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            if h[p].key <= h[i].key { break }
            h.swapAt(p, i)
            i = p
        }
    }

    @inline(__always)
    static func heapPop(_ h: inout [Bigram]) -> Bigram? {
        guard let top = h.first else { return nil }
        let last = h.removeLast()
        if !h.isEmpty {
            h[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < h.count && h[l].key < h[m].key { m = l }
                if r < h.count && h[r].key < h[m].key { m = r }
                if m == i { break }
                h.swapAt(i, m)
                i = m
            }
        }
        return top
    }
}
