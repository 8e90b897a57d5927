// GPT-2's byte-level alphabet: the printable character each byte is spelled with in HF and GGUF vocabularies.

enum ByteLevelAlphabet {
    /// The scalar that spells each byte: printable Latin-1 bytes spell themselves, the other 68 bytes
    /// take U+0100, U+0101, … in byte order.
    static let scalarForByte: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: "\0", count: 256)
        var extra: UInt32 = 256
        for b in 0..<256 {
            let printable = (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b)
            if printable {
                table[b] = Unicode.Scalar(UInt32(b))!
            } else {
                table[b] = Unicode.Scalar(extra)!
                extra += 1
            }
        }
        return table
    }()

    static let byteForScalar: [UInt32: UInt8] = {
        var map: [UInt32: UInt8] = [:]
        for (b, s) in scalarForByte.enumerated() { map[s.value] = UInt8(b) }
        return map
    }()

    /// The bytes a vocabulary spelling stands for. A scalar outside the alphabet stands for its own
    /// UTF-8 bytes (as HF's ByteLevel decoder treats it).
    static func bytes(ofSpelling spelling: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(spelling.utf8.count)
        for s in spelling.unicodeScalars {
            if let b = byteForScalar[s.value] { out.append(b) } else { out.append(contentsOf: String(s).utf8) }
        }
        return out
    }
}
