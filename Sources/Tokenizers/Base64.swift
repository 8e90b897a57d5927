// Standard base64 decoding (RFC 4648, with padding) for tiktoken BPE files.

enum Base64 {
    private static let values: [UInt8] = {
        var t = [UInt8](repeating: 0xFF, count: 256)
        for (i, c) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() {
            t[Int(c)] = UInt8(i)
        }
        return t
    }()

    /// Decodes `text`; nil if it is not canonical padded base64.
    static func decode(_ text: ArraySlice<UInt8>) -> [UInt8]? {
        guard text.count % 4 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(text.count / 4 * 3)
        var i = text.startIndex
        while i < text.endIndex {
            let last = i + 4 == text.endIndex
            let c0 = values[Int(text[i])], c1 = values[Int(text[i + 1])]
            let p2 = text[i + 2] == UInt8(ascii: "="), p3 = text[i + 3] == UInt8(ascii: "=")
            let c2 = p2 ? 0 : values[Int(text[i + 2])], c3 = p3 ? 0 : values[Int(text[i + 3])]
            if c0 == 0xFF || c1 == 0xFF || c2 == 0xFF || c3 == 0xFF { return nil }
            if (p2 || p3) && !last || (p2 && !p3) { return nil }
            out.append(c0 << 2 | c1 >> 4)
            if !p2 { out.append(c1 << 4 | c2 >> 2) }
            if !p3 { out.append(c2 << 6 | c3) }
            i += 4
        }
        return out
    }
}
