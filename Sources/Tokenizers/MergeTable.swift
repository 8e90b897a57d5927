// The BPE merge rules: (left id, right id) → (rank, merged id), an open-addressing hash table.

/// Merge rules keyed by the pair of adjacent token ids. A lower rank merges first.
struct MergeTable: Sendable {
    static let none: UInt64 = .max
    private let keys: [UInt64]
    /// rank << 32 | merged id, aligned with `keys`.
    private let values: [UInt64]
    private let mask: Int
    let count: Int

    /// `rules` holds (left, right, rank, merged). The first rule for a pair wins.
    init(_ rules: [(left: Int32, right: Int32, rank: UInt32, merged: Int32)]) {
        var capacity = 16
        while capacity < rules.count * 2 { capacity <<= 1 }
        var keys = [UInt64](repeating: .max, count: capacity)
        var values = [UInt64](repeating: .max, count: capacity)
        let mask = capacity - 1
        var count = 0
        for r in rules {
            let key = UInt64(UInt32(bitPattern: r.left)) << 32 | UInt64(UInt32(bitPattern: r.right))
            var k = Self.slot(key) & mask
            while keys[k] != .max && keys[k] != key { k = (k + 1) & mask }
            if keys[k] == .max {
                keys[k] = key
                values[k] = UInt64(r.rank) << 32 | UInt64(UInt32(bitPattern: r.merged))
                count += 1
            }
        }
        self.keys = keys
        self.values = values
        self.mask = mask
        self.count = count
    }

    @inline(__always)
    private static func slot(_ key: UInt64) -> Int {
        var h = key &* 0x9E37_79B9_7F4A_7C15
        h ^= h >> 29
        return Int(truncatingIfNeeded: h)
    }

    /// Unsafe view for the hot loop.
    struct View {
        let keys: UnsafeBufferPointer<UInt64>
        let values: UnsafeBufferPointer<UInt64>
        let mask: Int

        /// rank << 32 | merged, or `MergeTable.none`.
        @inline(__always)
        func lookup(_ left: Int32, _ right: Int32) -> UInt64 {
            let key = UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
            var k = MergeTable.slot(key) & mask
            while true {
                let kk = keys[k]
                if kk == key { return values[k] }
                if kk == .max { return MergeTable.none }
                k = (k + 1) & mask
            }
        }
    }

    func withView<R>(_ body: (View) -> R) -> R {
        keys.withUnsafeBufferPointer { k in
            values.withUnsafeBufferPointer { v in body(View(keys: k, values: v, mask: mask)) }
        }
    }
}
