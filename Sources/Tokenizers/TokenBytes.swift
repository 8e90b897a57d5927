// The byte string of every token id, stored contiguously, with a hash index from bytes back to ids.

/// Hash of a byte string (64-bit multiply-xorshift over 8-byte words).
@inline(__always)
func hashBytes(_ p: UnsafePointer<UInt8>, _ n: Int) -> UInt64 {
    var h: UInt64 = 0x9E37_79B9_7F4A_7C15 &* UInt64(n &+ 1)
    var i = 0
    while i + 8 <= n {
        let w = UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self)
        h = (h ^ w) &* 0xFF51_AFD7_ED55_8CCD
        h ^= h >> 32
        i += 8
    }
    if i < n {
        var w: UInt64 = 0, shift: UInt64 = 0
        while i < n { w |= UInt64(p[i]) << shift; shift += 8; i += 1 }
        h = (h ^ w) &* 0xC4CE_B9FE_1A85_EC53
        h ^= h >> 29
    }
    h = (h ^ (h >> 31)) &* 0x94D0_49BB_1331_11EB
    return h ^ (h >> 32)
}

/// Token id → bytes, for every id in the vocabulary.
struct TokenBytes: Sendable {
    /// All tokens' bytes, back to back.
    let storage: [UInt8]
    /// Token `i` is `storage[offsets[i]..<offsets[i+1]]`.
    let offsets: [Int32]

    init(_ tokens: [[UInt8]]) {
        var storage: [UInt8] = []
        storage.reserveCapacity(tokens.reduce(0) { $0 + $1.count })
        var offsets: [Int32] = [0]
        offsets.reserveCapacity(tokens.count + 1)
        for t in tokens {
            storage.append(contentsOf: t)
            offsets.append(Int32(storage.count))
        }
        self.storage = storage
        self.offsets = offsets
    }

    var count: Int { offsets.count - 1 }

    func bytes(_ id: Int) -> ArraySlice<UInt8> {
        storage[Int(offsets[id])..<Int(offsets[id + 1])]
    }
}

/// Bytes → token id, an open-addressing hash table over the ids of a `TokenBytes`.
struct ByteStringIndex: Sendable {
    /// Each slot: high 32 bits a hash tag, low 32 bits id + 1; 0 is empty.
    private let slots: [UInt64]
    private let mask: Int

    /// Indexes the given ids (the first id of a byte string wins).
    init(_ tokens: TokenBytes, ids: some Sequence<Int>) {
        let list = Array(ids)
        var capacity = 16
        while capacity < list.count * 2 { capacity <<= 1 }
        var slots = [UInt64](repeating: 0, count: capacity)
        let mask = capacity - 1
        tokens.storage.withUnsafeBufferPointer { s in
            let base = s.baseAddress ?? UnsafePointer(bitPattern: 1)!
            for id in list {
                let start = Int(tokens.offsets[id]), n = Int(tokens.offsets[id + 1]) - start
                let h = hashBytes(base + start, n)
                var k = Int(truncatingIfNeeded: h) & mask
                var duplicate = false
                while slots[k] != 0 {
                    let other = Int(slots[k] & 0xFFFF_FFFF) - 1
                    let os = Int(tokens.offsets[other]), on = Int(tokens.offsets[other + 1]) - os
                    if on == n && memcmpEqual(base + os, base + start, n) { duplicate = true; break }
                    k = (k + 1) & mask
                }
                if !duplicate { slots[k] = (h & 0xFFFF_FFFF_0000_0000) | UInt64(id + 1) }
            }
        }
        self.slots = slots
        self.mask = mask
    }

    /// The id whose bytes equal `p[0..<n]`; `storage` and `offsets` must be the indexed `TokenBytes`'.
    @inline(__always)
    func lookup(_ p: UnsafePointer<UInt8>, _ n: Int, storage: UnsafePointer<UInt8>,
                offsets: UnsafeBufferPointer<Int32>, slots s: UnsafeBufferPointer<UInt64>) -> Int? {
        let h = hashBytes(p, n)
        let tag = h & 0xFFFF_FFFF_0000_0000
        var k = Int(truncatingIfNeeded: h) & mask
        while true {
            let slot = s[k]
            if slot == 0 { return nil }
            if slot & 0xFFFF_FFFF_0000_0000 == tag {
                let id = Int(slot & 0xFFFF_FFFF) - 1
                let start = Int(offsets[id])
                if Int(offsets[id + 1]) - start == n && memcmpEqual(storage + start, p, n) { return id }
            }
            k = (k + 1) & mask
        }
    }

    func withSlots<R>(_ body: (UnsafeBufferPointer<UInt64>) -> R) -> R {
        slots.withUnsafeBufferPointer(body)
    }

    /// Convenience lookup for setup code (not the hot path).
    func lookup(_ bytes: [UInt8], in tokens: TokenBytes) -> Int? {
        bytes.withUnsafeBufferPointer { p in
            tokens.storage.withUnsafeBufferPointer { s in
                tokens.offsets.withUnsafeBufferPointer { o in
                    withSlots { sl in
                        lookup(p.baseAddress ?? UnsafePointer(bitPattern: 1)!, p.count,
                               storage: s.baseAddress ?? UnsafePointer(bitPattern: 1)!, offsets: o, slots: sl)
                    }
                }
            }
        }
    }
}

@inline(__always)
func memcmpEqual(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ n: Int) -> Bool {
    var i = 0
    while i + 8 <= n {
        if UnsafeRawPointer(a + i).loadUnaligned(as: UInt64.self) != UnsafeRawPointer(b + i).loadUnaligned(as: UInt64.self) {
            return false
        }
        i += 8
    }
    while i < n {
        if a[i] != b[i] { return false }
        i += 1
    }
    return true
}
