// UTF-8 validation and lossy decoding with U+FFFD per maximal invalid subpart (as Python and Rust do).

enum UTF8Repair {
    /// What starts at a byte offset: a whole character, an invalid maximal subpart, or a valid prefix cut
    /// off by the end of the buffer.
    enum Unit: Equatable {
        case valid(Int)
        case invalid(Int)
        case incomplete(Int)
    }

    /// Classifies the sequence starting at `i` (Unicode Table 3-7, well-formed byte sequences).
    @inline(__always)
    static func unit(_ b: UnsafeBufferPointer<UInt8>, at i: Int) -> Unit {
        let lead = b[i]
        if lead < 0x80 { return .valid(1) }
        let length: Int
        var lo: UInt8 = 0x80, hi: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; lo = 0xA0
        case 0xE1...0xEC, 0xEE, 0xEF: length = 3
        case 0xED: length = 3; hi = 0x9F
        case 0xF0: length = 4; lo = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; hi = 0x8F
        default: return .invalid(1)
        }
        var k = 1
        while k < length {
            if i + k >= b.count { return .incomplete(k) }
            let c = b[i + k]
            if c < lo || c > hi { return .invalid(k) }
            lo = 0x80; hi = 0xBF
            k += 1
        }
        return .valid(length)
    }

    /// Offset of the first byte that is not part of well-formed UTF-8, or nil if all of it is.
    static func firstInvalidOffset(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        var i = 0
        while i < bytes.count {
            if bytes[i] < 0x80 { i += 1; continue }
            if case .valid(let n) = unit(bytes, at: i) { i += n } else { return i }
        }
        return nil
    }

    /// Number of trailing bytes that form a valid but unfinished character (0...3).
    static func incompleteTailLength(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        let start = max(0, bytes.count - 3)
        for i in start..<bytes.count where bytes[i] >= 0xC0 {
            if case .incomplete(let n) = unit(bytes, at: i), i + n == bytes.count { return n }
        }
        return 0
    }

    /// Decodes, replacing each maximal invalid subpart (and an unfinished tail) by one U+FFFD.
    static func decode(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        guard firstInvalidOffset(bytes) != nil else { return String(decoding: bytes, as: UTF8.self) }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 8)
        var i = 0
        while i < bytes.count {
            switch unit(bytes, at: i) {
            case .valid(let n):
                out.append(contentsOf: bytes[i..<(i + n)]); i += n
            case .invalid(let n), .incomplete(let n):
                out.append(contentsOf: [0xEF, 0xBF, 0xBD]); i += n
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func decode(_ bytes: [UInt8]) -> String {
        bytes.withUnsafeBufferPointer { decode($0) }
    }
}
